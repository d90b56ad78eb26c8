// The repairer, a role of the rewards service (docs/repair.md §2, §3, §7): one scan finds the keys whose
// commitments include storers that are no longer live (indexer ListNodes + ListStorerKeys), asks the
// registry's storers for replacements exactly as an upload does (a signed Solicit on the latest finalized
// seed; each storer self-selects by VRF, fetches from a surviving holder and verifies the bytes against
// the filehash before it commits), keeps the valid offers (repair-plan.ts chooseReplacements) and submits
// one Repair per key, fewest live copies first. A key none of whose holders can serve the file is listed
// as lost with the evidence; no Repair is made for it.
//
// Block chunk sets (§9) in the same scan, after the keys: the chunk sets the not-live storers committed
// to (indexer ListStorerChunkSets), those with fewer than N live commitments, fewest live first. For
// each, the block's NewChunks (checked against the record's new_chunks_hash) and its chunks from a
// holder (each checked against its id), then a CommitChunks signed with this node's key on the latest
// finalized seed to the registry's live storers not in the set, missing chunks pushed as the proposer
// pushes them (lib/chain/commit-chunks-client.ts); the valid commitments, at most N − live, go into one
// Repair {chunk_set_round}. A set none of whose holders can serve its chunks is listed as lost.
//
// Its I/O comes in as ports (RepairerPorts) so the scan is tested against the real ledger in process;
// node wiring gives it gRPC clients (indexer, consensus, storers).
import type { NodeRecord } from '../../gen/wolk/common/v1/node.js';
import type { NewChunks } from '../../gen/wolk/common/v1/chain.js';
import type { ChunkSetRecord, KeyRecord } from '../../gen/wolk/common/v1/state.js';
import type { StorageCommitment } from '../../gen/wolk/common/v1/storage.js';
import { SolicitRequest, type CommitChunksRequest, type CommitChunksResponse, type SolicitResponse } from '../../gen/wolk/storer/v1/storer.js';
import type { Repair } from '../../gen/wolk/common/v1/tx.js';
import { askToCommit, commitChunksRequest } from '../../lib/chain/commit-chunks-client.js';
import { verifyChunkCommitment, verifyStorageCommitment } from '../../lib/chain/commitment.js';
import { chunkSetRecordRound, notLiveReason, REASON_NAME, recordRound, type RepairParams } from '../../lib/chain/repair.js';
import { newChunksHashOf } from '../../lib/chain/reward.js';
import type { PorepNetworkParams } from '../../lib/chain/sealed.js';
import { sha256 } from '../../lib/crypto/hash.js';
import type { StorerRegistry } from '../../lib/chain/storer-registry.js';
import { signSolicit } from '../../lib/chain/write-request.js';
import type { Logger } from '../../lib/log/logger.js';
import { chooseChunkSetReplacements, chooseReplacements, chunkSetRepairBody, planChunkSetRepairs, planRepairs, repairBody, type ChunkSetCandidate, type RepairCandidate } from './repair-plan.js';

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export interface RepairerPorts {
  /** Every node record (indexer ListNodes, all pages). */
  listNodes(signal: AbortSignal): Promise<NodeRecord[]>;
  /** The records whose current commitments include the storer (indexer ListStorerKeys, all pages up to a bound). */
  storerKeys(storerId: Uint8Array, signal: AbortSignal): Promise<KeyRecord[]>;
  /** The latest finalized round and its seed. */
  tip(signal: AbortSignal): Promise<{ round: number; seed: Uint8Array }>;
  /** The storer registry of a finalized round (lib/chain/registry-client.ts: proven against its header). */
  registry(round: number, seed: Uint8Array): Promise<StorerRegistry>;
  /** One storer's answer to a store request. */
  solicit(endpoint: string, request: SolicitRequest, signal: AbortSignal): Promise<SolicitResponse>;
  /** Signs and submits a Repair with the node's key; its transaction id. */
  submit(repair: Repair, signal: AbortSignal): Promise<Uint8Array>;
  // Block chunk sets (§9). Absent: the repairer repairs keys only.
  /** The chunk sets whose current commitments include the storer (indexer ListStorerChunkSets, all pages up to a bound). */
  storerChunkSets?(storerId: Uint8Array, signal: AbortSignal): Promise<ChunkSetRecord[]>;
  /** The NewChunks of the finalized block of `round` (consensus GetBlock); checked by the caller against the record. */
  newChunksOf?(round: number, signal: AbortSignal): Promise<NewChunks>;
  /** One storer's answer per chunk id (GetShare): its bytes, or null when it had none; unchecked (the caller hashes them). */
  readChunks?(endpoint: string, ids: readonly Uint8Array[], signal: AbortSignal): Promise<(Uint8Array | null)[]>;
  /** One storer's answer to a CommitChunks. */
  commitChunks?(endpoint: string, request: CommitChunksRequest, signal: AbortSignal): Promise<CommitChunksResponse>;
}

