// The auditor with sealed replicas: a file whose commitment carries a SealedReplica is audited with
// VerifyFile AND ProveReplica (a fresh challenge of the verifier's own, verified with lib/chain/sealed
// verifyReplicaAudit against comm_r) under the deadline. An honest sealed storer is valid; one that
// answers from another identity's replica is invalid at once; one that only answers ProveReplica
// after the deadline (regenerating) is contained and then failed.
import test from 'ava';
import type { NewChunks } from '../../../gen/wolk/common/v1/chain.js';
import type { ReplicaAudit, StorageCommitment } from '../../../gen/wolk/common/v1/storage.js';
import { auditProofToProto, sealProofToProto, signReplicaAudit } from '../../../lib/chain/sealed.js';
import { DEFAULT_REWARD_PARAMS } from '../../../lib/chain/reward.js';
import { MemoryLayerStore, chunkSetDataBytes, chunkSetDataSource, commitReplica, fileDataSource, proveAudit, proveSeal, replicaIdOf, seal, xorNodes, type CommittedReplica } from '../../../lib/porep/index.js';
import type { NodeKey } from '../../../lib/identity/node-key.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { runAudit, type SealAnswer, type SealChecks, type StorerProber } from '../../../services/rewards/auditor.js';
import { kvContainmentStore, systemClock } from '../../../services/rewards/containment.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';
import { answerFile, answerShare, commitmentOf, makeFile, newKey, type HeldFile } from './world.js';
import { sha256 } from '../../../lib/crypto/hash.js';

logSeedOnFailure(test);
const seeded = testRandom('unit/rewards/replica-audit.test.ts');
const LAYERS = 2;
const K = 8;

interface SealedCopy {
  readonly sealed: Awaited<ReturnType<typeof seal>>;
  readonly committed: CommittedReplica;
  readonly commitment: StorageCommitment;
}

/** A storer's sealed copy of a file as its own sector (first node 0) and its commitment. */
async function sealFor(storer: NodeKey, f: HeldFile): Promise<SealedCopy> {
  const sectorId = seeded.bytes(32);
  const sectorSeed = seeded.bytes(32);
  const store = new MemoryLayerStore();
  const sealed = await seal({ replicaId: replicaIdOf(storer.signPublicKey, sectorId, sectorSeed), data: f.bytes, layers: LAYERS, store });
  const committed = await commitReplica(store, sealed.replica, LAYERS);
  const cm = committed.commitment;
  const commitment: StorageCommitment = {
    ...commitmentOf(storer, f),
    sealed: {
      sectorId: Buffer.from(sectorId),
      sectorSeed: Buffer.from(sectorSeed),
      sectorNodes: BigInt(sealed.nodes),
      layers: LAYERS,
      firstNode: 0n,
      commC: Buffer.from(cm.commC),
      commRLast: Buffer.from(cm.commRLast),
      commR: Buffer.from(cm.commR),
    },
  };
  return { sealed, committed, commitment };
}

/** One runAudit of a block's files with K replica challenges, a seeded challenge and fresh containment state. */
function auditOnce(o: { round: number; newChunks: NewChunks; prober: StorerProber; perStorerTimeoutMs: number; deadlineMs: number; maxRetries: number; sealChecks?: SealChecks }) {
  return runAudit({
    auditedRound: o.round,
    challengeSeed: seeded.bytes(32),
    newChunks: o.newChunks,
    verifier: { vrf: undefined, weight: 0, publicKey: Buffer.alloc(0) },
    params: { ...DEFAULT_REWARD_PARAMS, auditDepth: 2 },
    prober: o.prober,
    perStorerTimeoutMs: o.perStorerTimeoutMs,
    replicaAuditChallenges: K,
    ...(o.sealChecks ? { sealChecks: o.sealChecks } : {}),
    containment: { policy: { deadlineMs: o.deadlineMs, chunkAllowanceMs: 0, maxRetries: o.maxRetries, retryDelayMs: 10 }, clock: systemClock, store: kvContainmentStore(createMemoryKv()), random: (n) => seeded.bytes(n) },
  });
}

