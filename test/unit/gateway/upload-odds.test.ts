// The probability that an upload fails because sortition selected too few storers, even after the
// gateway's retries on later seeds (services/gateway/upload.ts SEED_ATTEMPTS; docs/storer.md "Uploads
// that are not selected"): the formula (lib/chain/selection-odds.ts) is checked against a simulation
// that runs the real selection function (lib/crypto/sortition.ts `sortition`, as the storers, the
// gateway and the ledger run it) over many seeded draws, replaying the gateway's retry rule (storers
// that committed keep their commitment; the others are asked again on the next seed). The VRF output
// is RFC 9381's proof_to_hash, a SHA-512 digest, of which sortition reads the leading 53 bits; the
// simulation feeds it uniform bits from the seeded test PRNG in its place (proving ~10^6 VRFs, or even
// hashing as many inputs, would take minutes here).
import test from 'ava';
import { attemptsFor, passedOverProbability, uploadFailureProbability, type SelectionShape } from '../../../lib/chain/selection-odds.js';
import { sortition } from '../../../lib/crypto/sortition.js';
import { SEED_ATTEMPTS } from '../../../services/gateway/upload.js';
import { DEVNET_PARAMS } from '../../../scripts/devnet-plan.js';
import { logSeedOnFailure, randomFor, type Prng } from '../../helpers/seed.js';

logSeedOnFailure(test);

/** A stand-in VRF output: 64 bytes whose leading 8 (all that sortition reads) are uniform draws. */
function draw(prng: Prng): Uint8Array {
  const beta = new Uint8Array(64);
  const v = new DataView(beta.buffer);
  v.setUint32(0, prng.next());
  v.setUint32(4, prng.next());
  return beta;
}

/** Failures among `trials` simulated uploads, each asking every uncommitted storer on up to `attempts` fresh seeds. */
function simulate(shape: SelectionShape, trials: number, prng: Prng): number {
  const total = shape.weights.reduce((a, b) => a + b, 0n);
  const tau = Math.min(shape.expectedSize, Number(total));
  let failures = 0;
  for (let t = 0; t < trials; t++) {
    const committed = new Set<number>();
    for (let a = 0; a < shape.attempts && committed.size < shape.replication; a++) {
      for (let i = 0; i < shape.weights.length; i++) {
        if (committed.has(i)) continue;
        if (sortition(draw(prng), shape.weights[i]!, total, tau) >= 1) committed.add(i);
      }
    }
    if (committed.size < shape.replication) failures++;
  }
  return failures;
}

/** |observed − expected| within 5 binomial standard deviations (plus one count of slack for tiny rates). */
function close(t: import('ava').ExecutionContext, failures: number, trials: number, p: number, what: string): void {
  const sd = Math.sqrt(trials * p * (1 - p));
  t.true(Math.abs(failures - trials * p) <= 5 * sd + 1, `${what}: ${failures} of ${trials} failed, the formula says ${(trials * p).toFixed(1)} (p = ${p.toExponential(3)})`);
}

const devnet = (attempts: number): SelectionShape => ({
  weights: Array.from({ length: 6 }, () => 1000n), // scripts/devnet-plan.ts: 6 storers, 1000 stake each, full reputation
  expectedSize: DEVNET_PARAMS.storerCommitteeSize,
  replication: DEVNET_PARAMS.replication,
  attempts,
});

test('one storer is passed over with probability (1 - p)^w, as sortition draws it', (t) => {
  const rnd = randomFor(t);
  const draws = 100_000;
  let passed = 0;
  for (let d = 0; d < draws; d++) if (sortition(draw(rnd.prng), 1000n, 6000n, 18) === 0) passed++;
  close(t, passed, draws, passedOverProbability(1000n, 6000n, 18), 'devnet storer passed over');
  t.is(passedOverProbability(0n, 6000n, 18), 1);
  t.is(passedOverProbability(1000n, 6000n, 6000), 0);
});

test('the failure formula matches the simulated retry rule where failures are frequent enough to count', (t) => {
  const rnd = randomFor(t);
  const shapes: SelectionShape[] = [
    { weights: Array.from({ length: 6 }, () => 1000n), expectedSize: 5, replication: 3, attempts: 1 },
    { weights: Array.from({ length: 6 }, () => 1000n), expectedSize: 5, replication: 3, attempts: 2 },
    { weights: Array.from({ length: 6 }, () => 1000n), expectedSize: 3, replication: 3, attempts: 3 },
    { weights: [100n, 500n, 1000n, 2000n, 3000n, 400n], expectedSize: 6, replication: 4, attempts: 1 },
    { weights: [100n, 500n, 1000n, 2000n, 3000n, 400n], expectedSize: 6, replication: 4, attempts: 2 },
    { weights: Array.from({ length: 10 }, () => 700n), expectedSize: 8, replication: 6, attempts: 2 },
  ];
  for (const shape of shapes) {
    const trials = 10_000;
    const p = uploadFailureProbability(shape);
    t.true(p > 1e-3, `shape chosen so failures are countable: p = ${p}`);
    close(t, simulate(shape, trials, rnd.prng), trials, p, JSON.stringify({ ...shape, weights: shape.weights.map(String) }));
  }
});

test('devnet parameters: one seed fails about 1 in 10^4 (simulated), the gateway\'s retries bring it below 1e-9', (t) => {
  const rnd = randomFor(t);
  const one = uploadFailureProbability(devnet(1));
  t.true(one > 5e-5 && one < 2e-4, `one seed: ${one}`);
  const trials = 100_000;
  close(t, simulate(devnet(1), trials, rnd.prng), trials, one, 'devnet, one seed');
  // Nothing failed with retries in the same number of draws (the formula: about 3e-10 of 1e5).
  t.is(simulate(devnet(SEED_ATTEMPTS), trials, rnd.prng), 0);
  const withRetries = uploadFailureProbability(devnet(SEED_ATTEMPTS));
  t.true(withRetries < 1e-9, `with ${SEED_ATTEMPTS} seeds: ${withRetries}`);
  t.is(attemptsFor({ weights: devnet(1).weights, expectedSize: 18, replication: 3 }, 1e-9), 2, 'two seeds are the least that reach 1e-9; SEED_ATTEMPTS keeps a margin');
  t.log(`devnet: one seed ${one.toExponential(2)}, two ${uploadFailureProbability(devnet(2)).toExponential(2)}, ${SEED_ATTEMPTS} ${withRetries.toExponential(2)}`);
});
