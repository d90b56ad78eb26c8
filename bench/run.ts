// `npm run bench -- [name ...]`: runs the named benchmarks (default: all found in bench/), prints a
// table per benchmark and saves bench/results/<name>.json.
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runBench, type BenchModule } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const NOT_BENCHES = new Set(['harness', 'run']);
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !NOT_BENCHES.has(f.slice(0, -3)))
  .map((f) => f.slice(0, -3))
  .sort();

const requested = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = requested.length > 0 ? requested : available;
for (const name of names) {
  if (!available.includes(name)) {
    process.stderr.write(`unknown benchmark "${name}"; available: ${available.join(', ') || '(none)'}\n`);
    process.exit(1);
  }
}
for (const name of names) {
  const mod = (await import(pathToFileURL(`${here}/${name}.ts`).href)) as BenchModule;
  await runBench(name, mod);
}