type ChunkSetPorts = Required<Pick<RepairerPorts, 'storerChunkSets' | 'newChunksOf' | 'readChunks' | 'commitChunks'>>;
const chunkSetPorts = (p: RepairerPorts): ChunkSetPorts | null =>
  p.storerChunkSets && p.newChunksOf && p.readChunks && p.commitChunks ? { storerChunkSets: p.storerChunkSets.bind(p), newChunksOf: p.newChunksOf.bind(p), readChunks: p.readChunks.bind(p), commitChunks: p.commitChunks.bind(p) } : null;

export interface RepairerOptions {
  readonly ports: RepairerPorts;
  readonly params: RepairParams;
  /** Genesis storerCommitteeSize: the sortition's expected committee. */
  readonly expectedStorers: number;
  /** The node's signing key (the store request is signed as the gateway signs an upload's). */
  readonly signer: { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array };
  /** Most keys repaired per scan (bounded work; the rest are found again next scan). Default 16. */
  readonly maxPerScan?: number;
  /** Holders tried as the fetch source per key before giving up on it this scan. Default 3. */
  readonly sourcesPerKey?: number;
  /**
   * How long a submitted Repair is waited for before the key is repaired again, ms (default 60 000). While
   * it is pending, the indexer still shows the old record: repairing it again would only make a stale
   * second Repair, refused in its block, and a gap in the node's nonces.
   */
  readonly pendingMs?: number;
  readonly now?: () => number;
  readonly logger: Logger;
  /**
   * N for block chunk sets: genesis params.replication (docs/repair.md §9: a set is repaired back to N
   * live commitments). Without it (or without the chunk-set ports) chunk sets are not repaired.
   */
  readonly replication?: number;
  /** Most chunk sets repaired per scan, after the keys (a set moves a whole block's chunks). Default: maxPerScan. */
  readonly maxChunkSetsPerScan?: number;
  /** Largest chunk set (bytes, its commitments' size) read into memory for a repair; larger ones are deferred. Default 256 MiB. */
  readonly maxChunkSetBytes?: number;
  /** A sealed network's genesis params.porep: chunk-set offers are checked as the ledger checks them. */
  readonly porep?: PorepNetworkParams;
}

/** A key none of whose holders could serve the file (docs/repair.md §7). */
export interface LostFile {
  readonly path: string;
  readonly filehash: string;
  /** Per commitment: the storer, why it is not live (or 'live'), and what asking it as a source gave. */
  readonly evidence: readonly { readonly storer: string; readonly standing: string; readonly source: string }[];
}

/** A block chunk set none of whose holders could serve its chunks (docs/repair.md §7, §9). */
export interface LostChunkSet {
  readonly round: string;
  readonly newChunksHash: string;
  /** Per commitment: the storer, why it is not live (or 'live'), and what reading the chunks from it gave. */
  readonly evidence: readonly { readonly storer: string; readonly standing: string; readonly source: string }[];
}

export interface ChunkSetScanReport {
  readonly repaired: readonly { readonly round: string; readonly txId: string; readonly replaced: number; readonly liveBefore: number }[];
  readonly lost: readonly LostChunkSet[];
  readonly deferred: readonly { readonly round: string; readonly reason: string }[];
}

