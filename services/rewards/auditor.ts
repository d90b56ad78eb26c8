// The audit core (DESIGN §6): challenges every storer committed in the audited block's NewChunks, with
// challenges derived from the reward round's seed (lib/chain/reward.ts objectChallenge), a time box per
// storer, and checks each answer locally with the same verifiers consensus uses (lib/chain/commitment):
// a checked answer is valid, a wrong one invalid. Every audit call has a response deadline; a storer
// that misses it is contained and re-audited with fresh challenges (containment.ts) before the miss
// counts. Network, clock and randomness are injected.
// Every chunk of a committed chunk set is challenged (auditObjects pairs each chunk commitment with every
// chunk id), in VerifyShares batches of up to 1024 when the prober has them, before the files.
import type { NewChunks } from '../../gen/wolk/common/v1/chain.js';
import type { Credential } from '../../gen/wolk/common/v1/crypto.js';
import type { FileAudit, ReplicaAudit, SealedReplica, SealProof, ShareProof, StorageCommitment } from '../../gen/wolk/common/v1/storage.js';
import type { Reward } from '../../gen/wolk/common/v1/tx.js';
import { verifyFileAudit, verifyShareProof } from '../../lib/chain/commitment.js';
import { chunkSetDataBytes } from '../../lib/porep/index.js';
import { verifyChunkSetSealAnswer, verifyReplicaAudit, verifySealAnswer, type PorepNetworkParams } from '../../lib/chain/sealed.js';
import { DEFAULT_PARAMS as DEFAULT_POREP_PARAMS } from '../../lib/porep/params.js';
import { auditObjects, buildReward, objectChallenge, standingChallenge, type AuditObject, type ObjectOutcome, type RewardParams, type StandingResult } from '../../lib/chain/reward.js';
import type { StandingTarget } from '../../lib/chain/standing.js';
import { isVerdict } from '../../lib/grpc/errors.js';
import { createMemoryKv } from '../../lib/storage/memory.js';
import { randomBytes } from 'node:crypto';
import {
  DEFAULT_CONTAINMENT_POLICY,
  kvContainmentStore,
  runContained,
  systemClock,
  type AuditCall,
  type AuditClock,
  type ContainmentEvents,
  type ContainmentPolicy,
  type ContainmentStore,
  type ObjectRef,
  type Verdicts,
} from './containment.js';

/** How the auditor reaches storers (gRPC StorerService in production, fakes in tests). */
export interface StorerProber {
  verifyFile(storerId: Uint8Array, filehash: Uint8Array, challenge: Uint8Array, k: number, signal: AbortSignal): Promise<FileAudit>;
  verifyShare(storerId: Uint8Array, chunkId: Uint8Array, nonce: Uint8Array, signal: AbortSignal): Promise<ShareProof>;
  /**
   * VerifyShare for up to SHARE_BATCH chunks in one call (StorerService.VerifyShares), answers in
   * order: a proof, or `notFound` with the storer's reason. Optional: without it, one call per chunk.
   */
  verifyShares?(storerId: Uint8Array, challenges: readonly { chunkId: Uint8Array; nonce: Uint8Array }[], signal: AbortSignal): Promise<({ proof: ShareProof } | { notFound: string })[]>;
  /**
   * StorerService.ProveReplica: k nodes of the storer's sealed replica of a file opened against its
   * comm_r (docs/porep.md "Audit proof"). Optional: without it, sealed files are audited by VerifyFile alone.
   */
  proveReplica?(storerId: Uint8Array, filehash: Uint8Array, challenge: Uint8Array, k: number, signal: AbortSignal): Promise<ReplicaAudit>;
  /**
   * StorerService.ProveSeal: the proof that the storer's committed replica is a correct sealing of the
   * file (docs/porep.md "Seal proof"). Optional: without it, seals are not checked here.
   */
  proveSeal?(storerId: Uint8Array, filehash: Uint8Array, challenge: Uint8Array, k: number, signal: AbortSignal): Promise<SealAnswer>;
}

/** A ProveSeal answer (StorerService.ProveSealResponse). */
export interface SealAnswer {
  readonly sealed?: SealedReplica | undefined;
  readonly proof?: SealProof | undefined;
}

/**
 * Seal checks of sealed commitments (docs/rewards.md "Sealed files"). The replica audit only shows the
 * storer holds nodes that open its comm_r; that those nodes are a correct sealing of the file, bound to
 * its id, is what a seal proof shows. Consensus verifiers ask one storer per file before the cert vote
 * and move on to the next when a seal proof fails, so a wrong sealer's commitment (over plain data,
 * fewer layers, another identity's replica) can still reach the chain; the auditor asks every sealed
 * (storer, file) for a seal proof on a fresh challenge once, and a refused proof makes the audit invalid.
 * Not under the response deadline: a seal proof proves how the replica was made, not that it is at hand.
 */
