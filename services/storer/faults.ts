// Test-only attacker behaviours of a storer (issue #15 "Attackers as real processes"), switched on per
// process with WOLK_FAULTS (read in options.ts; WOLK_DEVNET_FAULTS on the devnet). Never set in
// production: node.ts logs a loud warning when any fault is on. All attack code lives here; the storer
// calls in through one hook (withAttacks around its handlers).
//
// - slow-honest: answers every audit (VerifyFile, VerifyShare(s), ProveReplica) correctly after
//   SLOW_HONEST_LATENCY_MS, below the auditor's response deadline (1 s default): it must pass.
// - late-answers: answers every file audit (VerifyFile, ProveReplica) correctly but only after
//   LATE_ANSWER_LATENCY_MS, beyond the deadline: what an auditor sees from a storer that regenerates
//   sealed nodes on demand (docs/porep.md: ≥ 10x the deadline on a 256 MiB sector). It must be
//   contained, re-audited and then fail (docs/rewards.md "Deadlines and containment").
// - outsourcer (sealed networks): seals honestly to commit (consensus checks the seal proof), then
//   answers from its commitment data only: never from its sector's layers or its stored bytes. For
//   VerifyFile and ProveReplica it fetches the plain file from another storer (GetFile is public); for
//   ProveReplica it then re-seals the file's node range on demand (lib/porep regenerateRange: the
//   cone of the range, about L − 1 whole layers of the sector) and answers with a correct proof, as late
//   as the re-seal makes it. The re-seal runs in a worker thread at a low OS priority and stops
//   when the auditor gives up: on a shared test machine the attacker must not slow its honest
//   neighbours (on a real network its labelling runs on its own hardware). It must be contained and then fail (docs/porep.md "Attackers").
//   Block chunk sets it answers honestly (the attack is on files; a set's chunks are no file a peer serves).
// - sybil (sealed networks): an identity with no replica of its own; the operator's one copy of a file
//   is another identity's sealed replica, so it answers ProveReplica with that replica's nodes (asked
//   from a storer that holds the file, on the same challenge), signed as its own against its own
//   comm_r. Replicas are bound to the storer id, so the nodes do not open its comm_r: invalid at once.
//   (A sybil that re-seals its own replica from the shared copy instead is the outsourcer above.)
// - wrong-sealer (sealed networks): "seals" every file without its labels (the replica is the plain data
//   padded to whole nodes) and commits comm_r over that: such a replica can be answered from any plain
//   copy, so it proves nothing. Its replica audits open its comm_r and pass; its seal proofs cannot
//   (r ≠ d ⊕ label): gateways' spot checks refuse its file commitments and consensus verifiers its
//   chunk-set commitments, so it never holds a commitment on chain (docs/porep.md "A wrong sealer is
//   kept off the chain"); the rewards auditor's seal check would fail any that got through.
import { credentials } from '@grpc/grpc-js';
import type { ReplicaAudit } from '../../gen/wolk/common/v1/storage.js';
import { StorerServiceClient, type StorerServiceService } from '../../gen/wolk/storer/v1/storer.js';
import { MAX_AUDIT_LEAVES, auditIndices, signFileAudit } from '../../lib/chain/commitment.js';
import { signReplicaAudit } from '../../lib/chain/sealed.js';
import { unaryCall } from '../../lib/grpc/client.js';
import { WolkError, invalidArgument, unavailable } from '../../lib/grpc/errors.js';
import type { CallContext, ServiceHandlers } from '../../lib/grpc/handlers.js';
import type { NodeKey } from '../../lib/identity/node-key.js';
import type { Logger } from '../../lib/log/logger.js';
import { replicaIdOf, xorNodes } from '../../lib/porep/index.js';
import type { FileStore } from './files.js';
import { regenerateInWorker, type RegenerateResult } from './porep/regenerate.js';
import type { Sealer } from './porep/sealer.js';

export type Attack = 'slow-honest' | 'late-answers' | 'outsourcer' | 'sybil' | 'wrong-sealer';
export const ATTACKS: readonly Attack[] = ['slow-honest', 'late-answers', 'outsourcer', 'sybil', 'wrong-sealer'];

/** The wrong sealer's encoding (Sealer deps.encode): the plain data, zero-padded to the range's nodes. */
export function wrongSealerEncoding(data: Uint8Array, key: Uint8Array): Uint8Array {
  return xorNodes(data, new Uint8Array(key.length));
}

/** What the sealed-replica attackers use of the storer (node.ts passes it). */
export interface AttackDeps {
  readonly sealer: Sealer | null;
  readonly files: FileStore;
  readonly key: NodeKey;
  /** The other storers' gRPC endpoints (the genesis registry): peers to fetch from or borrow replicas of. */
  readonly peers: readonly string[];
  /** A streaming GetFile of a file from a peer (fetch.ts). */
  readonly fetch: (endpoint: string, filehash: Uint8Array, signal: AbortSignal) => AsyncIterable<Uint8Array>;
}

