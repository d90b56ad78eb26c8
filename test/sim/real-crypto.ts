// Runs the simulator with the production crypto (services/consensus/agreement/crypto.ts: RFC 9381
// VRF, Ed25519, SHA-256) for fidelity; slower, so for small node counts and few seeds.

import { signKeyFromSeed, vrfKeyFromSeed } from '../../lib/crypto/index.js';
import { createAgreementCrypto, type AgreementKeyDirectory } from '../../services/consensus/agreement/crypto.js';
import type { AgreementCrypto, VoterId } from '../../services/consensus/agreement/types.js';
import type { Prng } from './prng.js';
import type { CryptoFactory } from './simulator.js';

function seed32(prng: Prng): Uint8Array {
  const out = new Uint8Array(32);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 32; i += 4) dv.setUint32(i, prng.next());
  return out;
}

export const realCrypto: CryptoFactory = (ids: readonly VoterId[], prng: Prng): ReadonlyMap<VoterId, AgreementCrypto> => {
  const vrf = new Map<VoterId, { secretKey: Uint8Array; publicKey: Uint8Array }>();
  const sig = new Map<VoterId, { secretKey: Uint8Array; publicKey: Uint8Array }>();
  for (const id of ids) {
    vrf.set(id, vrfKeyFromSeed(seed32(prng)));
    sig.set(id, signKeyFromSeed(seed32(prng)));
  }
  const directory: AgreementKeyDirectory = {
    vrfPublicKey: (v) => vrf.get(v)?.publicKey ?? null,
    signPublicKey: (v) => sig.get(v)?.publicKey ?? null,
  };
  return new Map(
    ids.map((id) => [id, createAgreementCrypto({ voterId: id, vrfSecretKey: vrf.get(id)!.secretKey, signSecretKey: sig.get(id)!.secretKey }, directory)]),
  );
};
