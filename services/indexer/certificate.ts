// Certificate verification for followers (indexer; the rewards service reuses it through its own copy of
// this idea). It reuses the agreement core's own check (services/consensus/agreement/votes.ts
// verifyCertificate: every cert vote's VRF credential and sortition weight against the genesis committee,
// its Ed25519 signature over the agreement's vote bytes, distinct voters, equivocation pairs, and a quorum
// weight of at least the cert threshold for exactly this block hash), so the indexer accepts exactly what
// a catching-up consensus node accepts. Those modules are pure (no I/O); importing them across the
// service boundary is deliberate until they move to lib/ (noted in docs/indexer.md).
import type { BlockHeader, Certificate } from '../../gen/wolk/common/v1/chain.js';
import { nodesWithRole, type Genesis } from '../../lib/chain/genesis.js';
import { fromHex } from '../../lib/crypto/index.js';
import { bytesEqual } from '../consensus/agreement/codec.js';
import { createAgreementCrypto } from '../consensus/agreement/crypto.js';
import { algorandParams, smallNetworkParams, type AgreementParams } from '../consensus/agreement/params.js';
import type { AgreementCrypto } from '../consensus/agreement/types.js';
import { verifyCertificate } from '../consensus/agreement/votes.js';
import { blockFromHeader, certificateFromProto } from '../consensus/wire.js';

/** Same cut-over as the consensus node (services/consensus/node.ts agreementParams). */
const SMALL_NETWORK_NODES = 100;

export type CertificateVerdict = { ok: true; hash: Uint8Array } | { ok: false; reason: string };

export interface CertificateVerifier {
  /** The block hash recomputed from the header (never taken from the wire). */
  hashOf(header: BlockHeader): Uint8Array;
  /** Checks `cert` finalizes `header`, whose parent has seed `prevSeed`. */
  verify(header: BlockHeader, cert: Certificate | undefined, prevSeed: Uint8Array): CertificateVerdict;
}

export function createCertificateVerifier(genesis: Genesis): CertificateVerifier {
  const committee = nodesWithRole(genesis, 'consensus');
  const directory = new Map(committee.nodes.map((n) => [n.id, { vrf: fromHex(n.vrfPublicKey), sign: fromHex(n.id), stake: BigInt(n.stake) }]));
  const params: AgreementParams =
    committee.nodes.length < SMALL_NETWORK_NODES ? smallNetworkParams(committee.totalStake, { lambda: genesis.params.lambdaMs }) : algorandParams();
  // Verification only: the secrets are never used to sign or prove.
  const crypto: AgreementCrypto = createAgreementCrypto(
    { voterId: '', vrfSecretKey: new Uint8Array(32), signSecretKey: new Uint8Array(32) },
    { vrfPublicKey: (v) => directory.get(v)?.vrf ?? null, signPublicKey: (v) => directory.get(v)?.sign ?? null },
  );
  return {
    hashOf(header) {
      return blockFromHeader(crypto, header).hash;
    },
    verify(header, pbCert, prevSeed) {
      try {
        const block = blockFromHeader(crypto, header);
        const cert = certificateFromProto(pbCert);
        if (cert.round !== block.round || !bytesEqual(cert.value, block.hash)) return { ok: false, reason: `certificate of round ${cert.round} is not for block ${block.round}` };
        const res = verifyCertificate(cert, {
          crypto,
          params,
          seed: prevSeed,
          totalStake: committee.totalStake,
          stakeOf: (v) => directory.get(v)?.stake ?? 0n,
        });
        return res.ok ? { ok: true, hash: block.hash } : { ok: false, reason: res.reason };
      } catch (err) {
        return { ok: false, reason: (err as Error).message };
      }
    },
  };
}