export interface SealChecks {
  readonly params: PorepNetworkParams;
  /** storer id hex ‖ filehash hex of commitments whose seal proof passed (bounded; oldest forgotten first). */
  readonly passed: Set<string>;
}

/** Passed seal checks remembered (a few MB); a forgotten one is asked again at its next audit. */
export const SEAL_CHECKS_REMEMBERED = 100_000;

/** Chunks challenged per VerifyShares call (storer.proto allows 1024). */
export const SHARE_BATCH = 1024;

/**
 * An error answer means the storer answered (invalid): a verdict (lib/grpc/errors.ts isVerdict, e.g.
 * NOT_FOUND). No answer in time, or an outage (unreachable, overloaded, failed internally), means
 * unreachable; so does the time box cutting the call off.
 */
const answered = isVerdict;

export interface AuditInput {
  readonly auditedRound: number;
  /** seed(R − 1): the challenge seed. */
  readonly challengeSeed: Uint8Array;
  readonly newChunks: NewChunks;
  readonly verifier: Credential;
  readonly params: RewardParams;
  readonly prober: StorerProber;
  /** Time box per storer for its first audit of every object, ms; containment adds its own bounded time. */
  readonly perStorerTimeoutMs: number;
  /**
   * Response deadline and containment (containment.ts). Default: DEFAULT_CONTAINMENT_POLICY, the
   * system clock, an in-memory store (the Rewarder passes its RocksDB one) and node:crypto randomness.
   */
  readonly containment?: AuditContainment;
  /** Replica nodes a ProveReplica audit opens (genesis params.porep.auditChallenges; default lib/porep's 16). */
  readonly replicaAuditChallenges?: number;
  /** Seal proofs of sealed commitments, asked once per (storer, file); none without. */
  readonly sealChecks?: SealChecks;
  /**
   * Standing audits of the reward round (lib/chain/standing.ts standingSelection, in its order): each
   * storer's key file challenged like a block file (same deadline, containment, replica and seal
   * checks), on the standing challenge of reward round R = auditedRound + Q.
   */
  readonly standing?: readonly StandingTarget[];
  readonly signal?: AbortSignal;
}

export interface AuditContainment {
  readonly policy: ContainmentPolicy;
  readonly clock: AuditClock;
  readonly store: ContainmentStore;
  /** Fresh challenges for re-audits: bytes the storer cannot predict. */
  readonly random: (n: number) => Uint8Array;
  readonly events?: ContainmentEvents;
}

export interface AuditResult {
  readonly reward: Reward;
  readonly outcomes: readonly ObjectOutcome[];
  /** The standing audits' results, in the selection's order. */
  readonly standing: readonly StandingResult[];
}

/** An object of a storer's audit: one of the audited block's, or a standing audit's file (with its target). */
type Audited = AuditObject & { readonly standing?: StandingTarget };

/** Time containment may add to a storer's audit: every re-audit's pause and deadline. */
export function containmentBudgetMs(p: ContainmentPolicy, batchChunks = 0): number {
  return p.maxRetries * (p.retryDelayMs + p.deadlineMs + p.chunkAllowanceMs * batchChunks);
}

function memoryContainmentStore(): ContainmentStore {
  return kvContainmentStore(createMemoryKv());
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

type Proof = { kind: 'file'; audit: FileAudit } | { kind: 'chunk'; proof: ShareProof };

/** Items by the chunk set they are of (`filehashOf`: their commitment's filehash, its block's new_chunks_hash), each set in order. */
function setsOf<T>(items: readonly T[], filehashOf: (x: T) => Uint8Array): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const x of items) {
    const k = hex(filehashOf(x));
    let set = out.get(k);
    if (!set) out.set(k, (set = []));
    set.push(x);
  }
  return out;
}

/**
 * The seal check of one sealed commitment (SealChecks): null when it passed now or before, when the
 * network does not seal, or when the storer could not be asked (no verdict: asked again next time); the
 * reason when the storer's answer is refused.
 */
