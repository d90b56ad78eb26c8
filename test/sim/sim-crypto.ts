// THE SIMULATOR'S crypto, not for production: a fast deterministic keyed-hash stand-in for the VRF
// and signatures, so that hundreds of seeds run in CI within minutes. Each node has a secret; its
// "VRF output" is SHA-256(secret ‖ alpha) and the "proof" is that output; "signatures" are
// SHA-256(secret ‖ msg). Verification consults the keyring (an oracle that knows every secret), which
// is sound inside one process where Byzantine nodes are our own code and only use their own secret.
// Sortition is the same binomial rule as lib/crypto/sortition (smallest j with ratio <= CDF(j)) in
// floating point, exact enough for the small stakes simulated here.

import { createHash } from 'node:crypto';
import { concat, u64 } from '../../services/consensus/agreement/codec.js';
import type { AgreementCrypto, Credential, CredentialCheck, Selector, VoterId } from '../../services/consensus/agreement/types.js';

const enc = new TextEncoder();
const TAG_VRF = enc.encode('sim/vrf');
const TAG_SIG = enc.encode('sim/sig');

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  const d = h.digest();
  return new Uint8Array(d.buffer, d.byteOffset, d.length);
}

export class SimKeyring {
  private readonly secrets = new Map<VoterId, Uint8Array>();

  add(id: VoterId, secret: Uint8Array): void {
    this.secrets.set(id, secret);
  }

  secretOf(id: VoterId): Uint8Array | undefined {
    return this.secrets.get(id);
  }
}

function alphaOf(sel: Selector): Uint8Array {
  return concat([sel.seed, u64(sel.round), u64(sel.period), u64(sel.step)]);
}

/** Binomial sortition: smallest j with ratio <= P[X <= j], X ~ Bin(stake, expectedSize / totalStake). */
export function simSortition(vrfOutput: Uint8Array, stake: bigint, totalStake: bigint, expectedSize: number): number {
  if (stake <= 0n || totalStake <= 0n) return 0;
  const n = Number(stake);
  const p = expectedSize / Number(totalStake);
  if (p >= 1) return n; // every stake unit is a seat (small-network preset)
  const dv = new DataView(vrfOutput.buffer, vrfOutput.byteOffset, 8);
  const ratio = (dv.getUint32(0) * 4294967296 + dv.getUint32(4)) / 18446744073709551616;
  const q = 1 - p;
  let prob = Math.pow(q, n);
  let cdf = prob;
  let j = 0;
  while (ratio > cdf && j < n) {
    prob *= ((n - j) / (j + 1)) * (p / q);
    j++;
    cdf += prob;
  }
  return j;
}

export class SimCrypto implements AgreementCrypto {
  constructor(
    readonly self: VoterId,
    private readonly keyring: SimKeyring,
  ) {}

  private secret(): Uint8Array {
    const s = this.keyring.secretOf(this.self);
    if (s === undefined) throw new Error(`SimCrypto: no secret for ${this.self}`);
    return s;
  }

  proveCredential(sel: Selector, stake: bigint): Credential | null {
    const out = sha256(TAG_VRF, this.secret(), alphaOf(sel));
    const weight = simSortition(out, stake, sel.totalStake, sel.expectedSize);
    if (weight === 0) return null;
    return { voterId: this.self, vrfProof: out, vrfOutput: out, weight };
  }

  /** Test helper: our true VRF output for `sel` with an arbitrary claimed weight (to forge "not selected" credentials). */
  claimCredential(sel: Selector, weight: number): Credential {
    const out = sha256(TAG_VRF, this.secret(), alphaOf(sel));
    return { voterId: this.self, vrfProof: out, vrfOutput: out, weight };
  }

  verifyCredential(sel: Selector, cred: Credential, stake: bigint): CredentialCheck {
    const secret = this.keyring.secretOf(cred.voterId);
    if (secret === undefined || stake <= 0n) return { ok: false, reason: 'unknown-voter' };
    const out = sha256(TAG_VRF, secret, alphaOf(sel));
    if (!eq(out, cred.vrfProof) || !eq(out, cred.vrfOutput)) return { ok: false, reason: 'bad-proof' };
    const weight = simSortition(out, stake, sel.totalStake, sel.expectedSize);
    return weight === 0 ? { ok: false, reason: 'not-selected' } : { ok: true, weight };
  }

  sign(msg: Uint8Array): Uint8Array {
    return sha256(TAG_SIG, this.secret(), msg);
  }

  verify(voter: VoterId, msg: Uint8Array, signature: Uint8Array): boolean {
    const secret = this.keyring.secretOf(voter);
    return secret !== undefined && eq(sha256(TAG_SIG, secret, msg), signature);
  }

  hash(...parts: Uint8Array[]): Uint8Array {
    return sha256(...parts);
  }
}

function eq(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