/** ProveReplica as the storer answers it, from `copy` (its own, or another identity's). */
function answerReplica(storer: NodeKey, f: HeldFile, copy: SealedCopy, challenge: Uint8Array, k: number): ReplicaAudit {
  const cm = copy.committed.commitment;
  const proof = proveAudit(copy.sealed.replica, copy.committed.treeR, cm.commC, cm.commR, challenge, k);
  return signReplicaAudit({ storerId: Buffer.from(storer.signPublicKey), filehash: Buffer.from(f.filehash), commR: Buffer.from(cm.commR), challenge: Buffer.from(challenge), k, proof: auditProofToProto(proof) }, storer.signSecretKey);
}

test('sealed files: honest is valid; answering from another identity\'s replica is invalid at once; regenerating past the deadline is contained, then failed', async (t) => {
  const f = makeFile(3000);
  const [honest, sybil, slow] = [newKey(), newKey(), newKey()];
  const copies = new Map<NodeKey, SealedCopy>();
  for (const s of [honest, sybil, slow]) copies.set(s, await sealFor(s, f));
  const nc: NewChunks = {
    chunkIds: [],
    chunkCommitments: [],
    repairedChunkSets: [],
    files: [{ file: { filehash: Buffer.from(f.filehash), size: BigInt(f.size), chunkSize: 4096 }, commitments: [...copies.values()].map((c) => c.commitment) }],
  };
  const byId = (id: Uint8Array) => [honest, sybil, slow].find((s) => Buffer.from(s.signPublicKey).equals(Buffer.from(id)))!;
  const replicaAsks = new Map<NodeKey, Buffer[]>();
  const prober: StorerProber = {
    async verifyFile(id, _fh, challenge, k) {
      return answerFile(byId(id), f, challenge, k);
    },
    async verifyShare() {
      throw new Error('no chunks here');
    },
    async proveReplica(id, _fh, challenge, k, signal) {
      const s = byId(id);
      replicaAsks.set(s, [...(replicaAsks.get(s) ?? []), Buffer.from(challenge)]);
      // The sybil holds the honest storer's replica only, and answers with it under its own name.
      if (s === sybil) return answerReplica(sybil, f, copies.get(honest)!, challenge, k);
      if (s === slow) await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, 1500);
        signal.addEventListener('abort', () => (clearTimeout(timer), reject(new Error('cancelled'))), { once: true });
      });
      return answerReplica(s, f, copies.get(s)!, challenge, k);
    },
  };
  const { outcomes } = await auditOnce({ round: 3, newChunks: nc, prober, perStorerTimeoutMs: 5000, deadlineMs: 400, maxRetries: 2 });
  const of = (s: NodeKey) => outcomes.find((o) => Buffer.from(o.storerId).equals(Buffer.from(s.signPublicKey)))!;
  t.is(of(honest).outcome, 'valid');
  t.is(of(sybil).outcome, 'invalid');
  t.regex((of(sybil) as { reason: string }).reason, /replica audit: .*comm_r/);
  t.is(replicaAsks.get(sybil)!.length, 1, 'a wrong replica answer is not re-audited');
  t.is(of(slow).outcome, 'invalid');
  t.regex((of(slow) as { reason: string }).reason, /no answer within the 400 ms deadline in 3 audits/);
  const asks = replicaAsks.get(slow)!;
  t.is(asks.length, 3, 'asked, then re-audited twice');
  t.is(new Set(asks.map((c) => c.toString('hex'))).size, 3, 'every replica audit on a fresh challenge');
});

