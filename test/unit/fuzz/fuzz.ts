// Shared settings of the property-based tests under test/unit/fuzz (issue #20.5): fast-check's seed
// comes from the test seed (test/helpers/seed.ts, one labelled stream per property), so a run replays
// under WOLK_TEST_SEED, and fast-check's own failure report adds the seed and shrink path it used.
// Runs are bounded so each file stays at a few seconds in the unit tier; FUZZ_RUNS_SCALE multiplies
// them for a longer local run (e.g. FUZZ_RUNS_SCALE=20 npx ava test/unit/fuzz).
import fc from 'fast-check';
import { TEST_SEED, testPrng } from '../../helpers/seed.js';

const scaleRaw = process.env['FUZZ_RUNS_SCALE'];
const SCALE = scaleRaw !== undefined && /^\d+$/.test(scaleRaw) && Number(scaleRaw) > 0 ? Number(scaleRaw) : 1;

/** fast-check parameters for the property `label`: a seed derived from the test seed and a bounded run count. */
export function fuzzParams<T>(label: string, numRuns = 200): fc.Parameters<T> {
  return { seed: testPrng(`fuzz:${label}`).next() | 0, numRuns: numRuns * SCALE, endOnFailure: false };
}

/** Runs a synchronous property under fuzzParams; the thrown report names the test seed and fast-check's seed. */
export function check<Ts>(label: string, prop: fc.IProperty<Ts>, numRuns?: number): void {
  try {
    fc.assert(prop, fuzzParams<Ts>(label, numRuns));
  } catch (err) {
    throw new Error(`property "${label}" failed under WOLK_TEST_SEED=${TEST_SEED}: ${(err as Error).message}`);
  }
}

/** Runs an asynchronous property under fuzzParams. */
export async function checkAsync<Ts>(label: string, prop: fc.IAsyncProperty<Ts>, numRuns?: number): Promise<void> {
  try {
    await fc.assert(prop, fuzzParams<Ts>(label, numRuns));
  } catch (err) {
    throw new Error(`property "${label}" failed under WOLK_TEST_SEED=${TEST_SEED}: ${(err as Error).message}`);
  }
}

/** A copy of `bytes` with byte `index % length` XORed with `flip` (1..255, so it always changes). */
export function mutateByte(bytes: Uint8Array, index: number, flip: number): Buffer {
  const out = Buffer.from(bytes);
  const i = index % out.length;
  out[i] = out[i]! ^ (flip === 0 ? 1 : flip & 0xff || 1);
  return out;
}

/** Arbitrary: a position and a non-zero XOR mask for mutateByte. */
export const byteMutation = fc.record({ index: fc.nat(), flip: fc.integer({ min: 1, max: 255 }) });

/** Arbitrary bytes, mostly short, sometimes a few KB. */
export const anyBytes = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 512 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 4096 }) },
);

/** Arbitrary strings: printable, full Unicode (lone surrogates too) and raw code units. */
export const anyString = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: fc.constantFrom(...'/.%-_ \t\r\n\0az09AZ=:;,"()*?#'.split('')), maxLength: 60 }),
);

export const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
