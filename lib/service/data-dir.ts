// The data directory must exist and be writable before anything is served from it.
import { accessSync, constants, rmSync, writeFileSync } from 'node:fs';
import { mkdirp } from '../fs/mkdirp.js';
import { join, resolve } from 'node:path';
import { ConfigError } from '../config/env.js';

/** Creates the directory if needed and proves it is writable; errors name WOLK_DATA_DIR and the path. */
export function ensureWritableDataDir(dir: string): string {
  const path = resolve(dir);
  try {
    mkdirp(path, 0o700);
    accessSync(path, constants.W_OK);
    const probe = join(path, `.write-probe-${process.pid}`);
    writeFileSync(probe, 'ok');
    rmSync(probe);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError('WOLK_DATA_DIR', `cannot write to ${path} (${code})`);
  }
  return path;
}
