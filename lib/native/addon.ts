// The one loader of the project's optional N-API addons (native/<name>, built by scripts/build-native.mjs
// before `npm test`, `npm start` and `npm run bench`): native/merkle (batch leaf hashing), native/porep
// (the labelling loop) and native/vrf (ECVRF verification). Each has a JS path with the same results;
// an addon that is absent (no compiler where Wolk was installed, a page in the browser), built for
// another Node ABI, or without the functions its caller needs loads as null and the JS path runs.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where native/<name>'s built addon is, looking up from this module (source tree and dist/ alike), or null. */
export function addonPath(name: string): string | null {
  const rel = join('native', name, 'build', 'Release', `wolk_${name}.node`);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, rel);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return null;
}

/** native/<name>'s exports when the addon loads and has every one of `functions`, else null. */
export function loadAddon<T>(name: string, functions: readonly string[]): T | null {
  const path = addonPath(name);
  if (!path) return null;
  try {
    const mod = createRequire(import.meta.url)(path) as Record<string, unknown>;
    return functions.every((f) => typeof mod[f] === 'function') ? (mod as T) : null;
  } catch {
    return null; // built for another Node ABI or platform
  }
}

/**
 * An addon with an off switch (tests and benchmarks compare the native and JS paths in one process):
 * `get()` is the addon while it loaded and is switched on, else null; `available` says whether it loaded.
 */
export interface AddonSwitch<T> {
  readonly available: boolean;
  get(): T | null;
  set(on: boolean): void;
  /** `fn`'s result with the addon switched `on` meanwhile, switched on again after (even on a throw). */
  with<R>(on: boolean, fn: () => R): R;
}

/** loadAddon behind an AddonSwitch, switched on. */
export function addonSwitch<T>(name: string, functions: readonly string[]): AddonSwitch<T> {
  const loaded = loadAddon<T>(name, functions);
  let enabled = true;
  const set = (on: boolean) => {
    enabled = on;
  };
  return {
    available: loaded !== null,
    get: () => (enabled ? loaded : null),
    set,
    with(on, fn) {
      set(on);
      try {
        return fn();
      } finally {
        set(true);
      }
    },
  };
}
