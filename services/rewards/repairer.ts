// The repairer, a role of the rewards service (docs/repair.md §2, §3, §7): one scan finds the keys whose
// commitments include storers that are no longer live (indexer ListNodes + ListStorerKeys), asks the
// registry's storers for replacements exactly as an upload does (a signed Solicit on the latest finalized
// seed; each storer self-selects by VRF, fetches from a surviving holder and verifies the bytes against
// the filehash before it commits), keeps the valid offers (repair-plan.ts chooseReplacements) and submits
// one Repair per key, fewest live copies first. A key none of whose holders can serve the file is listed
// as lost with the evidence; no Repair is made for it.
//
// Its I/O comes in as ports (RepairerPorts) so the scan is tested against the real ledger in process;
// node wiring gives it gRPC clients (indexer, consensus, storers).
import type { NodeRecord } from '../../gen/wolk/common/v1/node.js';
import type { KeyRecord } from '../../gen/wolk/common/v1/state.js';
import type { StorageCommitment } from '../../gen/wolk/common/v1/storage.js';
import { SolicitRequest, type SolicitResponse } from '../../gen/wolk/storer/v1/storer.js';
import type { Repair } from '../../gen/wolk/common/v1/tx.js';
import { verifyStorageCommitment } from '../../lib/chain/commitment.js';
import { notLiveReason, REASON_NAME, recordRound, type RepairParams } from '../../lib/chain/repair.js';
import type { StorerRegistry } from '../../lib/chain/storer-registry.js';
import { signSolicit } from '../../lib/chain/write-request.js';
import type { Logger } from '../../lib/log/logger.js';
import { chooseReplacements, planRepairs, repairBody, type RepairCandidate } from './repair-plan.js';

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
}

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
}

/** A key none of whose holders could serve the file (docs/repair.md §7). */
export interface LostFile {
  readonly path: string;
  readonly filehash: string;
  /** Per commitment: the storer, why it is not live (or 'live'), and what asking it as a source gave. */
  readonly evidence: readonly { readonly storer: string; readonly standing: string; readonly source: string }[];
}

export interface ScanReport {
  /** The tip the scan solicited on. */
  readonly round: number;
  readonly repaired: readonly { readonly path: string; readonly txId: string; readonly replaced: number; readonly liveBefore: number }[];
  readonly lost: readonly LostFile[];
  /** Keys it could not repair this scan (too few storers selected, submit refused, ...), with why. */
  readonly deferred: readonly { readonly path: string; readonly reason: string }[];
}

export function createRepairer(o: RepairerOptions) {
  const maxPerScan = o.maxPerScan ?? 16;
  const sourcesPerKey = o.sourcesPerKey ?? 3;
  const pendingMs = o.pendingMs ?? 60_000;
  const now = o.now ?? Date.now;
  /** Keys with a Repair submitted and not yet seen applied: path → the record round it repaired, when. */
  const pending = new Map<string, { readonly round: bigint; readonly at: number }>();

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
    const { queue } = planRepairs(records, nodeOf, o.params, maxPerScan);
    const inNeed = new Set(queue.map((c) => c.path));
    for (const path of pending.keys()) if (!inNeed.has(path)) pending.delete(path);
    const tip = await o.ports.tip(signal);
    const repaired: ScanReport['repaired'][number][] = [];
    const lost: LostFile[] = [];
    const deferred: ScanReport['deferred'][number][] = [];
    if (queue.length === 0) return { round: tip.round, repaired, lost, deferred };
    const registry = await o.ports.registry(tip.round, tip.seed);
    for (const c of queue) {
      if (signal.aborted) break;
      const p = pending.get(c.path);
      if (p !== undefined && p.round === recordRound(c.record) && now() - p.at < pendingMs) continue;
      pending.delete(c.path);
      const file = c.record.file!;
      // Sources: live holders first; with none left, the not-live ones (a storer with low reputation may still hold it).
      const sourceIds = [...c.live, ...c.notLive.map((x) => x.commitment)].map((x) => hex(x.storerId));
      const sources = sourceIds.map((id) => ({ id, endpoint: nodes.get(id)?.endpoint ?? '' })).filter((s) => s.endpoint !== '').slice(0, sourcesPerKey);
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
        const evidence = c.record.commitments.map((x) => {
          const id = hex(x.storerId);
          const why = notLiveReason(nodes.get(id), o.params);
          return { storer: id, standing: why === null ? 'live' : REASON_NAME[why], source: tried.get(id) ?? 'not asked (no endpoint)' };
        });
        lost.push({ path: c.path, filehash: hex(file.filehash), evidence });
        o.logger.error('repair: file lost', { key: c.path, filehash: hex(file.filehash), evidence });
      } else {
        deferred.push({ path: c.path, reason: [...tried.values()].join('; ') || 'no source with an endpoint' });
      }
    }
    return { round: tip.round, repaired, lost, deferred };
  }

  return { scan };
}

export type Repairer = ReturnType<typeof createRepairer>;
