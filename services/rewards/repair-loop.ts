// The repairer's wiring (docs/repair.md): its ports over gRPC (indexer ListNodes/ListStorerKeys/
// ListStorerChunkSets, the chain's tip, blocks and registry, storers' Solicit, GetShare and CommitChunks,
// SubmitTx through the node's shared nonces) and a loop that
// scans every `intervalMs`, one scan at a time; stop() ends the scan in flight and returns when it has.
// After each scan what it found lost is recorded in the lost store and what it repaired is cleared
// from it (lost-store.ts, docs/repair.md §7).
import { credentials } from '@grpc/grpc-js';
import type { NodeRecord } from '../../gen/wolk/common/v1/node.js';
import type { Transaction } from '../../gen/wolk/common/v1/tx.js';
import { IndexerServiceClient } from '../../gen/wolk/indexer/v1/indexer.js';
import { StorerServiceClient } from '../../gen/wolk/storer/v1/storer.js';
import type { Genesis } from '../../lib/chain/genesis.js';
import { repairParamsOf } from '../../lib/chain/repair.js';
import { chainRegistry } from '../../lib/chain/registry-client.js';
import { spotCheckSeal } from '../../lib/chain/seal-spot-check.js';
import { signTransaction } from '../../lib/client/tx.js';
import { ClientPool, reconnectChannelOptions, unaryCall } from '../../lib/grpc/client.js';
import type { NodeKey } from '../../lib/identity/node-key.js';
import type { Logger } from '../../lib/log/logger.js';
import type { EndpointsLike } from '../../lib/net/endpoints.js';
import { lostChanges, type LostStore } from './lost-store.js';
import { createRepairer, type RepairerPorts, type ScanReport } from './repairer.js';
import { rotatingPager } from './rotating-pages.js';
import type { ChainAccess } from './rewarder.js';
import type { sharedNonces } from './tx-nonces.js';
import { signerOf } from '../../lib/identity/node-key.js';

export interface RepairLoopOptions {
  readonly genesis: Genesis;
  readonly key: NodeKey;
  readonly indexer: string;
  /** Read at each call (an EndpointSet follows DNS with WOLK_CONSENSUS_SRV). */
  readonly consensus: EndpointsLike;
  readonly chain: Pick<ChainAccess, 'finalizedRound' | 'block'>;
  readonly nonces: ReturnType<typeof sharedNonces>;
  readonly intervalMs: number;
  readonly logger: Logger;
  /** Most pages of ListStorerKeys / ListStorerChunkSets read per storer per scan (1000 a page); the next scan goes on from there (rotating-pages.ts). */
  readonly maxPages?: number;
  /** Where lost files and chunk sets are kept for ListLost (the node's RocksDB); none: only logged. */
  readonly lost?: LostStore;
  /** The clock of the lost store's first_seen_ms / last_seen_ms. Default Date.now. */
  readonly now?: () => number;
}

/** GetShare calls in flight to one holder while a chunk set is read. */
const READ_CONCURRENCY = 8;
const OPTS = { ...reconnectChannelOptions, 'grpc.max_receive_message_length': 64 * 1024 * 1024 };

