// A small audited world for rewards tests: storers holding real files (replica and file Merkle trees
// built from the bytes, answers signed as the storer signs them), an audited block's NewChunks with
// their commitments, a rewards verifier, and the RewardContext the ledger would give.
import type { NewChunks } from '../../../gen/wolk/common/v1/chain.js';
import type { FileAudit, ShareProof, StorageCommitment } from '../../../gen/wolk/common/v1/storage.js';
import type { SignedTransaction, Transaction, Reward } from '../../../gen/wolk/common/v1/tx.js';
import { auditIndices, shareDigest, signFileAudit, signShareProof } from '../../../lib/chain/commitment.js';
import { DEFAULT_REWARD_PARAMS, objectChallenge, proveVerifier, type ObjectOutcome, type RewardContext, type RewardParams } from '../../../lib/chain/reward.js';
import { SignDomain, sign, sha256 } from '../../../lib/crypto/index.js';
import { nodeKeyFromSeeds, type NodeKey } from '../../../lib/identity/node-key.js';
import { hashFile, leafHash, MerkleTree, replicaLeafHash, replicaRootOf } from '../../../lib/merkle/index.js';
import type { TestChain } from '../indexer/chain.js';

export const newKey = (): NodeKey => seeded.nodeKey();
const buf = (b: Uint8Array) => Buffer.from(b);
const CHUNK = 4096;

export interface HeldFile {
  readonly bytes: Uint8Array;
  readonly filehash: Uint8Array;
  readonly size: number;
}

export function makeFile(size: number): HeldFile {
  const bytes = new Uint8Array(seeded.bytes(size));
  const d = hashFile(bytes, CHUNK);
  return { bytes, filehash: d.filehash, size };
}

function chunks(f: HeldFile): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o < Math.max(f.size, 1); o += CHUNK) out.push(f.bytes.subarray(o, Math.min(o + CHUNK, f.size)));
  return out;
}

function replicaTree(storer: NodeKey, f: HeldFile): MerkleTree {
  return MerkleTree.fromLeaves(chunks(f).map((c, i) => replicaLeafHash(storer.signPublicKey, f.filehash, i, c)));
}

export function replicaRoot(storer: NodeKey, f: HeldFile): Uint8Array {
  return replicaRootOf(storer.signPublicKey, f.filehash, f.size, CHUNK, replicaTree(storer, f).root());
}

/** The storer's commitment fields the audit uses (VRF/signature are the ledger's concern at SetKey time). */
export function commitmentOf(storer: NodeKey, f: HeldFile): StorageCommitment {
  return {
    storerId: buf(storer.signPublicKey),
    vrfPublicKey: buf(storer.vrfPublicKey),
    vrf: { proof: Buffer.alloc(80), output: Buffer.alloc(64) },
    weight: 1,
    replicaRoot: buf(replicaRoot(storer, f)),
    filehash: buf(f.filehash),
    size: BigInt(f.size),
    chunkSize: CHUNK,
    seed: Buffer.alloc(32),
    seedRound: 0n,
    signature: Buffer.alloc(64),
  };
}

/** What an honest storer answers to VerifyFile (as services/storer/server.ts does). */
export function answerFile(storer: NodeKey, f: HeldFile, challenge: Uint8Array, k: number): FileAudit {
  const cs = chunks(f);
  const file = MerkleTree.fromLeaves(cs.map((c) => leafHash(c)));
  const rep = replicaTree(storer, f);
  const leafCount = cs.length;
  const leaves = auditIndices(challenge, leafCount, k).map((i) => {
    const at = { leafIndex: BigInt(i), leafCount: BigInt(leafCount) };
    return { chunk: buf(cs[i]!), replicaBranch: { ...at, siblings: rep.branch(i).map(buf) }, fileBranch: { ...at, siblings: file.branch(i).map(buf) } };
  });
  return signFileAudit({ storerId: buf(storer.signPublicKey), filehash: buf(f.filehash), replicaRoot: buf(replicaRoot(storer, f)), challenge: buf(challenge), k, leaves }, storer.signSecretKey);
}

export function answerShare(storer: NodeKey, chunk: Uint8Array, nonce: Uint8Array): ShareProof {
  return signShareProof({ chunkId: buf(sha256(chunk)), storerId: buf(storer.signPublicKey), nonce: buf(nonce), digest: buf(shareDigest(nonce, storer.signPublicKey, chunk)) }, storer.signSecretKey);
}

export interface World {
  readonly storers: NodeKey[];
  readonly files: HeldFile[];
  readonly chunk: Uint8Array;
  readonly newChunks: NewChunks;
  readonly verifier: NodeKey;
  readonly params: RewardParams;
  readonly auditedRound: number;
  readonly rewardRound: number;
  readonly seeds: Map<number, Uint8Array>;
  readonly prevSeed: Uint8Array;
  context(over?: Partial<RewardContext>): RewardContext;
  /** Honest outcomes for every (storer, object), with `override` deciding some as invalid/unreachable. */
  outcomes(override?: (storer: number, kind: 'file' | 'chunk', index: number) => 'invalid' | 'unreachable' | undefined): ObjectOutcome[];
  /** A signed Reward transaction from `sender` (default the verifier). */
  tx(r: Reward, sender?: NodeKey): SignedTransaction;
}

