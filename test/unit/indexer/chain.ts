// A real chain for indexer and rewards tests: blocks assembled, validated and committed by the real
// ledger (services/consensus/ledger) with certificates of real cert votes (VRF credentials and Ed25519
// signatures of the genesis committee, made by the production AgreementCrypto), as StreamBlocks sends them.
import type { CertifiedBlock } from '../../../gen/wolk/common/v1/chain.js';
import type { SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import type { FileInfo, StorageCommitment } from '../../../gen/wolk/common/v1/storage.js';
import { nodesWithRole } from '../../../lib/chain/genesis.js';
import { fromHex } from '../../../lib/crypto/index.js';
import { blockHash, voteSigningBytes } from '../../../services/consensus/agreement/codec.js';
import { createAgreementCrypto } from '../../../services/consensus/agreement/crypto.js';
import { smallNetworkParams } from '../../../services/consensus/agreement/params.js';
import { Step, type AgreementCrypto, type Block, type Vote } from '../../../services/consensus/agreement/types.js';
import type { Ledger } from '../../../services/consensus/ledger/ledger.js';
import { commitment, fileInfo, makeNet, newUser, openLedger, setBucket, setKey, setName, type Net, type User } from '../consensus/ledger-fixture.js';
import { testRandom } from '../../helpers/seed.js';

/** Test data and keys, seeded (test/helpers/seed.ts): the same on every run with the same WOLK_TEST_SEED. */
const seeded = testRandom('unit/indexer/chain.ts');

export interface TestChain {
  readonly net: Net;
  readonly ledger: Ledger;
  /** Finalizes a block of `txs` (all must be valid) with a certificate of `voters` cert votes (default 3 of 4). */
  finalize(txs: SignedTransaction[], voters?: number): Promise<CertifiedBlock>;
  /** The certified block at a round, as StreamBlocks sends it. */
  certified(round: number): Promise<CertifiedBlock>;
  /** N = 3 valid commitments for `file` on the latest seed. */
  commitments(file: FileInfo, storers?: number[]): StorageCommitment[];
}

export async function makeChain(opts: Parameters<typeof makeNet>[0] = {}): Promise<TestChain> {
  const net = makeNet(opts);
  const ledger = await openLedger(net);
  const committee = nodesWithRole(net.genesis, 'consensus');
  const directory = new Map(committee.nodes.map((n) => [n.id, { vrf: fromHex(n.vrfPublicKey), sign: fromHex(n.id) }]));
  const dir = { vrfPublicKey: (v: string) => directory.get(v)?.vrf ?? null, signPublicKey: (v: string) => directory.get(v)?.sign ?? null };
  const cryptos: AgreementCrypto[] = net.consensus.map((k) => createAgreementCrypto({ voterId: k.id, vrfSecretKey: k.vrfSecretKey, signSecretKey: k.signSecretKey }, dir));
  const params = smallNetworkParams(committee.totalStake);

  async function certified(round: number): Promise<CertifiedBlock> {
    const b = (await ledger.certifiedBlock(round))!;
    return { block: b.block, certificate: b.certificate, blockHash: Buffer.alloc(0) };
  }

  return {
    net,
    ledger,
    certified,
    async finalize(txs, voters = 3) {
      const tip = ledger.tip();
      const round = tip.round + 1;
      const { body, payload, rejected } = await ledger.assemble(round, txs);
      if (rejected.length > 0) throw new Error(`test chain: rejected ${rejected.map((r) => r.error.message).join('; ')}`);
      // Sortition decides who may propose and vote: take the first nodes it selects (keys are random,
      // so a fixed node is not always selected).
      const proposeCtx = { seed: tip.seed, round, period: 0, step: Step.propose, expectedSize: params.proposerSize, totalStake: committee.totalStake };
      const proposerIndex = cryptos.findIndex((c) => c.proveCredential(proposeCtx, 1000n) !== null);
      if (proposerIndex < 0) throw new Error(`test chain: sortition selected no proposer in round ${round}`);
      const proposer = cryptos[proposerIndex]!;
      const pcred = proposer.proveCredential(proposeCtx, 1000n)!;
      const b: Omit<Block, 'hash'> = { round, prevHash: tip.hash, seed: new Uint8Array(seeded.bytes(32)), proposer: proposer.self, period: 0, credential: pcred, body };
      const block: Block = { ...b, hash: blockHash(proposer, b) };
      const v = await ledger.validate(block, payload);
      if (!v.valid) throw new Error(`test chain: own block invalid: ${v.reason}`);
      const certCtx = { seed: tip.seed, round, period: 0, step: Step.cert, expectedSize: params.cert.size, totalStake: committee.totalStake };
      const votes: Vote[] = cryptos
        .map((c) => ({ c, credential: c.proveCredential(certCtx, 1000n) }))
        .filter((x) => x.credential !== null)
        .slice(0, voters)
        .map(({ c, credential }) => ({ round, period: 0, step: Step.cert, value: block.hash, credential: credential!, signature: c.sign(voteSigningBytes(c.self, round, 0, Step.cert, block.hash)) }));
      const cert = { round, period: 0, value: block.hash, votes, equivocations: [] };
      await ledger.commit(block, cert, payload);
      return certified(round);
    },
    commitments(file, storers = [0, 1, 2]) {
      const seedRound = ledger.tip().round;
      const seed = ledger.seedAt(seedRound)!;
      const total = nodesWithRole(net.genesis, 'storer').totalStake;
      return storers.map((i) => commitment(net.storers[i]!, file, seed, seedRound, total));
    },
  };
}

/** A user who owns `name` with collection `collection` (two blocks). */
export async function userWithBucket(chain: TestChain, name: string, collection: string): Promise<User> {
  const u = newUser();
  await chain.finalize([setName(u, name)]);
  await chain.finalize([setBucket(u, name, collection)]);
  return u;
}

/** A SetKey of a fresh random file with 3 valid commitments. */
export function putKey(chain: TestChain, user: User, owner: string, collection: string, key: string, file: FileInfo = fileInfo()): SignedTransaction {
  return setKey(user, chain.net.gateway, { owner, collection, key, file }, chain.commitments(file));
}