/** Added to each audit answer by slow-honest: inside the 1 s default deadline (the devnet test gives 2 s: CI load adds the rest). */
export const SLOW_HONEST_LATENCY_MS = 300;
/** Added to each file audit answer by late-answers: 4x the 1 s default deadline, 2x the devnet test's 2 s (past any grace for a stalled verifier). */
export const LATE_ANSWER_LATENCY_MS = 4000;

type Handlers = ServiceHandlers<typeof StorerServiceService>;

/** The caller went away (an auditor past its deadline): a client's doing, not this storer's error. */
const cancelled = () => new WolkError('CANCELLED', 'the caller cancelled the call (an auditor past its deadline)');

/** Resolves after ms, or rejects when the call is cancelled (the auditor gave up). */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(cancelled());
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(cancelled());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

type Unary<Req, Res> = (req: Req, ctx: CallContext) => Promise<Res>;

function delayed<Req, Res>(h: Unary<Req, Res> | undefined, ms: number): Unary<Req, Res> | undefined {
  if (!h) return undefined;
  return async (req, ctx) => {
    await delay(ms, ctx.signal);
    return h(req, ctx);
  };
}

const asBuffer = (b: Uint8Array) => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const short = (b: Uint8Array) => asBuffer(b).toString('hex').slice(0, 16);

function sealerOf(d: AttackDeps): Sealer {
  if (!d.sealer) throw new WolkError('UNIMPLEMENTED', 'this network does not seal (no genesis params.porep)');
  return d.sealer;
}

/** The plain file from the first peer that serves it whole (its size is the committed one). */
async function fetchPlain(d: AttackDeps, filehash: Uint8Array, size: number, signal: AbortSignal): Promise<{ bytes: Uint8Array; from: string }> {
  const tried: string[] = [];
  for (const peer of d.peers) {
    try {
      const parts: Uint8Array[] = [];
      for await (const p of d.fetch(peer, filehash, signal)) parts.push(p);
      const bytes = Buffer.concat(parts);
      if (bytes.length === size) return { bytes, from: peer };
      tried.push(`${peer}: ${bytes.length} bytes`);
    } catch (err) {
      if (signal.aborted) throw err;
      tried.push(`${peer}: ${(err as Error).message}`);
    }
  }
  throw unavailable(`outsourcer: no peer served ${short(filehash)} (${tried.join('; ')})`);
}

/** The outsourcer's handlers: VerifyFile from fetched chunks and kept trees, ProveReplica re-sealed on demand. */
function outsourcer(h: Handlers, d: AttackDeps, log: Logger | undefined): Handlers {
  return {
    ...h,
    verifyFile: async (req, ctx) => {
      if (req.challenge.length !== 32) throw invalidArgument(`challenge: expected 32 bytes, got ${req.challenge.length}`);
      if (!Number.isInteger(req.k) || req.k < 1 || req.k > MAX_AUDIT_LEAVES) throw invalidArgument(`k: expected 1 to ${MAX_AUDIT_LEAVES}, got ${req.k}`);
      const record = await d.files.require(req.filehash);
      const { bytes } = await fetchPlain(d, req.filehash, record.size, ctx.signal);
      const trees = await d.files.treesOf(req.filehash, record);
      const leafCount = Math.ceil(record.size / record.chunkSize);
      const leaves = auditIndices(req.challenge, leafCount, req.k).map((i) => {
        const at = { leafIndex: BigInt(i), leafCount: BigInt(leafCount) };
        return {
          chunk: asBuffer(bytes.subarray(i * record.chunkSize, Math.min((i + 1) * record.chunkSize, record.size))),
          replicaBranch: { ...at, siblings: trees.replica.branch(i).map(asBuffer) },
          fileBranch: { ...at, siblings: trees.file.branch(i).map(asBuffer) },
        };
      });
      const audit = signFileAudit(
        { storerId: asBuffer(d.key.signPublicKey), filehash: asBuffer(req.filehash), replicaRoot: asBuffer(record.replicaRoot), challenge: asBuffer(req.challenge), k: req.k, leaves },
        d.key.signSecretKey,
      );
      return { audit };
    },
    proveReplica: async (req, ctx) => {
      // The attack is on files: a block's chunk set (no file record; its chunks are no file a peer
      // serves) is answered as an honest storer answers it.
      if (!(await d.files.get(req.filehash)) && h.proveReplica) return h.proveReplica(req, ctx);
      const sealer = sealerOf(d);
      const started = performance.now();
      const meta = sealer.sealedMeta(req.filehash);
      const record = await d.files.require(req.filehash);
      const { bytes, from } = await fetchPlain(d, req.filehash, record.size, ctx.signal);
      const fetchedMs = performance.now() - started;
      // In a worker at a low priority, stopped when the auditor gives up (porep/regenerate.ts).
      const job = { replicaId: replicaIdOf(d.key.signPublicKey, meta.sectorId, meta.sectorSeed), nodes: meta.sectorNodes, layers: meta.layers, first: meta.first, count: meta.count };
      let regen: RegenerateResult;
      try {
        regen = await regenerateInWorker(job, ctx.signal);
      } catch (err) {
        if (ctx.signal.aborted) throw cancelled();
        throw err;
      }
      const resealMs = performance.now() - started - fetchedMs;
      const audit = sealer.proveReplicaFrom(req.filehash, xorNodes(bytes, regen.label), req.challenge, req.k);
      log?.info('outsourcer answered ProveReplica', {
        file: short(req.filehash),
        from,
        fetchMs: Math.round(fetchedMs),
        resealMs: Math.round(resealMs),
        labels: regen.labelsComputed,
        sectorNodes: meta.sectorNodes,
        totalMs: Math.round(performance.now() - started),
      });
      return { audit };
    },
  };
}

