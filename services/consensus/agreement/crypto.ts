// The production AgreementCrypto: RFC 9381 ECVRF (ELL2) credentials with Algorand's binomial
// sortition, Ed25519 vote signatures with the Vote domain, SHA-256 (lib/crypto). The simulator's fast
// stand-in with the same interface is test/sim/sim-crypto.ts.
//
// Selector → VRF alpha: sortitionAlpha(domain, seed, round, period, step), with the Proposer domain
// for step 0 and the Committee domain for voting steps (go-algorand hashes its selector struct the
// same way: seed, round, period, step). DESIGN §5: outputs differ from go-algorand's (draft-03
// Elligator VRF there, RFC 9381 here) by design.

import { createVoteVerifier, selectorAlpha, selectorWeight, type KeyDirectory } from '../../../lib/chain/certificate.js';
import { SignDomain, sha256, sign, vrfKeyFromSeed, vrfProofToHash, vrfProve } from '../../../lib/crypto/index.js';
import type { AgreementCrypto, Credential, Selector, VoterId } from './types.js';

/** Public keys of participants, from the ledger's account records. */
export type AgreementKeyDirectory = KeyDirectory;

export interface AgreementSecrets {
  readonly voterId: VoterId;
  /** 32-byte VRF seed (RFC 8032 secret key format). */
  readonly vrfSecretKey: Uint8Array;
  /** 32-byte Ed25519 seed. */
  readonly signSecretKey: Uint8Array;
}

export function createAgreementCrypto(secrets: AgreementSecrets, directory: AgreementKeyDirectory): AgreementCrypto {
  // Derive the VRF public key once (also validates the seed length).
  vrfKeyFromSeed(secrets.vrfSecretKey);
  const verifier = createVoteVerifier(directory);
  return {
    self: secrets.voterId,
    proveCredential(sel: Selector, stake: bigint): Credential | null {
      const proof = vrfProve(secrets.vrfSecretKey, selectorAlpha(sel));
      const out = vrfProofToHash(proof);
      if (out === null) return null;
      const weight = selectorWeight(out, stake, sel);
      return weight === 0 ? null : { voterId: secrets.voterId, vrfProof: proof, vrfOutput: out, weight };
    },
    verifyCredential: verifier.verifyCredential,
    sign(msg: Uint8Array): Uint8Array {
      return sign(SignDomain.Vote, secrets.signSecretKey, msg);
    },
    verify: verifier.verify,
    hash(...parts: Uint8Array[]): Uint8Array {
      return sha256(...parts);
    },
  };
}