export function createRepairLoop(o: RepairLoopOptions): { start(): void; stop(): Promise<void> } {
  const indexer = new IndexerServiceClient(o.indexer, credentials.createInsecure(), OPTS);
  const storers = new ClientPool((e) => new StorerServiceClient(e, credentials.createInsecure(), OPTS));
  const registry = chainRegistry(o.consensus);
  const maxPages = o.maxPages ?? 10;
  // Per-storer listings read maxPages pages per scan, each scan going on where the last one stopped
  // (rotating-pages.ts): a dead storer's chunk sets are every block of its life.
  const keysOf = rotatingPager(maxPages, async (storerHex, pageToken, signal) => {
    const r = await unaryCall(indexer.listStorerKeys.bind(indexer), { storerId: Buffer.from(storerHex, 'hex'), pageSize: 1000, pageToken }, { endpoint: o.indexer, timeoutMs: 10_000, signal });
    return { items: r.keys, next: r.nextPageToken };
  });
  const chunkSetsOf = rotatingPager(maxPages, async (storerHex, pageToken, signal) => {
    const r = await unaryCall(indexer.listStorerChunkSets.bind(indexer), { storerId: Buffer.from(storerHex, 'hex'), pageSize: 1000, pageToken }, { endpoint: o.indexer, timeoutMs: 10_000, signal });
    return { items: r.chunkSets, next: r.nextPageToken };
  });
  const abort = new AbortController();
  const ports: RepairerPorts = {
    async listNodes(signal) {
      const out: NodeRecord[] = [];
      let pageToken = '';
      do {
        const r = await unaryCall(indexer.listNodes.bind(indexer), { role: 0, pageSize: 1000, pageToken }, { endpoint: o.indexer, timeoutMs: 10_000, signal });
        out.push(...r.nodes);
        pageToken = r.nextPageToken;
      } while (pageToken !== '');
      return out;
    },
    storerKeys: (storerId, signal) => keysOf(Buffer.from(storerId).toString('hex'), signal),
    storerChunkSets: (storerId, signal) => chunkSetsOf(Buffer.from(storerId).toString('hex'), signal),
    // The repairer checks the answer against the record's new_chunks_hash.
    async newChunksOf(round) {
      const nc = (await o.chain.block(round)).block?.newChunks;
      if (!nc) throw new Error(`block ${round} has no NewChunks`);
      return nc;
    },
    // GetShare, as a node reads state objects back from storers (services/consensus/remote-state.ts get);
    // a chunk the storer lacks (NOT_FOUND) or cannot answer is null, its bytes are hashed by the repairer.
    async readChunks(endpoint, ids, signal) {
      const c = storers.get(endpoint);
      const out: (Uint8Array | null)[] = new Array<Uint8Array | null>(ids.length).fill(null);
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < ids.length && !signal.aborted; i = next++) {
          try {
            out[i] = new Uint8Array((await unaryCall(c.getShare.bind(c), { chunkId: Buffer.from(ids[i]!) }, { endpoint, timeoutMs: 10_000, signal })).data);
          } catch {
            out[i] = null;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, ids.length) }, worker));
      return out;
    },
    // A storer that lacks chunks stores and syncs what is pushed before it answers: a generous deadline,
    // and on a sealed network the same seal spot check as a Solicit's offer.
    commitChunks: async (endpoint, request, signal) => {
      const c = storers.get(endpoint);
      const res = await unaryCall(c.commitChunks.bind(c), request, { endpoint, timeoutMs: 120_000, signal });
      const porep = o.genesis.params.porep;
      if (porep && res.result?.$case === 'selected' && (request.newChunks?.chunkIds.length ?? 0) > 0) {
        // Judged against the set's chunk ids (lib/chain/sealed.ts verifyChunkSetSealAnswer), as the cert step judges it.
        const spot = await spotCheckSeal(res.result.value, porep, (req) => unaryCall(c.proveSeal.bind(c), req, { endpoint, timeoutMs: 30_000, signal }), undefined, request.newChunks!.chunkIds);
        if (!spot.ok) throw new Error(`storer at ${endpoint}: ${spot.reason}`);
      }
      return res;
    },
    async tip() {
      const round = await o.chain.finalizedRound();
      const header = (await o.chain.block(round)).block?.header;
      if (!header) throw new Error(`block ${round} has no header`);
      return { round, seed: new Uint8Array(header.seed) };
    },
    registry: (round, seed) => registry.at(round, seed),
    // The storer fetches the whole file from the source before it answers: a generous deadline.
    // On a sealed network an offer counts only once the storer's seal proof passes a spot check
    // (lib/chain/seal-spot-check.ts): consensus would leave a Repair with a wrong sealer out.
    solicit: async (endpoint, request, signal) => {
      const c = storers.get(endpoint);
      const res = await unaryCall(c.solicit.bind(c), request, { endpoint, timeoutMs: 120_000, signal });
      const porep = o.genesis.params.porep;
      if (porep && res.result?.$case === 'selected') {
        const spot = await spotCheckSeal(res.result.value, porep, (req) => unaryCall(c.proveSeal.bind(c), req, { endpoint, timeoutMs: 30_000, signal }));
        if (!spot.ok) throw new Error(`storer at ${endpoint}: ${spot.reason}`);
      }
      return res;
    },
    submit: (repair) =>
      o.nonces.submitWith((nonce) => {
        const tx: Transaction = { sender: Buffer.from(o.key.signPublicKey), nonce, fee: 0n, chainId: o.genesis.network, body: { $case: 'repair', value: repair } };
        return signTransaction(tx, signerOf(o.key));
      }),
  };
  const repairer = createRepairer({
    ports,
    params: repairParamsOf(o.genesis.params.repair),
    expectedStorers: o.genesis.params.storerCommitteeSize,
    signer: signerOf(o.key),
    logger: o.logger,
    replication: o.genesis.params.replication,
    ...(o.genesis.params.porep ? { porep: o.genesis.params.porep } : {}),
  });
  const now = o.now ?? Date.now;
  // A failed write is logged and the scan's findings wait for the next scan, which finds them again.
  const keepLost = async (r: ScanReport) => {
    if (!o.lost) return;
    const { record, clear } = lostChanges(r);
    try {
      await o.lost.record(record, now());
      await o.lost.clear(clear);
    } catch (err) {
      o.logger.warn('repair: could not update the lost list', { error: (err as Error).message, lost: record.length, repaired: clear.length });
    }
  };
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  const tick = () => {
    timer = null;
    running = repairer
      .scan(abort.signal)
      .then(async (r) => {
        await keepLost(r);
        const sets = r.chunkSets;
        if (r.repaired.length + r.lost.length + r.deferred.length + sets.repaired.length + sets.lost.length + sets.deferred.length > 0) {
          o.logger.info('repair scan', {
            round: r.round,
            repaired: r.repaired.length,
            lost: r.lost.length,
            deferred: r.deferred.length,
            reasons: r.deferred.slice(0, 3).map((d) => `${d.path}: ${d.reason}`),
            chunkSets: { repaired: sets.repaired.length, lost: sets.lost.length, deferred: sets.deferred.length, reasons: sets.deferred.slice(0, 3).map((d) => `${d.round}: ${d.reason}`) },
          });
        }
      })
      .catch((err: unknown) => {
        if (!abort.signal.aborted) o.logger.warn('repair scan failed', { error: (err as Error).message });
      })
      .finally(() => {
        running = null;
        if (!abort.signal.aborted) timer = setTimeout(tick, o.intervalMs);
      });
  };
  return {
    start() {
      if (timer === null && running === null && !abort.signal.aborted) timer = setTimeout(tick, o.intervalMs);
    },
    async stop() {
      abort.abort();
      if (timer !== null) clearTimeout(timer);
      timer = null;
      await running;
      registry.close();
      storers.close();
      indexer.close();
    },
  };
}
