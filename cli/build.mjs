// `npm run build:cli` (and npm's "prepare", so `npm ci` / `npm install` run it): bundles cli/main.ts
// and the lib/ and gen/ code it imports into dist/cli/wolk.mjs with esbuild (packages from
// node_modules stay imports), and writes dist/cli/wolk.inputs.json, the source files it was built from,
// which bin/wolk.mjs compares with the bundle's age to fall back to tsx when a source is newer.
// A failed build never fails the install: `wolk` then runs from source through tsx, only slower.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'cli');

try {
  const { build } = await import('esbuild');
  const started = Date.now();
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['cli/main.ts'],
    outfile: join(outdir, 'wolk.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  const inputs = Object.keys(result.metafile.inputs).map((f) => relative(root, join(root, f)));
  mkdirSync(outdir, { recursive: true });
  writeFileSync(join(outdir, 'wolk.inputs.json'), JSON.stringify(inputs) + '\n');
  process.stdout.write(`wolk CLI bundled: dist/cli/wolk.mjs from ${inputs.length} source files in ${Date.now() - started} ms\n`);
} catch (err) {
  process.stderr.write(`wolk CLI not bundled (${err instanceof Error ? err.message : String(err)}); \`wolk\` runs from source through tsx\n`);
}