async function checkSeal(a: AuditInput, storerId: Uint8Array, cm: StorageCommitment, random: (n: number) => Uint8Array, signal: AbortSignal, chunkIds?: readonly Uint8Array[]): Promise<string | null> {
  const checks = a.sealChecks;
  if (!cm.sealed || !checks || !a.prober.proveSeal) return null;
  const key = Buffer.from(storerId).toString('hex') + Buffer.from(cm.filehash).toString('hex');
  if (checks.passed.has(key)) return null;
  const challenge = random(32);
  const k = checks.params.sealChallenges;
  let answer: SealAnswer;
  try {
    answer = await a.prober.proveSeal(storerId, cm.filehash, challenge, k, signal);
  } catch (err) {
    return answered(err) ? `seal proof: ${(err as Error).message}` : null;
  }
  const v = chunkIds ? verifyChunkSetSealAnswer(cm, checks.params, chunkIds, challenge, k, answer) : verifySealAnswer(cm, checks.params, challenge, k, answer);
  if (!v.ok) return `seal proof refused: ${v.reason}`;
  checks.passed.add(key);
  for (const old of checks.passed) {
    if (checks.passed.size <= SEAL_CHECKS_REMEMBERED) break;
    checks.passed.delete(old);
  }
  return null;
}

export async function runAudit(a: AuditInput): Promise<AuditResult> {
  const c: AuditContainment = a.containment ?? { policy: DEFAULT_CONTAINMENT_POLICY, clock: systemClock, store: memoryContainmentStore(), random: (n) => new Uint8Array(randomBytes(n)) };
  const objects = new Map<string, { storerId: Uint8Array; objects: Audited[] }>(auditObjects(a.newChunks));
  for (const target of a.standing ?? []) {
    const k = Buffer.from(target.storerId).toString('hex');
    let e = objects.get(k);
    if (!e) objects.set(k, (e = { storerId: target.storerId, objects: [] }));
    e.objects.push({ kind: 'file', id: new Uint8Array(target.record.file!.filehash), commitment: target.commitment, standing: target });
  }
  const rewardRound = a.auditedRound + a.params.auditDepth;
  const standingOut = new Map<StandingTarget, StandingResult>();
  const perStorer = await Promise.all(
    [...objects.values()].map(async ({ storerId, objects: objs }) => {
      // The storer's chunk objects by chunk set (each set's size is its chunk count: a committer answers for all of it).
      const sets = setsOf(objs.filter((o) => o.kind === 'chunk'), (o) => o.commitment.filehash);
      const setSize = (filehash: Uint8Array) => sets.get(hex(filehash))?.length ?? 0;
      const chunkObjs = a.prober.verifyShares ? [...sets.values()].flat() : [];
      const largestBatch = Math.min(SHARE_BATCH, chunkObjs.length);
      // A referenced timer (AbortSignal.timeout's is unref'd and would not keep a lone audit alive).
      const timer = new AbortController();
      const handle = setTimeout(() => timer.abort(), a.perStorerTimeoutMs + containmentBudgetMs(c.policy, largestBatch));
      const box = AbortSignal.any([timer.signal, ...(a.signal ? [a.signal] : [])]);
      // A standing audit's object is named by its key's state key, so it never shares a containment
      // record with the same file audited in the block.
      const ref = (o: Audited): ObjectRef => ({ storerId, objectId: o.standing ? o.standing.stateKey : o.id, kind: o.kind, auditedRound: a.auditedRound });
      const canonical = (o: Audited) => (o.standing ? standingChallenge(a.challengeSeed, rewardRound, o.id, storerId) : objectChallenge(a.challengeSeed, a.auditedRound, o.id, storerId));
      // Attempt 0 asks the round's challenge (what the chain re-checks in a sample); re-audits of a
      // contained object ask fresh ones the storer cannot have prepared while it was late.
      const challengeFor = (o: Audited, attempt: number) => (attempt === 0 ? canonical(o) : c.random(32));

      // A sealed replica is also audited with ProveReplica, on a challenge of the verifier's own (never
      // sampled on chain, so always fresh), under the same deadline: a storer without its sealed replica
      // must regenerate the challenged nodes, which the deadline makes too slow. Null: passed or not sealed.
      const k = a.replicaAuditChallenges ?? DEFAULT_POREP_PARAMS.auditChallenges;
      const replicaAudit = async (cm: StorageCommitment, setChunks: number, signal: AbortSignal): Promise<string | null> => {
        if (!cm.sealed || !a.prober.proveReplica) return null;
        const sealedChallenge = c.random(32);
        const replica = await a.prober.proveReplica(storerId, cm.filehash, sealedChallenge, k, signal);
        // Only chunk-set commitments come here (a file's replica audit runs in askOne): its replica is the set's slots.
        const r = verifyReplicaAudit(replica, cm, sealedChallenge, k, chunkSetDataBytes(setChunks, cm.chunkSize));
        return r.ok ? null : `replica audit: ${r.reason}`;
      };
      const askShares = async (batch: readonly AuditObject[], setChunks: number, attempt: number, signal: AbortSignal): Promise<Verdicts<Proof>> => {
        const asked = batch.map((o) => ({ chunkId: o.id, nonce: challengeFor(o, attempt) }));
        // Every chunk of a batch is of one chunk set (setsOf below): a sealed set's replica is audited beside
        // each batch, and a failed replica audit fails the batch's chunks (the set is not held as sealed).
        const [answers, replicaRefused] = await Promise.all([a.prober.verifyShares!(storerId, asked, signal), batch.length > 0 ? replicaAudit(batch[0]!.commitment, setChunks, signal) : null]);
        if (replicaRefused !== null) return asked.map(() => ({ valid: false, reason: replicaRefused }));
        return asked.map(({ chunkId, nonce }, j) => {
          const ans = answers[j];
          if (!ans) return { valid: false, reason: 'no answer for this chunk in the batch' };
          if ('notFound' in ans) return { valid: false, reason: ans.notFound };
          const v = verifyShareProof(ans.proof, { chunkId, nonce, storerId });
          return v.ok ? { valid: true, proof: { kind: 'chunk', proof: ans.proof } } : { valid: false, reason: v.reason };
        });
      };
      const askOne = async (o: Audited, attempt: number, signal: AbortSignal): Promise<Verdicts<Proof>> => {
        const challenge = challengeFor(o, attempt);
        if (o.kind === 'file') {
          const cm = o.commitment;
          // A sealed replica is also audited with ProveReplica, on a challenge of the verifier's own
          // (never sampled on chain, so always fresh), under the same deadline: a storer without its
          // sealed replica must regenerate the challenged nodes, which the deadline makes too slow.
          const sealedChallenge = cm.sealed && a.prober.proveReplica ? c.random(32) : null;
          const [audit, replica] = await Promise.all([
            a.prober.verifyFile(storerId, o.id, challenge, a.params.leavesPerFile, signal),
            sealedChallenge ? a.prober.proveReplica!(storerId, o.id, sealedChallenge, k, signal) : null,
          ]);
          const v = verifyFileAudit(audit, { storerId, replicaRoot: cm.replicaRoot, filehash: cm.filehash, size: cm.size, chunkSize: cm.chunkSize }, challenge, a.params.leavesPerFile);
          if (!v.ok) return [{ valid: false, reason: v.reason }];
          if (replica && sealedChallenge) {
            const r = verifyReplicaAudit(replica, cm, sealedChallenge, k);
            if (!r.ok) return [{ valid: false, reason: `replica audit: ${r.reason}` }];
          }
          return [{ valid: true, proof: { kind: 'file', audit } }];
        }
        const [proof, replicaRefused] = await Promise.all([a.prober.verifyShare(storerId, o.id, challenge, signal), replicaAudit(o.commitment, setSize(o.commitment.filehash), signal)]);
        if (replicaRefused !== null) return [{ valid: false, reason: replicaRefused }];
        const v = verifyShareProof(proof, { chunkId: o.id, nonce: challenge, storerId });
        return [v.ok ? { valid: true, proof: { kind: 'chunk', proof } } : { valid: false, reason: v.reason }];
      };

      // Every chunk of each committed chunk set (the block's own, and sets a Repair in it restored: a
      // storer answers for all of a set's chunks, so the set's size is its count here), batched per set
      // (a block's set is thousands of chunks), then files.
      const calls: (AuditCall<Proof> & { objs: readonly Audited[] })[] = [];
      for (const set of a.prober.verifyShares ? sets.values() : []) {
        for (let i = 0; i < set.length; i += SHARE_BATCH) {
          const batch = set.slice(i, i + SHARE_BATCH);
          calls.push({ objs: batch, refs: batch.map(ref), deadlineMs: c.policy.deadlineMs + c.policy.chunkAllowanceMs * batch.length, ask: (attempt, signal) => askShares(batch, set.length, attempt, signal) });
        }
      }
      for (const o of objs) {
        if (o.kind === 'chunk' && a.prober.verifyShares) continue;
        calls.push({ objs: [o], refs: [ref(o)], deadlineMs: c.policy.deadlineMs, ask: (attempt, signal) => askOne(o, attempt, signal) });
      }
      const finals = await runContained<Proof>({ policy: c.policy, clock: c.clock, store: c.store, classify: (err) => (answered(err) ? 'answered' : 'offline'), events: c.events }, calls, box);

      const byRef = new Map(calls.flatMap((call) => call.refs.map((r, j) => [r, call.objs[j]!] as const)));
      // An object's final result: a pass after re-audits asks the round's own challenge once more (the
      // Reward carries that answer, which the chain re-derives), and a sealed file's seal is checked.
      type Final = { outcome: 'valid'; proof: Proof } | { outcome: 'invalid' | 'unreachable'; reason: string };
      // Chunks that passed a re-audit are asked the round's challenge again in batches, as in their first
      // audit: one call per chunk took a slow storer past its time box (49 chunks × its latency).
      // (Settled to a value, never rejected: they are awaited one by one below.)
      const again = new Map<ObjectRef, Promise<{ v: Verdicts<Proof>[number] | undefined } | { err: unknown }>>();
      if (a.prober.verifyShares) {
        const refs = finals.filter((f) => f.outcome === 'valid' && f.retries > 0 && byRef.get(f.ref)!.kind === 'chunk').map((f) => f.ref);
        for (const setRefs of setsOf(refs, (r) => byRef.get(r)!.commitment.filehash).values()) {
          for (let i = 0; i < setRefs.length; i += SHARE_BATCH) {
            const batch = setRefs.slice(i, i + SHARE_BATCH);
            const asked = batch.map((r) => byRef.get(r)!);
            const answers = askShares(asked, setSize(asked[0]!.commitment.filehash), 0, box);
            batch.forEach((r, j) => again.set(r, answers.then((v) => ({ v: v[j] }), (err: unknown) => ({ err }))));
          }
        }
      }
      let setSeal: Promise<string | null> | undefined;
      const settle = async (o: Audited, f: (typeof finals)[number]): Promise<Final> => {
        if (f.outcome !== 'valid') return { outcome: f.outcome, reason: f.reason };
        let proof = f.proof;
        if (f.retries > 0) {
          try {
            const batched = again.has(f.ref) ? await again.get(f.ref)! : null;
            if (batched && 'err' in batched) throw batched.err;
            const [v] = batched ? [batched.v] : await askOne(o, 0, box);
            if (!v || !v.valid) return { outcome: 'invalid', reason: `passed re-audit ${f.retries} but not the round's challenge: ${v && !v.valid ? v.reason : 'no answer'}` };
            proof = v.proof;
          } catch (err) {
            return { outcome: answered(err) ? 'invalid' : 'unreachable', reason: `passed re-audit ${f.retries}; the round's challenge: ${(err as Error).message}` };
          }
        }
        if (o.kind === 'file') {
          const refused = await checkSeal(a, storerId, o.commitment, c.random, box);
          if (refused) return { outcome: 'invalid', reason: refused };
        } else if (o.commitment.sealed) {
          // One seal proof for the storer's whole chunk set, its verdict shared by every chunk of it.
          const refused = await (setSeal ??= checkSeal(a, storerId, o.commitment, c.random, box, a.newChunks.chunkIds));
          if (refused) return { outcome: 'invalid', reason: refused };
        }
        return { outcome: 'valid', proof };
      };
      const out: ObjectOutcome[] = [];
      for (const f of finals) {
        const o = byRef.get(f.ref)!;
        const r = await settle(o, f);
        if (o.standing) {
          // A standing audit's result is reported against its target (the Reward's standing section).
          const target = o.standing;
          standingOut.set(target, r.outcome !== 'valid' ? { target, ...r } : r.proof.kind === 'file' ? { target, outcome: 'valid', proof: r.proof.audit } : { target, outcome: 'invalid', reason: 'a file audit answered with a chunk proof' });
          continue;
        }
        const base = { storerId, objectId: o.id };
        if (r.outcome !== 'valid') out.push({ ...base, kind: o.kind, ...r });
        else out.push(r.proof.kind === 'file' ? { ...base, kind: 'file', outcome: 'valid', proof: r.proof.audit } : { ...base, kind: 'chunk', outcome: 'valid', proof: r.proof.proof });
      }
      clearTimeout(handle);
      return out;
    }),
  );
  const outcomes = perStorer.flat();
  const standing = (a.standing ?? []).map((t) => standingOut.get(t)!);
  const reward = buildReward({ auditedRound: a.auditedRound, verifier: a.verifier, challengeSeed: a.challengeSeed, outcomes, samplesPerStorer: a.params.samplesPerStorer, standing });
  return { reward, outcomes, standing };
}
