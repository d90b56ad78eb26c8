// VRF and signature throughput. Each VRF figure sits beside Ed25519 measured in the same run: the
// VRF verify goal is at least half of @noble/curves' Ed25519 verify, the library the VRF is built on
// (a VRF verification does roughly two signature verifications' worth of point arithmetic).
// Verification and proving are measured on both paths: native/vrf (the default when built) against the
// JS path in the same run; for verification the ratio is issue 17's goal (>= 5x).
import { ed25519 } from '@noble/curves/ed25519.js';
import type { BenchContext } from '../harness.js';
import { sha256 } from '../../lib/crypto/hash.js';
import { SignDomain, sign, signKeyFromSeed, signedBytes, verifySignature } from '../../lib/crypto/sign.js';
import { prove, verify, vrfKeyFromSeed, type VrfSuite } from '../../lib/crypto/vrf.js';
import { nativeVrfAvailable, withNativeVrf } from '../../lib/crypto/vrf-native.js';

/** Operations per second of `fn` over inputs cycled from `inputs`, run for about `ms` milliseconds. */
function opsPerSecond<T>(inputs: readonly T[], fn: (input: T) => unknown, ms: number): number {
  // Warm up (JIT, key caches, noble's lazily built base-point tables).
  for (let i = 0; i < Math.min(inputs.length, 20); i++) fn(inputs[i]!);
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 10; i++) fn(inputs[(ops + i) % inputs.length]!);
    ops += 10;
    now = performance.now();
  }
  return (ops * 1000) / (now - start);
}

export async function benchSignatures(ctx: BenchContext): Promise<void> {
  const MS = 1500;
  const enc = new TextEncoder();
  const seed = sha256(enc.encode('bench key'));
  const messages = Array.from({ length: 64 }, (_, i) => sha256(enc.encode(`message ${i}`)));

  // Ed25519 baselines: Node (OpenSSL) and noble, over the same domain-prefixed bytes.
  const sk = signKeyFromSeed(seed);
  const prefixed = messages.map((m) => signedBytes(SignDomain.Vote, m));
  const nodeSigs = messages.map((m) => sign(SignDomain.Vote, sk.secretKey, m));
  ctx.log('ed25519 (node)');
  const nodeSign = opsPerSecond(messages, (m) => sign(SignDomain.Vote, sk.secretKey, m), MS);
  const nodeVerify = opsPerSecond(messages.map((m, i) => [m, nodeSigs[i]!] as const), ([m, s]) => verifySignature(SignDomain.Vote, sk.publicKey, m, s), MS);
  ctx.log('ed25519 (noble)');
  const nobleSign = opsPerSecond(prefixed, (m) => ed25519.sign(m, seed), MS);
  const nobleVerify = opsPerSecond(prefixed.map((m, i) => [m, nodeSigs[i]!] as const), ([m, s]) => ed25519.verify(s, m, sk.publicKey), MS);

  ctx.row({ name: 'ed25519 sign (node crypto)', value: nodeSign, unit: 'ops/s', baseline: nobleSign, baselineName: 'noble ed25519 sign' });
  ctx.row({ name: 'ed25519 verify (node crypto)', value: nodeVerify, unit: 'ops/s', baseline: nobleVerify, baselineName: 'noble ed25519 verify' });
  ctx.row({ name: 'ed25519 sign (noble)', value: nobleSign, unit: 'ops/s' });
  ctx.row({ name: 'ed25519 verify (noble)', value: nobleVerify, unit: 'ops/s' });

  const vrfKey = vrfKeyFromSeed(seed);
  for (const suite of ['ELL2', 'TAI'] as VrfSuite[]) {
    ctx.log(`vrf ${suite}`);
    const proofs = messages.map((m) => prove(vrfKey.secretKey, m, suite));
    const proveRateOf = (native: boolean) => withNativeVrf(native, () => opsPerSecond(messages, (m) => prove(vrfKey.secretKey, m, suite), MS));
    const jsProveRate = proveRateOf(false);
    const proveRate = nativeVrfAvailable ? proveRateOf(true) : jsProveRate;
    const verifyRateOf = (native: boolean) =>
      withNativeVrf(native, () =>
        opsPerSecond(messages.map((m, i) => [m, proofs[i]!] as const), ([m, p]) => {
          if (verify(vrfKey.publicKey, m, p, suite) === null) throw new Error('benchmark proof did not verify');
        }, MS),
      );
    const jsVerifyRate = verifyRateOf(false);
    const verifyRate = nativeVrfAvailable ? verifyRateOf(true) : jsVerifyRate;
    if (!nativeVrfAvailable) ctx.log('native/vrf is NOT built: the verify rows are the JS path');
    ctx.row({ name: `vrf ${suite} verify, JS path (@noble/curves)`, value: jsVerifyRate, unit: 'ops/s', baseline: nobleVerify, baselineName: 'noble ed25519 verify' });
    if (nativeVrfAvailable) ctx.row({ name: `vrf ${suite} verify, native (native/vrf) vs JS`, value: verifyRate, unit: 'ops/s', baseline: jsVerifyRate, baselineName: 'the JS path, this run', goal: '>= 5x', goalRatio: 5 });
    ctx.row({ name: `vrf ${suite} prove`, value: proveRate, unit: 'ops/s', baseline: nobleSign, baselineName: 'noble ed25519 sign' });
    if (nativeVrfAvailable) ctx.row({ name: `vrf ${suite} prove, native products (native/vrf) vs JS`, value: proveRate, unit: 'ops/s', baseline: jsProveRate, baselineName: 'the JS path, this run' });
    ctx.row({
      name: `vrf ${suite} verify`,
      value: verifyRate,
      unit: 'ops/s',
      baseline: nobleVerify,
      baselineName: 'noble ed25519 verify',
      goal: '>= 0.5x noble ed25519 verify',
      goalRatio: 0.5,
    });
    ctx.row({ name: `vrf ${suite} verify vs node ed25519 verify`, value: verifyRate, unit: 'ops/s', baseline: nodeVerify, baselineName: 'node ed25519 verify' });
  }
}

/** `npm run bench -- crypto` runs this as part of bench/crypto.ts; this entry runs it alone. */
export async function run(ctx: BenchContext): Promise<void> {
  await benchSignatures(ctx);
}