/** The sybil's ProveReplica: another identity's replica nodes on the same challenge, signed as its own. */
function sybil(h: Handlers, d: AttackDeps, log: Logger | undefined): Handlers {
  return {
    ...h,
    proveReplica: async (req, ctx) => {
      const meta = sealerOf(d).sealedMeta(req.filehash);
      // Every other identity at once, the first replica wins: the operator's copy, wherever it is.
      const asked = new AbortController();
      const signal = AbortSignal.any([ctx.signal, asked.signal]);
      const borrow = async (peer: string) => {
        const client = new StorerServiceClient(peer, credentials.createInsecure());
        try {
          const res = await unaryCall(client.proveReplica.bind(client), { filehash: req.filehash, challenge: req.challenge, k: req.k }, { endpoint: peer, signal, timeoutMs: 5000 });
          if (!res.audit?.proof) throw new Error(`${peer}: no proof`);
          return { proof: res.audit.proof, from: peer };
        } finally {
          client.close();
        }
      };
      let got: { proof: NonNullable<ReplicaAudit['proof']>; from: string };
      try {
        got = await Promise.any(d.peers.map(borrow));
      } catch (err) {
        const reasons = err instanceof AggregateError ? err.errors.map((e: Error) => e.message).join('; ') : (err as Error).message;
        throw unavailable(`sybil: no other identity holds a replica of ${short(req.filehash)} (${reasons})`);
      } finally {
        asked.abort();
      }
      log?.info('sybil answered ProveReplica from another identity\'s replica', { file: short(req.filehash), from: got.from });
      const audit = signReplicaAudit(
        { storerId: asBuffer(d.key.signPublicKey), filehash: asBuffer(req.filehash), commR: asBuffer(meta.commR), challenge: asBuffer(req.challenge), k: req.k, proof: got.proof },
        d.key.signSecretKey,
      );
      return { audit };
    },
  };
}

/** The storer's handlers with the attacks in `faults` applied (unchanged when none is on). */
export function withAttacks(h: Handlers, faults: ReadonlySet<string>, logger?: Logger, deps?: AttackDeps): Handlers {
  let out: Handlers = h;
  for (const a of ['outsourcer', 'sybil'] as const) {
    if (!faults.has(a)) continue;
    if (!deps) throw new Error(`fault ${a} needs the storer's attack dependencies`);
    logger?.warn(`fault ${a}: sealed-replica audits are answered without this storer's replica`, { peers: deps.peers.length });
    out = a === 'outsourcer' ? outsourcer(out, deps, logger) : sybil(out, deps, logger);
  }
  if (faults.has('slow-honest')) {
    logger?.warn('fault slow-honest: every audit answer is delayed', { latencyMs: SLOW_HONEST_LATENCY_MS });
    out = {
      ...out,
      verifyFile: delayed(out.verifyFile, SLOW_HONEST_LATENCY_MS),
      verifyShare: delayed(out.verifyShare, SLOW_HONEST_LATENCY_MS),
      verifyShares: delayed(out.verifyShares, SLOW_HONEST_LATENCY_MS),
      ...('proveReplica' in out ? { proveReplica: delayed(out.proveReplica, SLOW_HONEST_LATENCY_MS) } : {}),
    };
  }
  if (faults.has('late-answers')) {
    logger?.warn('fault late-answers: every file audit answer comes after the deadline', { latencyMs: LATE_ANSWER_LATENCY_MS });
    out = {
      ...out,
      verifyFile: delayed(out.verifyFile, LATE_ANSWER_LATENCY_MS),
      ...('proveReplica' in out ? { proveReplica: delayed(out.proveReplica, LATE_ANSWER_LATENCY_MS) } : {}),
    };
  }
  return out;
}
