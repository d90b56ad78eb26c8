// Test randomness from one seed per test process, as the simulator does (STYLE.md: one seeded PRNG, the
// seed printed on failure). Fixtures draw keys and data from a seeded PRNG instead of randomBytes, so
// sortition picks the same proposers and storers on every run with one seed, and a failure names it.
//
// The seed is WOLK_TEST_SEED when set (a uint32, or `random` for a fresh one, printed), otherwise a
// fixed default: every run of `npm test` sees the same fixtures. Each fixture module or test asks for
// its own labelled stream, derived from (seed, label), so adding a draw in one file does not shift
// the draws of another.
import type { ExecutionContext, TestFn } from 'ava';
import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../../lib/crypto/hash.js';
import { signKeyFromSeed, type SignKeyPair } from '../../lib/crypto/sign.js';
import { loadOrCreateNodeKey, nodeKeyFromSeeds, NODE_KEY_FILE, type NodeKey } from '../../lib/identity/node-key.js';
import { Prng } from '../sim/prng.js';

export { Prng };

export const TEST_SEED_ENV = 'WOLK_TEST_SEED';
export const DEFAULT_TEST_SEED = 1;

/** The seed named by WOLK_TEST_SEED (uint32 or `random`), or the fixed default. */
export function readTestSeed(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const raw = env[TEST_SEED_ENV]?.trim();
  if (raw === undefined || raw === '') return DEFAULT_TEST_SEED;
  if (raw === 'random') return randomInt(0, 2 ** 32 - 1);
  if (!/^\d+$/.test(raw) || Number(raw) > 0xffff_ffff) {
    throw new Error(`${TEST_SEED_ENV}: expected an integer in [0, 4294967295] or "random", got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

/** This process's seed (ava runs each test file in its own process). */
export const TEST_SEED = readTestSeed();

/** The command-line prefix that replays this process's fixtures. */
export const replayHint = (): string => `${TEST_SEED_ENV}=${TEST_SEED}`;

/** FNV-1a over the label's UTF-8 bytes: a stable 32-bit name for a stream. */
function labelHash(label: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(label, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/** The PRNG of stream `label` under `seed` (default: this process's seed). */
export function testPrng(label: string, seed = TEST_SEED): Prng {
  // Mix label and seed through one PRNG step so neighbouring seeds give unrelated streams.
  const mixed = new Prng((labelHash(label) ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0);
  return new Prng(mixed.next() ^ seed);
}

/** `n` bytes from `prng`. */
export function seededBytes(prng: Prng, n: number): Buffer {
  const out = Buffer.alloc(n);
  let i = 0;
  for (; i + 4 <= n; i += 4) out.writeUInt32LE(prng.next(), i);
  if (i < n) {
    const last = prng.next();
    for (let k = 0; i < n; i++, k++) out[i] = (last >>> (8 * k)) & 0xff;
  }
  return out;
}

/** An Ed25519 key pair (32-byte seed + public key): a user's or a gateway's key. */
export function seededKeyPair(prng: Prng): SignKeyPair {
  return signKeyFromSeed(new Uint8Array(seededBytes(prng, 32)));
}

/** A node identity (Ed25519 + VRF), as loadOrCreateNodeKey would make it. */
export function seededNodeKey(prng: Prng): NodeKey {
  return nodeKeyFromSeeds(new Uint8Array(seededBytes(prng, 32)), new Uint8Array(seededBytes(prng, 32)));
}

/**
 * Puts a seeded node key into `dataDir` the way an operator provisions one (docs/deploy.md: the key
 * file mounted as WOLK_DATA_DIR/node-key.json), so a node started on that directory has a reproducible
 * identity instead of making a random one. Read back through loadOrCreateNodeKey, so a change of the
 * file format fails here rather than silently giving the node another key.
 */
export function provisionNodeKey(dataDir: string, prng: Prng): NodeKey {
  const signSeed = seededBytes(prng, 32);
  const vrfSeed = seededBytes(prng, 32);
  writeFileSync(join(dataDir, NODE_KEY_FILE), JSON.stringify({ version: 1, signSeed: toHex(signSeed), vrfSeed: toHex(vrfSeed) }) + '\n', { mode: 0o600, flag: 'wx' });
  const { key, created } = loadOrCreateNodeKey(dataDir);
  const expected = nodeKeyFromSeeds(new Uint8Array(signSeed), new Uint8Array(vrfSeed));
  if (created || key.id !== expected.id) throw new Error(`${dataDir}: the provisioned node key was not the one loaded (file format changed?)`);
  return key;
}

/** A labelled stream with the draws fixtures make, bound to one PRNG. */
export interface TestRandom {
  readonly seed: number;
  readonly label: string;
  readonly prng: Prng;
  bytes(n: number): Buffer;
  /** Lowercase hex of `n` bytes (names, suffixes). */
  hex(n: number): string;
  keyPair(): SignKeyPair;
  nodeKey(): NodeKey;
  /** Writes a seeded node-key.json into `dataDir` (see provisionNodeKey) and returns the key. */
  provisionNodeKey(dataDir: string): NodeKey;
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number;
}

export function testRandom(label: string, seed = TEST_SEED): TestRandom {
  const prng = testPrng(label, seed);
  return {
    seed,
    label,
    prng,
    bytes: (n) => seededBytes(prng, n),
    hex: (n) => seededBytes(prng, n).toString('hex'),
    keyPair: () => seededKeyPair(prng),
    nodeKey: () => seededNodeKey(prng),
    provisionNodeKey: (dataDir) => provisionNodeKey(dataDir, prng),
    int: (lo, hi) => prng.range(lo, hi),
  };
}

/** A stream of its own for one test, labelled by the test's title. */
export function randomFor(t: ExecutionContext): TestRandom {
  return testRandom(`test:${t.title}`);
}

/**
 * Registers an afterEach.always hook that prints the seed (and how to replay it) under every failed
 * test of the file. Call once per test file that draws from these streams.
 */
export function logSeedOnFailure<Context>(test: TestFn<Context>): void {
  test.afterEach.always((t) => {
    if (!t.passed) t.log(`test fixtures drew from seed ${TEST_SEED}; replay with ${replayHint()} npx ava <this file>`);
  });
}
