// The README is what a newcomer reads first: its configuration table must list every variable the
// code reads, and the commands it tells people to run must exist.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { ENV } from '../../../lib/config/env.js';

const readme = readFileSync('README.md', 'utf8');
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };

test('every environment variable the code reads is documented in the README', (t) => {
  const missing = Object.keys(ENV).filter((name) => !readme.includes(`\`${name}\``));
  t.deepEqual(missing, []);
});

test('every `npm run X` the README mentions is a package.json script', (t) => {
  const named = [...readme.matchAll(/npm run ([a-z0-9:-]+)/g)].map((m) => m[1]!).filter((n) => !n.endsWith(':'));
  const unknown = named.filter((n) => !(n in pkg.scripts) && !n.endsWith('<service>'));
  t.deepEqual([...new Set(unknown)], []);
  t.truthy(pkg.scripts['start']);
  t.truthy(pkg.scripts['test']);
});

test('the README configuration table is what `npm run docs:env` makes from lib/config/env.ts', async (t) => {
  const { envTable } = await import('../../../scripts/env-table.js');
  t.true(readme.includes(`<!-- env-table:start -->\n${envTable()}\n<!-- env-table:end -->`), 'run npm run docs:env');
});
