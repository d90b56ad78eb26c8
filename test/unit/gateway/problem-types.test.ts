// Every problem type the gateway can answer is documented in docs/http-api.md, in the form the HTTP
// garbage fuzzer reads it (`/problems/<type>`, scripts/soak/garbage-http.ts): the devnet fuzzer found
// /problems/tus-version answered but not documented, and ten other types were listed without the prefix
// or only in prose.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { documentedProblemTypes } from '../../../scripts/soak/garbage-http.js';

const ROOT = process.cwd();

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

test('every problem type in services/gateway is documented in docs/http-api.md as /problems/<type>', (t) => {
  const documented = documentedProblemTypes(ROOT);
  const used = new Map<string, string>();
  for (const file of [...sources(join(ROOT, 'services/gateway')), join(ROOT, 'lib/http/problem.ts')]) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\bproblem\(\s*\d{3},\s*'([a-z0-9-]+)'/g)) used.set(`/problems/${m[1]}`, file);
    for (const m of text.matchAll(/'(\/problems\/[a-z0-9-]+)'/g)) used.set(m[1]!, file);
    for (const m of text.matchAll(/`\/problems\/\$\{[^}]*'([a-z0-9-]+)'\s*:\s*'([a-z0-9-]+)'\}`/g)) for (const x of [m[1]!, m[2]!]) used.set(`/problems/${x}`, file);
  }
  t.true(used.size > 40, `found ${used.size} problem types`);
  t.true(used.has('/problems/rate-limited') && used.has('/problems/stale-signature') && used.has('/problems/tus-version'));
  const missing = [...used].filter(([type]) => !documented.has(type)).map(([type, file]) => `${type} (${file.slice(ROOT.length + 1)})`);
  t.deepEqual(missing, []);
});