/** ProveSeal as the storer answers it, from its copy; `plain` copies are "sealed" without the labels. */
async function answerSeal(copy: SealedCopy & { store: MemoryLayerStore }, f: HeldFile, challenge: Uint8Array, k: number): Promise<SealAnswer> {
  const cm = copy.committed.commitment;
  const proof = await proveSeal(
    { layers: LAYERS, store: copy.store, replica: copy.sealed.replica, sectorNodes: copy.sealed.nodes, first: 0, treeC: copy.committed.treeC, treeR: copy.committed.treeR, commitment: cm, data: fileDataSource(f.bytes) },
    challenge,
    k,
  );
  return { sealed: copy.commitment.sealed, proof: sealProofToProto(proof) };
}

/** A storer's copy as sealFor, or a wrong sealer's: a "replica" that is the plain data (no labels XORed). */
async function copyFor(storer: NodeKey, f: HeldFile, plain: boolean): Promise<SealedCopy & { store: MemoryLayerStore }> {
  const sectorId = seeded.bytes(32);
  const sectorSeed = seeded.bytes(32);
  const store = new MemoryLayerStore();
  const honest = await seal({ replicaId: replicaIdOf(storer.signPublicKey, sectorId, sectorSeed), data: f.bytes, layers: LAYERS, store });
  const sealed = plain ? { ...honest, replica: xorNodes(f.bytes, new Uint8Array(honest.replica.length)) } : honest;
  const committed = await commitReplica(store, sealed.replica, LAYERS);
  const cm = committed.commitment;
  const commitment: StorageCommitment = {
    ...commitmentOf(storer, f),
    sealed: { sectorId: Buffer.from(sectorId), sectorSeed: Buffer.from(sectorSeed), sectorNodes: BigInt(sealed.nodes), layers: LAYERS, firstNode: 0n, commC: Buffer.from(cm.commC), commRLast: Buffer.from(cm.commRLast), commR: Buffer.from(cm.commR) },
  };
  return { sealed, committed, commitment, store };
}

test('seal checks: a wrong sealer (plain data under its comm_r) passes the replica audit but its seal proof is refused; an honest seal is asked once; an unreachable ProveSeal is asked again', async (t) => {
  const f = makeFile(5000);
  const [honest, wrong, away] = [newKey(), newKey(), newKey()];
  const copies = new Map<NodeKey, SealedCopy & { store: MemoryLayerStore }>([
    [honest, await copyFor(honest, f, false)],
    [wrong, await copyFor(wrong, f, true)],
    [away, await copyFor(away, f, false)],
  ]);
  const byId = (id: Uint8Array) => [...copies.keys()].find((s) => Buffer.from(s.signPublicKey).equals(Buffer.from(id)))!;
  const sealAsks = new Map<NodeKey, number>();
  const prober: StorerProber = {
    async verifyFile(id, _fh, challenge, k) {
      return answerFile(byId(id), f, challenge, k);
    },
    async verifyShare() {
      throw new Error('no chunks here');
    },
    async proveReplica(id, _fh, challenge, k) {
      const s = byId(id);
      return answerReplica(s, f, copies.get(s)!, challenge, k);
    },
    async proveSeal(id, _fh, challenge, k) {
      const s = byId(id);
      sealAsks.set(s, (sealAsks.get(s) ?? 0) + 1);
      if (s === away) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 14 });
      return answerSeal(copies.get(s)!, f, challenge, k);
    },
  };
  const nc: NewChunks = {
    chunkIds: [],
    chunkCommitments: [],
    repairedChunkSets: [],
    files: [{ file: { filehash: Buffer.from(f.filehash), size: BigInt(f.size), chunkSize: 4096 }, commitments: [...copies.values()].map((c) => c.commitment) }],
  };
  const sealChecks = { params: { sectorBytes: copies.get(honest)!.sealed.nodes * 32, layers: LAYERS, sealChallenges: 32, auditChallenges: K }, passed: new Set<string>() };
  const audit = (round: number) => auditOnce({ round, newChunks: nc, prober, perStorerTimeoutMs: 10_000, deadlineMs: 5000, maxRetries: 1, sealChecks });
  for (const round of [3, 4]) {
    const { outcomes } = await audit(round);
    const of = (s: NodeKey) => outcomes.find((o) => Buffer.from(o.storerId).equals(Buffer.from(s.signPublicKey)))!;
    t.is(of(honest).outcome, 'valid', `round ${round}: the honest sealer`);
    t.is(of(wrong).outcome, 'invalid', `round ${round}: the wrong sealer`);
    t.regex((of(wrong) as { reason: string }).reason, /^seal proof refused: /);
    t.is(of(away).outcome, 'valid', `round ${round}: a storer whose ProveSeal could not be reached keeps its replica audit's verdict`);
  }
  t.is(sealAsks.get(honest), 1, 'a passed seal proof is not asked again');
  t.is(sealAsks.get(wrong), 2, 'a refused one is asked at every audit');
  t.is(sealAsks.get(away), 2, 'an unanswered one is asked again');
});

