// The production AgreementCrypto: RFC 9381 ECVRF (ELL2) credentials with Algorand's binomial
// sortition, Ed25519 vote signatures with the Vote domain, SHA-256 (lib/crypto). The simulator's fast
// stand-in with the same interface is test/sim/sim-crypto.ts.
//
// Selector → VRF alpha: sortitionAlpha(domain, seed, round, period, step), with the Proposer domain
// for step 0 and the Committee domain for voting steps (go-algorand hashes its selector struct the
// same way: seed, round, period, step). DESIGN §5: outputs differ from go-algorand's (draft-03
// Elligator VRF there, RFC 9381 here) by design.

import {
  SignDomain,
  SortitionDomain,
  bytesEqual,
  sha256,
  sign,
  sortition,
  sortitionAlpha,
  verifySignature,
  vrfKeyFromSeed,
  vrfProofToHash,
  vrfProve,
  vrfVerify,
} from '../../../lib/crypto/index.js';
import { u64 } from './codec.js';
import { Step, type AgreementCrypto, type Credential, type CredentialCheck, type Selector, type VoterId } from './types.js';

/** Public keys of participants, from the ledger's account records. */
export interface AgreementKeyDirectory {
  vrfPublicKey(voter: VoterId): Uint8Array | null;
  signPublicKey(voter: VoterId): Uint8Array | null;
}

export interface AgreementSecrets {
  readonly voterId: VoterId;
  /** 32-byte VRF seed (RFC 8032 secret key format). */
  readonly vrfSecretKey: Uint8Array;
  /** 32-byte Ed25519 seed. */
  readonly signSecretKey: Uint8Array;
}

function alphaOf(sel: Selector): Uint8Array {
  const domain = sel.step === Step.propose ? SortitionDomain.Proposer : SortitionDomain.Committee;
  return sortitionAlpha(domain, sel.seed, u64(sel.round), u64(sel.period), u64(sel.step));
}

/** Sortition that never throws on out-of-range inputs: a nonsensical selector selects nobody. */
function weightOf(vrfOutput: Uint8Array, stake: bigint, sel: Selector): number {
  if (stake <= 0n || stake > sel.totalStake) return 0;
  try {
    return sortition(vrfOutput, stake, sel.totalStake, Math.min(sel.expectedSize, Number(sel.totalStake)));
  } catch {
    return 0;
  }
}

export function createAgreementCrypto(secrets: AgreementSecrets, directory: AgreementKeyDirectory): AgreementCrypto {
  // Derive the VRF public key once (also validates the seed length).
  vrfKeyFromSeed(secrets.vrfSecretKey);
  return {
    self: secrets.voterId,
    proveCredential(sel: Selector, stake: bigint): Credential | null {
      const proof = vrfProve(secrets.vrfSecretKey, alphaOf(sel));
      const out = vrfProofToHash(proof);
      if (out === null) return null;
      const weight = weightOf(out, stake, sel);
      return weight === 0 ? null : { voterId: secrets.voterId, vrfProof: proof, vrfOutput: out, weight };
    },
    verifyCredential(sel: Selector, cred: Credential, stake: bigint): CredentialCheck {
      const pk = directory.vrfPublicKey(cred.voterId);
      if (pk === null || stake <= 0n) return { ok: false, reason: 'unknown-voter' };
      const beta = vrfVerify(pk, alphaOf(sel), cred.vrfProof);
      if (beta === null || !bytesEqual(beta, cred.vrfOutput)) return { ok: false, reason: 'bad-proof' };
      const weight = weightOf(beta, stake, sel);
      return weight === 0 ? { ok: false, reason: 'not-selected' } : { ok: true, weight };
    },
    sign(msg: Uint8Array): Uint8Array {
      return sign(SignDomain.Vote, secrets.signSecretKey, msg);
    },
    verify(voter: VoterId, msg: Uint8Array, signature: Uint8Array): boolean {
      const pk = directory.signPublicKey(voter);
      return pk !== null && verifySignature(SignDomain.Vote, pk, msg, signature);
    },
    hash(...parts: Uint8Array[]): Uint8Array {
      return sha256(...parts);
    },
  };
}
