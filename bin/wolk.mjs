#!/usr/bin/env node
// The `wolk` CLI entry (package.json "bin"): runs cli/main.ts through tsx's ESM API (register()), in this
// process, so exit codes, stdin/stdout and signals behave like a native command.
import { register } from 'tsx/esm/api';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

register();
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await import(pathToFileURL(join(root, 'cli', 'main.ts')).href);