test('sealed chunk sets: an honest committer\'s chunks are valid; one answering from another identity\'s replica, or whose seal proof is refused, has every chunk of the set invalid; one seal proof per storer and set', async (t) => {
  // A block's set: small state nodes and one 5000-byte chunk, sealed in slots of 8192 bytes (docs/porep.md "Block chunk sets").
  const chunks = Array.from({ length: 6 }, (_, i) => seeded.bytes(i === 3 ? 5000 : 100 + i));
  const C = 8192;
  const slots = new Uint8Array(chunkSetDataBytes(chunks.length, C));
  chunks.forEach((c, j) => slots.set(c, j * C));
  const setHash = seeded.bytes(32);
  const slotFile: HeldFile = { ...makeFile(100), bytes: slots };
  const [honest, sybil, wrong] = [newKey(), newKey(), newKey()];
  type ChunkCopy = SealedCopy & { store: MemoryLayerStore };
  const copyOf = async (storer: NodeKey, plain: boolean): Promise<ChunkCopy> => {
    const sectorId = seeded.bytes(32);
    const sectorSeed = seeded.bytes(32);
    const store = new MemoryLayerStore();
    const real = await seal({ replicaId: replicaIdOf(storer.signPublicKey, sectorId, sectorSeed), data: slots, layers: LAYERS, store });
    const sealed = plain ? { ...real, replica: xorNodes(slots, new Uint8Array(real.replica.length)) } : real;
    const committed = await commitReplica(store, sealed.replica, LAYERS);
    const cm = committed.commitment;
    const commitment: StorageCommitment = {
      ...commitmentOf(storer, slotFile),
      filehash: Buffer.from(setHash),
      size: BigInt(chunks.reduce((n, c) => n + c.length, 0)),
      chunkSize: C,
      sealed: { sectorId: Buffer.from(sectorId), sectorSeed: Buffer.from(sectorSeed), sectorNodes: BigInt(sealed.nodes), layers: LAYERS, firstNode: 0n, commC: Buffer.from(cm.commC), commRLast: Buffer.from(cm.commRLast), commR: Buffer.from(cm.commR) },
    };
    return { sealed, committed, commitment, store };
  };
  const copies = new Map<NodeKey, ChunkCopy>([
    [honest, await copyOf(honest, false)],
    [sybil, await copyOf(sybil, false)],
    [wrong, await copyOf(wrong, true)],
  ]);
  const byId = (id: Uint8Array) => [...copies.keys()].find((s) => Buffer.from(s.signPublicKey).equals(Buffer.from(id)))!;
  const byChunk = new Map(chunks.map((c) => [Buffer.from(sha256(c)).toString('hex'), c]));
  const sealAsks = new Map<NodeKey, number>();
  const replicaAsks = new Map<NodeKey, number>();
  const setAudit = (storer: NodeKey, copy: ChunkCopy, challenge: Uint8Array, k: number): ReplicaAudit => {
    const cm = copy.committed.commitment;
    const proof = proveAudit(copy.sealed.replica, copy.committed.treeR, cm.commC, cm.commR, challenge, k);
    return signReplicaAudit({ storerId: Buffer.from(storer.signPublicKey), filehash: Buffer.from(setHash), commR: Buffer.from(cm.commR), challenge: Buffer.from(challenge), k, proof: auditProofToProto(proof) }, storer.signSecretKey);
  };
  const prober: StorerProber = {
    async verifyFile() {
      throw new Error('no files here');
    },
    async verifyShare(id, chunkId, nonce) {
      return answerShare(byId(id), byChunk.get(Buffer.from(chunkId).toString('hex'))!, nonce);
    },
    async verifyShares(id, asked) {
      return asked.map(({ chunkId, nonce }) => ({ proof: answerShare(byId(id), byChunk.get(Buffer.from(chunkId).toString('hex'))!, nonce) }));
    },
    async proveReplica(id, fh, challenge, k) {
      const s = byId(id);
      t.true(Buffer.from(fh).equals(Buffer.from(setHash)), 'the set is named by its new_chunks_hash');
      replicaAsks.set(s, (replicaAsks.get(s) ?? 0) + 1);
      // The sybil holds the honest storer's sealed set only, and answers with it under its own name.
      return setAudit(s, copies.get(s === sybil ? honest : s)!, challenge, k);
    },
    async proveSeal(id, _fh, challenge, k) {
      const s = byId(id);
      sealAsks.set(s, (sealAsks.get(s) ?? 0) + 1);
      const copy = copies.get(s)!;
      const cm = copy.committed.commitment;
      const proof = await proveSeal(
        { layers: LAYERS, store: copy.store, replica: copy.sealed.replica, sectorNodes: copy.sealed.nodes, first: 0, treeC: copy.committed.treeC, treeR: copy.committed.treeR, commitment: cm, data: chunkSetDataSource(chunks.length, C, (j) => chunks[j]!) },
        challenge,
        k,
      );
      return { sealed: copy.commitment.sealed, proof: sealProofToProto(proof) };
    },
  };
  const nc: NewChunks = { chunkIds: chunks.map((c) => Buffer.from(sha256(c))), files: [], chunkCommitments: [...copies.values()].map((c) => c.commitment), repairedChunkSets: [] };
  const sealChecks = { params: { sectorBytes: copies.get(honest)!.sealed.nodes * 32, layers: LAYERS, sealChallenges: 32, auditChallenges: K }, passed: new Set<string>() };
  const { outcomes } = await auditOnce({ round: 5, newChunks: nc, prober, perStorerTimeoutMs: 10_000, deadlineMs: 5000, maxRetries: 1, sealChecks });
  const of = (s: NodeKey) => outcomes.filter((o) => Buffer.from(o.storerId).equals(Buffer.from(s.signPublicKey)));
  t.deepEqual(of(honest).map((o) => o.outcome), Array(chunks.length).fill('valid'), 'the honest committer: every chunk');
  t.deepEqual(of(sybil).map((o) => o.outcome), Array(chunks.length).fill('invalid'), 'the sybil: every chunk of the set');
  t.regex((of(sybil)[0] as { reason: string }).reason, /^replica audit: .*comm_r/);
  t.deepEqual(of(wrong).map((o) => o.outcome), Array(chunks.length).fill('invalid'), 'the wrong sealer: every chunk of the set');
  t.regex((of(wrong)[0] as { reason: string }).reason, /^seal proof refused: /);
  t.is(sealAsks.get(honest), 1, 'one seal proof for the honest storer\'s whole set');
  t.is(sealAsks.get(wrong), 1, 'one for the wrong sealer\'s, refused for every chunk');
  t.is(sealAsks.get(sybil), undefined, 'a set whose replica audit failed is not asked for its seal');
  t.is(replicaAsks.get(honest), 1, 'the set fits one batch: one replica audit');
});