/** 3 storers × 2 files; storer 0 also holds the block's chunk set of 1 chunk; verifier selected with certainty. */
export function makeWorld(): World {
  const storers = [newKey(), newKey(), newKey()];
  const files = [makeFile(3 * CHUNK + 100), makeFile(CHUNK)];
  const chunk = new Uint8Array(seeded.bytes(CHUNK));
  const params: RewardParams = { ...DEFAULT_REWARD_PARAMS, auditDepth: 4, expectedVerifiers: 10 };
  const newChunks: NewChunks = {
    chunkIds: [buf(sha256(chunk))],
    files: files.map((f) => ({ file: { filehash: buf(f.filehash), size: BigInt(f.size), chunkSize: CHUNK }, commitments: storers.map((s) => commitmentOf(s, f)) })),
    chunkCommitments: [{ ...commitmentOf(storers[0]!, files[0]!), filehash: Buffer.alloc(32, 7) }],
    repairedChunkSets: [],
  };
  const verifier = newKey();
  const auditedRound = 6;
  const rewardRound = auditedRound + params.auditDepth;
  const seeds = new Map<number, Uint8Array>();
  for (let r = 0; r <= rewardRound + 20; r++) seeds.set(r, new Uint8Array(seeded.bytes(32)));
  const prevSeed = seeds.get(rewardRound - 1)!;
  const registry = new Map([[Buffer.from(verifier.signPublicKey).toString('hex'), { vrfPublicKey: verifier.vrfPublicKey, stake: 10n }]]);
  const context = (over: Partial<RewardContext> = {}): RewardContext => ({
    round: rewardRound,
    params,
    seedAt: (r) => seeds.get(r) ?? null,
    newChunksAt: (r) => (r === auditedRound ? newChunks : null),
    lookupVerifier: (id) => registry.get(Buffer.from(id).toString('hex')),
    totalVerifierStake: 10n,
    ...over,
  });
  const outcomes: World['outcomes'] = (override = () => undefined) => {
    const out: ObjectOutcome[] = [];
    storers.forEach((s, si) => {
      files.forEach((f, fi) => {
        const o = override(si, 'file', fi);
        if (o) out.push({ kind: 'file', storerId: s.signPublicKey, objectId: f.filehash, outcome: o });
        else out.push({ kind: 'file', storerId: s.signPublicKey, objectId: f.filehash, outcome: 'valid', proof: answerFile(s, f, objectChallenge(prevSeed, auditedRound, f.filehash, s.signPublicKey), params.leavesPerFile) });
      });
    });
    const s0 = storers[0]!;
    const id = sha256(chunk);
    const o = override(0, 'chunk', 0);
    if (o) out.push({ kind: 'chunk', storerId: s0.signPublicKey, objectId: id, outcome: o });
    else out.push({ kind: 'chunk', storerId: s0.signPublicKey, objectId: id, outcome: 'valid', proof: answerShare(s0, chunk, objectChallenge(prevSeed, auditedRound, id, s0.signPublicKey)) });
    return out;
  };
  const tx: World['tx'] = (r, sender = verifier) => {
    const t: Transaction = { sender: buf(sender.signPublicKey), nonce: 0n, fee: 0n, chainId: 'wolk-test', body: { $case: 'reward', value: r } };
    return { tx: t, signature: buf(sign(SignDomain.Tx, sender.signSecretKey, (awaitEncode(t)))) };
  };
  return { storers, files, chunk, newChunks, verifier, params, auditedRound, rewardRound, seeds, prevSeed, context, outcomes, tx };
}

import { Transaction as TxMsg } from '../../../gen/wolk/common/v1/tx.js';
import { testRandom } from '../../helpers/seed.js';

/** Test data and keys, seeded (test/helpers/seed.ts): the same on every run with the same WOLK_TEST_SEED. */
const seeded = testRandom('unit/rewards/world.ts');
function awaitEncode(t: Transaction): Uint8Array {
  return TxMsg.encode(t).finish();
}

/** The verifier's credential for the world's reward round. */
export function credentialOf(w: World, key: NodeKey = w.verifier, round = w.rewardRound) {
  return proveVerifier(key.vrfSecretKey, w.seeds.get(round - 1)!, round, { stake: 10n, totalStake: 10n }, w.params.expectedVerifiers)!;
}

/**
 * A Rewarder's view of a test ledger: its tip, its certified blocks, nonce 0 (the ledger never includes
 * what is submitted) and `submit` as the test records it.
 */
export function ledgerChainSource(chain: TestChain, submit: (stx: SignedTransaction) => Promise<Uint8Array>) {
  return { finalizedRound: async () => chain.ledger.tip().round, block: (r: number) => chain.certified(r), nonceOf: async () => 0n, submit };
}
