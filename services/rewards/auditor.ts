// The audit core (DESIGN §6): challenges every storer committed in the audited block's NewChunks, with
// challenges derived from the reward round's seed (lib/chain/reward.ts objectChallenge), a time box per
// storer, and checks each answer locally with the same verifiers consensus uses (lib/chain/commitment):
// a checked answer is valid, a wrong one invalid, no answer in time unreachable. Network is injected.
// Every chunk of a committed chunk set is challenged (auditObjects pairs each chunk commitment with every
// chunk id), in VerifyShares batches of up to 1024 when the prober has them, before the files.
import type { NewChunks } from '../../gen/wolk/common/v1/chain.js';
import type { Credential } from '../../gen/wolk/common/v1/crypto.js';
import type { FileAudit, ShareProof } from '../../gen/wolk/common/v1/storage.js';
import type { Reward } from '../../gen/wolk/common/v1/tx.js';
import { verifyFileAudit, verifyShareProof } from '../../lib/chain/commitment.js';
import { auditObjects, buildReward, objectChallenge, type ObjectOutcome, type RewardParams } from '../../lib/chain/reward.js';
import { isVerdict } from '../../lib/grpc/errors.js';

/** How the auditor reaches storers (gRPC StorerService in production, fakes in tests). */
export interface StorerProber {
  verifyFile(storerId: Uint8Array, filehash: Uint8Array, challenge: Uint8Array, k: number, signal: AbortSignal): Promise<FileAudit>;
  verifyShare(storerId: Uint8Array, chunkId: Uint8Array, nonce: Uint8Array, signal: AbortSignal): Promise<ShareProof>;
  /**
   * VerifyShare for up to SHARE_BATCH chunks in one call (StorerService.VerifyShares), answers in
   * order: a proof, or `notFound` with the storer's reason. Optional: without it, one call per chunk.
   */
  verifyShares?(storerId: Uint8Array, challenges: readonly { chunkId: Uint8Array; nonce: Uint8Array }[], signal: AbortSignal): Promise<({ proof: ShareProof } | { notFound: string })[]>;
}

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
  /** Time box per storer (all its objects), ms. */
  readonly perStorerTimeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface AuditResult {
  readonly reward: Reward;
  readonly outcomes: readonly ObjectOutcome[];
}

export async function runAudit(a: AuditInput): Promise<AuditResult> {
  const objects = auditObjects(a.newChunks);
  const perStorer = await Promise.all(
    [...objects.values()].map(async ({ storerId, objects: objs }) => {
      // A referenced timer (AbortSignal.timeout's is unref'd and would not keep a lone audit alive).
      const timer = new AbortController();
      const handle = setTimeout(() => timer.abort(), a.perStorerTimeoutMs);
      const box = AbortSignal.any([timer.signal, ...(a.signal ? [a.signal] : [])]);
      const out: ObjectOutcome[] = [];
      // Every chunk of a committed chunk set, batched (a block's set is thousands of chunks).
      const chunkObjs = a.prober.verifyShares ? objs.filter((o) => o.kind === 'chunk') : [];
      for (let i = 0; i < chunkObjs.length; i += SHARE_BATCH) {
        const batch = chunkObjs.slice(i, i + SHARE_BATCH).map((o) => ({ o, chunkId: o.id, nonce: objectChallenge(a.challengeSeed, a.auditedRound, o.id, storerId) }));
        if (box.aborted) {
          for (const { o } of batch) out.push({ storerId, objectId: o.id, kind: 'chunk', outcome: 'unreachable', reason: 'time box exhausted' });
          continue;
        }
        try {
          const answers = await a.prober.verifyShares!(storerId, batch, box);
          batch.forEach(({ o, nonce }, j) => {
            const base = { storerId, objectId: o.id, kind: 'chunk' as const };
            const ans = answers[j];
            if (!ans) return void out.push({ ...base, outcome: 'invalid', reason: 'no answer for this chunk in the batch' });
            if ('notFound' in ans) return void out.push({ ...base, outcome: 'invalid', reason: ans.notFound });
            const v = verifyShareProof(ans.proof, { chunkId: o.id, nonce, storerId });
            out.push(v.ok ? { ...base, outcome: 'valid', proof: ans.proof } : { ...base, outcome: 'invalid', reason: v.reason });
          });
        } catch (err) {
          for (const { o } of batch) out.push({ storerId, objectId: o.id, kind: 'chunk', outcome: answered(err) ? 'invalid' : 'unreachable', reason: (err as Error).message });
        }
      }
      for (const o of objs) {
        if (o.kind === 'chunk' && a.prober.verifyShares) continue;
        const challenge = objectChallenge(a.challengeSeed, a.auditedRound, o.id, storerId);
        const base = { storerId, objectId: o.id };
        if (box.aborted) {
          out.push({ ...base, kind: o.kind, outcome: 'unreachable', reason: 'time box exhausted' });
          continue;
        }
        try {
          if (o.kind === 'file') {
            const c = o.commitment;
            const audit = await a.prober.verifyFile(storerId, o.id, challenge, a.params.leavesPerFile, box);
            const v = verifyFileAudit(audit, { storerId, replicaRoot: c.replicaRoot, filehash: c.filehash, size: c.size, chunkSize: c.chunkSize }, challenge, a.params.leavesPerFile);
            out.push(v.ok ? { ...base, kind: 'file', outcome: 'valid', proof: audit } : { ...base, kind: 'file', outcome: 'invalid', reason: v.reason });
          } else {
            const proof = await a.prober.verifyShare(storerId, o.id, challenge, box);
            const v = verifyShareProof(proof, { chunkId: o.id, nonce: challenge, storerId });
            out.push(v.ok ? { ...base, kind: 'chunk', outcome: 'valid', proof } : { ...base, kind: 'chunk', outcome: 'invalid', reason: v.reason });
          }
        } catch (err) {
          // A storer that answers with an error (e.g. NOT_FOUND: it dropped the data) did answer: invalid.
          // No answer at all (timeout, connection refused, unknown endpoint): unreachable.
          out.push({ ...base, kind: o.kind, outcome: answered(err) ? 'invalid' : 'unreachable', reason: (err as Error).message });
        }
      }
      clearTimeout(handle);
      return out;
    }),
  );
  const outcomes = perStorer.flat();
  const reward = buildReward({ auditedRound: a.auditedRound, verifier: a.verifier, challengeSeed: a.challengeSeed, outcomes, samplesPerStorer: a.params.samplesPerStorer });
  return { reward, outcomes };
}