export interface ScanReport {
  /** The tip the scan solicited on. */
  readonly round: number;
  readonly repaired: readonly { readonly path: string; readonly txId: string; readonly replaced: number; readonly liveBefore: number }[];
  readonly lost: readonly LostFile[];
  /** Keys it could not repair this scan (too few storers selected, submit refused, ...), with why. */
  readonly deferred: readonly { readonly path: string; readonly reason: string }[];
  /** Block chunk sets (§9), when the repairer has the chunk-set ports and N. */
  readonly chunkSets: ChunkSetScanReport;
}

export function createRepairer(o: RepairerOptions) {
  const maxPerScan = o.maxPerScan ?? 16;
  const sourcesPerKey = o.sourcesPerKey ?? 3;
  const pendingMs = o.pendingMs ?? 60_000;
  const maxChunkSetsPerScan = o.maxChunkSetsPerScan ?? maxPerScan;
  const maxChunkSetBytes = o.maxChunkSetBytes ?? 256 * 1024 * 1024;
  const now = o.now ?? Date.now;
  /** Keys (by path) and chunk sets (by `chunk-set:<round>`) with a Repair submitted and not yet seen applied: the record round it repaired, when. */
  const pending = new Map<string, { readonly round: bigint; readonly at: number }>();
  /** A Repair of this record version was submitted within pendingMs (not yet seen applied). */
  const isPending = (label: string, round: bigint) => {
    const p = pending.get(label);
    return p !== undefined && p.round === round && now() - p.at < pendingMs;
  };

  /**
   * Where to read a key's file or a set's chunks from: its holders with an endpoint, live ones first, then
   * the not-live ones (a storer with low reputation may still hold the data), at most sourcesPerKey.
   */
  function sourcesOf(c: { readonly live: readonly StorageCommitment[]; readonly notLive: readonly { readonly commitment: StorageCommitment }[] }, nodes: ReadonlyMap<string, NodeRecord>): { id: string; endpoint: string }[] {
    return [...c.live, ...c.notLive.map((x) => x.commitment)]
      .map((x) => hex(x.storerId))
      .map((id) => ({ id, endpoint: nodes.get(id)?.endpoint ?? '' }))
      .filter((s) => s.endpoint !== '')
      .slice(0, sourcesPerKey);
  }

  /** The evidence of a lost key or set (docs/repair.md §7): per commitment, its storer, its standing, and what asking it as a source gave. */
  function lostEvidence(commitments: readonly StorageCommitment[], nodes: ReadonlyMap<string, NodeRecord>, tried: ReadonlyMap<string, string>): LostFile['evidence'] {
    return commitments.map((x) => {
      const id = hex(x.storerId);
      const why = notLiveReason(nodes.get(id), o.params);
      return { storer: id, standing: why === null ? 'live' : REASON_NAME[why], source: tried.get(id) ?? (nodes.get(id)?.endpoint ? 'not asked (sourcesPerKey)' : 'not asked (no endpoint)') };
    });
  }

  /** Solicits every live storer of the registry that does not hold the key, with `source` to fetch from. */
  async function offers(c: RepairCandidate, registry: StorerRegistry, seed: Uint8Array, source: string, nodeOf: (id: string) => NodeRecord | undefined, signal: AbortSignal): Promise<{ offered: StorageCommitment[]; sourceFailures: number; errors: string[] }> {
    const file = c.record.file!;
    const request = signSolicit(o.signer, {
      file,
      seed: Buffer.from(seed),
      seedRound: BigInt(registry.round),
      sourceEndpoint: source,
      expectedStorers: o.expectedStorers,
      totalStake: registry.totalWeight,
    });
    const holders = new Set(c.record.commitments.map((x) => hex(x.storerId)));
    // Only storers that could be chosen: a not-live one that selected itself would fetch and keep a
    // replica nobody takes (chooseReplacements leaves it out).
    const asked = registry.storers.filter((s) => !holders.has(hex(s.id)) && s.stake > 0n && s.endpoint !== '' && notLiveReason(nodeOf(hex(s.id)), o.params) === null);
    const answers = await Promise.allSettled(asked.map((s) => o.ports.solicit(s.endpoint, request, signal)));
    const offered: StorageCommitment[] = [];
    const errors: string[] = [];
    let sourceFailures = 0;
    for (const a of answers) {
      if (a.status === 'fulfilled') {
        if (a.value.result?.$case === 'selected') offered.push(a.value.result.value);
      } else {
        const msg = (a.reason as Error)?.message ?? String(a.reason);
        // A storer says which source failed it (services/storer/fetch.ts): the holder could not serve the file.
        if (msg.includes(source)) sourceFailures++;
        errors.push(msg);
      }
    }
    return { offered, sourceFailures, errors };
  }

  /** One scan (see the file comment). */
  async function scan(signal: AbortSignal): Promise<ScanReport> {
    const nodes = new Map((await o.ports.listNodes(signal)).map((n) => [hex(n.id), n] as const));
    const nodeOf = (id: string) => nodes.get(id);
    const records: KeyRecord[] = [];
    for (const n of nodes.values()) {
      if (notLiveReason(n, o.params) === null) continue;
      records.push(...(await o.ports.storerKeys(n.id, signal)));
    }
    // Pending Repairs are left out before the scan's bound is applied, so they do not take the places of
    // keys that can be repaired now; an entry goes when its time is up (or its record changed: then it
    // no longer matches).
    for (const [label, p] of pending) if (now() - p.at >= pendingMs) pending.delete(label);
    const queue = planRepairs(records, nodeOf, o.params, Number.MAX_SAFE_INTEGER)
      .queue.filter((c) => !isPending(c.path, recordRound(c.record)))
      .slice(0, maxPerScan);
    const tip = await o.ports.tip(signal);
    const repaired: ScanReport['repaired'][number][] = [];
    const lost: LostFile[] = [];
    const deferred: ScanReport['deferred'][number][] = [];
    let registryRead: Promise<StorerRegistry> | null = null;
    const registryOf = () => (registryRead ??= o.ports.registry(tip.round, tip.seed));
    if (queue.length > 0) await repairKeys(queue, tip, await registryOf(), nodes, { repaired, lost, deferred }, signal);
    const chunkSets = await repairChunkSets(nodes, tip, registryOf, signal);
    return { round: tip.round, repaired, lost, deferred, chunkSets };
  }

  async function repairKeys(
    queue: readonly RepairCandidate[],
    tip: { round: number; seed: Uint8Array },
    registry: StorerRegistry,
    nodes: ReadonlyMap<string, NodeRecord>,
    out: { repaired: ScanReport['repaired'][number][]; lost: LostFile[]; deferred: ScanReport['deferred'][number][] },
    signal: AbortSignal,
  ): Promise<void> {
    const { repaired, lost, deferred } = out;
    const nodeOf = (id: string) => nodes.get(id);
    for (const c of queue) {
      if (signal.aborted) break;
      const file = c.record.file!;
      // Sources: live holders first; with none left, the not-live ones (a storer with low reputation may still hold it).
      const sources = sourcesOf(c, nodes);
      const tried = new Map<string, string>();
      let done = false;
      for (const s of sources) {
        const { offered, sourceFailures, errors } = await offers(c, registry, tip.seed, s.endpoint, nodeOf, signal);
        const valid = (x: StorageCommitment) =>
          verifyStorageCommitment(x, { lookupStorer: (id) => registry.lookup(id), totalWeight: registry.totalWeight, expectedSize: o.expectedStorers, seed: tip.seed, filehash: file.filehash, seedRound: BigInt(registry.round), size: file.size, chunkSize: file.chunkSize }).ok;
        const chosen = chooseReplacements(c, offered, nodeOf, o.params, valid);
        if (chosen.length === 0) {
          tried.set(s.id, sourceFailures > 0 ? `could not serve the file to ${sourceFailures} storer(s)` : `no storer selected (${offered.length} offers, ${errors.length} errors)`);
          continue;
        }
        try {
          const txId = await o.ports.submit(repairBody(c, chosen), signal);
          repaired.push({ path: c.path, txId: hex(txId), replaced: chosen.length, liveBefore: c.live.length });
          pending.set(c.path, { round: recordRound(c.record), at: now() });
          o.logger.info('repair submitted', { key: c.path, live: c.live.length, replaced: chosen.length, of: c.notLive.length, round: tip.round, txId: hex(txId).slice(0, 16) });
        } catch (err) {
          deferred.push({ path: c.path, reason: `submit: ${(err as Error).message}` });
          o.logger.warn('repair refused', { key: c.path, error: (err as Error).message });
        }
        done = true;
        break;
      }
      if (done) continue;
      const everySourceFailed = sources.length > 0 && sources.every((s) => tried.get(s.id)?.startsWith('could not serve'));
      if (c.live.length === 0 && (sources.length === 0 || everySourceFailed)) {
        const evidence = lostEvidence(c.record.commitments, nodes, tried);
        lost.push({ path: c.path, filehash: hex(file.filehash), evidence });
        o.logger.error('repair: file lost', { key: c.path, filehash: hex(file.filehash), evidence });
      } else {
        deferred.push({ path: c.path, reason: [...tried.values()].join('; ') || 'no source with an endpoint' });
      }
    }
  }

  /** Block chunk sets (docs/repair.md §9): see the file comment. A failure to list them defers them all, keys stay done. */
  async function repairChunkSets(nodes: ReadonlyMap<string, NodeRecord>, tip: { round: number; seed: Uint8Array }, registryOf: () => Promise<StorerRegistry>, signal: AbortSignal): Promise<ChunkSetScanReport> {
    const report = { repaired: [] as ChunkSetScanReport['repaired'][number][], lost: [] as LostChunkSet[], deferred: [] as ChunkSetScanReport['deferred'][number][] };
    const ports = chunkSetPorts(o.ports);
    if (ports === null || o.replication === undefined) return report;
    const nodeOf = (id: string) => nodes.get(id);
    const records: ChunkSetRecord[] = [];
    try {
      for (const n of nodes.values()) {
        if (notLiveReason(n, o.params) === null) continue;
        records.push(...(await ports.storerChunkSets(n.id, signal)));
      }
    } catch (err) {
      report.deferred.push({ round: '*', reason: `listing chunk sets: ${(err as Error).message}` });
      return report;
    }
    const queue = planChunkSetRepairs(records, nodeOf, o.params, o.replication, Number.MAX_SAFE_INTEGER)
      .filter((c) => !isPending(c.label, chunkSetRecordRound(c.record)))
      .slice(0, maxChunkSetsPerScan);
    for (const c of queue) {
      if (signal.aborted) break;
      const round = String(c.round);
      try {
        await repairChunkSet(c, ports, nodes, nodeOf, tip, registryOf, report, signal);
      } catch (err) {
        report.deferred.push({ round, reason: (err as Error).message });
        o.logger.warn('chunk set repair deferred', { round, error: (err as Error).message });
      }
    }
    return report;
  }

  async function repairChunkSet(
    c: ChunkSetCandidate,
    ports: ChunkSetPorts,
    nodes: ReadonlyMap<string, NodeRecord>,
    nodeOf: (id: string) => NodeRecord | undefined,
    tip: { round: number; seed: Uint8Array },
    registryOf: () => Promise<StorerRegistry>,
    report: { repaired: ChunkSetScanReport['repaired'][number][]; lost: LostChunkSet[]; deferred: ChunkSetScanReport['deferred'][number][] },
    signal: AbortSignal,
  ): Promise<void> {
    const round = String(c.round);
    const setBytes = c.record.commitments[0]?.size ?? 0n;
    if (setBytes > BigInt(maxChunkSetBytes)) {
      report.deferred.push({ round, reason: `the set holds ${setBytes} bytes, more than maxChunkSetBytes ${maxChunkSetBytes}` });
      return;
    }
    // The block's NewChunks, never trusted: its hash must be the record's (the ledger's binding, chain.proto).
    const nc = await ports.newChunksOf(Number(c.round), signal);
    const got = newChunksHashOf(nc);
    if (hex(got) !== hex(c.record.newChunksHash)) throw new Error(`block ${round}'s NewChunks hashes to ${hex(got).slice(0, 16)}, the record's new_chunks_hash is ${hex(c.record.newChunksHash).slice(0, 16)}`);
    if (nc.chunkIds.length === 0) return; // nothing to keep (assessChunkSet leaves out sets of size 0)
    // Its chunks from the holders, live ones first, then the not-live ones (a storer with low reputation
    // may still hold them); each chunk checked against its id, each holder asked only for what is missing.
    const chunks = new Map<string, Uint8Array>();
    const ids = nc.chunkIds.map((id) => hex(id));
    const sources = sourcesOf(c, nodes);
    const tried = new Map<string, string>();
    for (const s of sources) {
      const want = nc.chunkIds.filter((_, i) => !chunks.has(ids[i]!));
      if (want.length === 0) break;
      try {
        const answers = await ports.readChunks(s.endpoint, want, signal);
        let served = 0;
        let wrong = 0;
        want.forEach((id, i) => {
          const data = answers[i];
          if (!data) return;
          if (hex(sha256(data)) !== hex(id)) return void wrong++;
          chunks.set(hex(id), data);
          served++;
        });
        tried.set(s.id, `served ${served} of ${want.length} chunks${wrong > 0 ? `, ${wrong} with wrong bytes` : ''}`);
      } catch (err) {
        tried.set(s.id, `could not serve the chunks: ${(err as Error).message}`);
      }
    }
    if (chunks.size < new Set(ids).size) {
      const missing = new Set(ids).size - chunks.size;
      if (c.live.length === 0) {
        const evidence = lostEvidence(c.record.commitments, nodes, tried);
        report.lost.push({ round, newChunksHash: hex(c.record.newChunksHash), evidence });
        o.logger.error('repair: chunk set lost', { round, newChunksHash: hex(c.record.newChunksHash), missing, evidence });
      } else {
        report.deferred.push({ round, reason: `${missing} chunk(s) no holder served: ${[...tried.entries()].map(([id, r]) => `${id.slice(0, 16)} ${r}`).join('; ') || 'no holder with an endpoint'}` });
      }
      return;
    }
    // CommitChunks on the latest finalized seed to every live storer of the registry not in the set.
    const registry = await registryOf();
    const inSet = new Set(c.record.commitments.map((x) => hex(x.storerId)));
    const asked = registry.storers.filter((s) => !inSet.has(hex(s.id)) && s.stake > 0n && s.endpoint !== '' && notLiveReason(nodeOf(hex(s.id)), o.params) === null);
    const base = commitChunksRequest({ newChunks: nc, seed: tip.seed, seedRound: registry.round, expectedStorers: o.expectedStorers, totalStake: registry.totalWeight }, o.signer);
    const answers = await Promise.allSettled(asked.map((s) => askToCommit((req) => ports.commitChunks(s.endpoint, req, signal), base, (id) => chunks.get(id), () => !signal.aborted)));
    const offered = answers.flatMap((a) => (a.status === 'fulfilled' && a.value !== null ? [a.value] : []));
    const errors = answers.filter((a) => a.status === 'rejected').length;
    const lengths = nc.chunkIds.map((id) => chunks.get(hex(id))!.length);
    const valid = (x: StorageCommitment) =>
      verifyChunkCommitment(x, {
        lookupStorer: (id) => registry.lookup(id),
        totalWeight: registry.totalWeight,
        expectedSize: o.expectedStorers,
        seed: tip.seed,
        seedRound: BigInt(registry.round),
        newChunksHash: c.record.newChunksHash,
        chunkLengths: lengths,
        ...(o.porep ? { porep: o.porep } : {}),
      }).ok;
    const chosen = chooseChunkSetReplacements(c, offered, nodeOf, o.params, valid);
    if (chosen.length === 0) {
      report.deferred.push({ round, reason: `no storer selected (${asked.length} asked, ${offered.length} offers, ${errors} errors)` });
      return;
    }
    try {
      const txId = await o.ports.submit(chunkSetRepairBody(c, chosen), signal);
      report.repaired.push({ round, txId: hex(txId), replaced: chosen.length, liveBefore: c.live.length });
      pending.set(c.label, { round: chunkSetRecordRound(c.record), at: now() });
      o.logger.info('chunk set repair submitted', { round, live: c.live.length, replaced: chosen.length, of: c.replaceable, seedRound: tip.round, txId: hex(txId).slice(0, 16) });
    } catch (err) {
      report.deferred.push({ round, reason: `submit: ${(err as Error).message}` });
      o.logger.warn('chunk set repair refused', { round, error: (err as Error).message });
    }
  }

  return { scan };
}

export type Repairer = ReturnType<typeof createRepairer>;
