// Rewrites the configuration table in README.md (between the env-table markers) from the registry in
// lib/config/env.ts, so the docs cannot drift from what the code reads: the default column comes from
// the same default values the services' options readers use. `npm run docs:env`.
import { readFileSync, writeFileSync } from 'node:fs';
import { defaultText, ENV } from '../lib/config/env.js';

export function envTable(): string {
  const rows = Object.values(ENV).map((v) => {
    const readers = v.services === 'all' ? 'all' : v.services.length > 0 ? v.services.join(', ') : 'CLI / devnet';
    const dflt = defaultText(v, (value) => `\`${value}\``) ?? '—';
    return `| \`${v.name}\` | ${dflt} | ${readers} | ${v.doc.replace(/\|/g, '\\|')} |`;
  });
  return ['| variable | default | read by | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

const START = '<!-- env-table:start -->';
const END = '<!-- env-table:end -->';

if (process.argv[1]?.endsWith('env-table.ts')) {
  const readme = readFileSync('README.md', 'utf8');
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md has no ${START} … ${END} section`);
  writeFileSync('README.md', readme.slice(0, a + START.length) + '\n' + envTable() + '\n' + readme.slice(b));
}
