// Helpers for the block-storage tests: finalize blocks on a ledger with a real certificate (cert votes
// of the genesis committee, with real VRF credentials and signatures), so a checkpoint built from them
// verifies exactly as one fetched from a peer would.
import type { BlockHeader, Certificate as PbCertificate } from '../../../gen/wolk/common/v1/chain.js';
import type { SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { sha256 } from '../../../lib/crypto/index.js';
import { fromHex } from '../../../lib/crypto/index.js';
import { blockHash, voteSigningBytes } from '../../../services/consensus/agreement/codec.js';
import { createAgreementCrypto } from '../../../services/consensus/agreement/crypto.js';
import type { AgreementParams } from '../../../services/consensus/agreement/params.js';
import { Step, type AgreementCrypto, type Block, type Certificate, type Vote } from '../../../services/consensus/agreement/types.js';
import type { Checkpoint } from '../../../services/consensus/checkpoint.js';
import type { Ledger } from '../../../services/consensus/ledger/ledger.js';
import { agreementParams } from '../../../services/consensus/node.js';
import { certificateToProto, headerOf } from '../../../services/consensus/wire.js';
import type { Net } from './ledger-fixture.js';

export interface Committee {
  readonly cryptos: AgreementCrypto[];
  readonly params: AgreementParams;
  /** Any member's crypto (verification only needs the directory). */
  readonly verifier: AgreementCrypto;
}

export function committeeOf(net: Net): Committee {
  const directory = new Map(net.consensus.map((k) => [k.id, { vrf: k.vrfPublicKey, sign: k.signPublicKey }]));
  const cryptos = net.consensus.map((k) =>
    createAgreementCrypto(
      { voterId: k.id, vrfSecretKey: k.vrfSecretKey, signSecretKey: k.signSecretKey },
      { vrfPublicKey: (v) => directory.get(v)?.vrf ?? null, signPublicKey: (v) => directory.get(v)?.sign ?? null },
    ),
  );
  return { cryptos, params: agreementParams(net.genesis, net.genesis.params.lambdaMs), verifier: cryptos[0]! };
}

/** A block of `body` on the ledger's tip, proposed by the first committee member sortition selects. */
export function blockOn(ledger: Ledger, c: Committee, body: Uint8Array): Block {
  const tip = ledger.tip();
  const round = tip.round + 1;
  // A member's proposer weight can be 0 in a round (sortition): take the first one selected.
  const selected = c.cryptos
    .map((cr) => ({ cr, cred: cr.proveCredential({ seed: tip.seed, round, period: 0, step: Step.propose, expectedSize: c.params.proposerSize, totalStake: ledger.totalStake(round) }, ledger.stakeOf(cr.self, round)) }))
    .find((x) => x.cred !== null);
  if (!selected) throw new Error(`no committee member is selected to propose round ${round}`);
  const proposer = selected.cr;
  const cred = selected.cred!;
  const b: Omit<Block, 'hash'> = { round, prevHash: tip.hash, seed: sha256(tip.seed, Uint8Array.of(round)), proposer: proposer.self, period: 0, credential: cred, body };
  return { ...b, hash: blockHash(proposer, b) };
}

/** Cert votes of every committee member for `block` (small network: every stake unit votes). */
export function certify(ledger: Ledger, c: Committee, block: Block): Certificate {
  const tip = ledger.tip();
  const votes: Vote[] = c.cryptos.map((cr) => {
    const credential = cr.proveCredential({ seed: tip.seed, round: block.round, period: 0, step: Step.cert, expectedSize: c.params.cert.size, totalStake: ledger.totalStake(block.round) }, ledger.stakeOf(cr.self, block.round))!;
    return { round: block.round, period: 0, step: Step.cert, value: block.hash, credential, signature: cr.sign(voteSigningBytes(cr.self, block.round, 0, Step.cert, block.hash)) };
  });
  return { round: block.round, period: 0, value: block.hash, votes, equivocations: [] };
}

/** Assembles, validates and commits a block of `txs` with a real certificate. */
export async function finalize(ledger: Ledger, c: Committee, txs: SignedTransaction[]): Promise<{ block: Block; included: SignedTransaction[] }> {
  const round = ledger.tip().round + 1;
  const { body, payload } = await ledger.assemble(round, txs);
  const block = blockOn(ledger, c, body);
  const v = await ledger.validate(block, payload);
  if (!v.valid) throw new Error(`own block invalid: ${v.reason}`);
  await ledger.commit(block, certify(ledger, c, block), payload);
  return { block, included: payload.txs };
}

/** The checkpoint a peer would serve for the ledger's tip: its header, certificate and `depth` headers before it. */
export async function checkpointOf(ledger: Ledger, depth = 8): Promise<Checkpoint> {
  const round = ledger.tip().round;
  const top = (await ledger.certifiedBlock(round))!;
  const ancestors: BlockHeader[] = [];
  for (let r = round - 1; r >= 0 && r >= round - depth; r--) ancestors.push((await ledger.certifiedBlock(r))!.block.header!);
  return { header: top.block.header!, certificate: top.certificate as PbCertificate, ancestors };
}

export { certificateToProto, headerOf, fromHex };
