// `npm run build:console` (also run by `npm run build` and npm's "prepare", so it exists after `npm ci`):
// bundles the web console (console/src) with the lib/ code it imports for the browser with esbuild,
// into dist/console/ (app.js, index.html, style.css), which the gateway serves under /console/.
// Offline: everything comes from the repository and node_modules. Node-only modules lib/ imports are
// aliased to console/shims (node:crypto answered by @noble, the others unused by the page).
// A failed build never fails the install: the gateway then answers /console/ with 503 saying so.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'console');
const shims = join(root, 'console', 'shims');
const unavailable = join(shims, 'unavailable.ts');
const aliases = {
  'node:crypto': join(shims, 'node-crypto.ts'),
  'node:fs': unavailable,
  'node:fs/promises': unavailable,
  'node:path': unavailable,
  'node:os': unavailable,
  'node:http': unavailable,
  'node:https': unavailable,
  'node:module': unavailable,
  'node:url': unavailable,
  'node:worker_threads': unavailable,
  'node:stream': unavailable,
};

const browserShims = {
  name: 'wolk-browser-shims',
  setup(b) {
    // The generated service clients import grpc-js; the page only uses their message codecs.
    b.onResolve({ filter: /^@grpc\/grpc-js$/ }, () => ({ path: unavailable }));
    b.onResolve({ filter: /^node:/ }, (a) => {
      const to = aliases[a.path];
      if (!to) return { errors: [{ text: `${a.path} (imported by ${a.importer}) has no browser shim in console/build.mjs` }] };
      return { path: to };
    });
    // lib/merkle's optional N-API addon: the portable path in a page.
    b.onResolve({ filter: /^\.\/native\.js$/ }, (a) => (a.importer.includes(join('lib', 'merkle')) ? { path: join(shims, 'merkle-native.ts') } : undefined));
  },
};

try {
  const { build } = await import('esbuild');
  const started = Date.now();
  mkdirSync(outdir, { recursive: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['console/src/main.ts'],
    outfile: join(outdir, 'app.js'),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: ['chrome110', 'firefox110', 'safari16'],
    inject: [join(shims, 'buffer-global.ts')],
    define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
    plugins: [browserShims],
    minify: true,
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  for (const f of ['index.html', 'style.css']) copyFileSync(join(root, 'console', 'src', f), join(outdir, f));
  const inputs = Object.keys(result.metafile.inputs).length;
  const bytes = result.metafile.outputs['dist/console/app.js']?.bytes ?? 0;
  writeFileSync(join(outdir, 'build.json'), JSON.stringify({ builtAt: new Date().toISOString(), inputs, bytes }) + '\n');
  process.stdout.write(`wolk console bundled: dist/console/app.js (${Math.round(bytes / 1024)} KiB) from ${inputs} source files in ${Date.now() - started} ms\n`);
} catch (err) {
  process.stderr.write(`wolk console not bundled (${err instanceof Error ? err.message : String(err)}); the gateway answers /console/ with 503 until \`npm run build:console\` succeeds\n`);
  process.exitCode = process.env.WOLK_CONSOLE_BUILD_STRICT ? 1 : 0;
}
