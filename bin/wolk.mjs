#!/usr/bin/env node
// The `wolk` CLI entry (package.json "bin"). It runs the compiled bundle dist/cli/wolk.mjs, which
// `npm ci` / `npm install` build through the "prepare" script (`npm run build:cli`, cli/build.mjs):
// starting it costs no TypeScript transpiling. When the bundle is missing, or any source file it was
// built from (listed in dist/cli/wolk.inputs.json) is newer than it, cli/main.ts runs through tsx
// instead, so an edited tree never runs stale code. Either way it runs in this process, so exit codes,
// stdin/stdout and signals behave like a native command.
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist', 'cli', 'wolk.mjs');

function bundleIsFresh() {
  try {
    const built = statSync(bundle).mtimeMs;
    const inputs = JSON.parse(readFileSync(join(root, 'dist', 'cli', 'wolk.inputs.json'), 'utf8'));
    return Array.isArray(inputs) && inputs.length > 0 && inputs.every((f) => statSync(join(root, f)).mtimeMs <= built);
  } catch {
    return false; // missing bundle or list, or a source that moved: build again or run from source
  }
}

let cli;
if (bundleIsFresh()) {
  cli = await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(pathToFileURL(join(root, 'cli', 'main.ts')).href);
}
process.exit(await cli.runCli(process.argv.slice(2), { root }));
