// The storer's wiring (STYLE: one wiring file per service): identity, RocksDB, the blob store for file
// bytes, the cores, the gRPC server; close() tears down in reverse (server drains, blobs, database).
import { credentials } from '@grpc/grpc-js';
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { nodesWithRole } from '../../lib/chain/genesis.js';
import { createCertificateVerifier } from '../../lib/chain/certificate.js';
import { Follower } from '../../lib/chain/follower.js';
import { chainRegistry } from '../../lib/chain/registry-client.js';
import { ConsensusServiceClient } from '../../gen/wolk/consensus/v1/consensus.js';
import { ClientPool, reconnectChannelOptions } from '../../lib/grpc/client.js';
import { loadOrCreateNodeKey } from '../../lib/identity/node-key.js';
import { registration, startGrpcNode, type NodePart } from '../../lib/service/grpc-node.js';
import { startEndpoints } from '../../lib/service/endpoints.js';
import { hasEndpoints } from '../../lib/service/options.js';
import type { EndpointSet } from '../../lib/net/endpoints.js';
import type { NodeFactory, RunningNode } from '../../lib/service/runtime.js';
import type { BlobStore } from '../../lib/storage/blob.js';
import { openFsBlobStore } from '../../lib/storage/blob-fs.js';
import { openRadosBlobStore } from '../../lib/storage/blob-rados.js';
import { openRocksKv } from '../../lib/storage/rocksdb.js';
import { Admission, genesisNodes, resolveHost } from './admission.js';
import { fetchFromSource } from './fetch.js';
import { FileStore } from './files.js';
import type { StorerOptions } from './options.js';
import { registerSelf } from './register.js';
import { createSelection } from './selection.js';
import { storerHandlers } from './server.js';
import { ShareStore } from './shares.js';
import { Solicitor } from './solicit.js';
import { ChunkCommitter } from './chunk-commit.js';
import { Coverage } from './coverage.js';
import { Reclaimer } from './reclaimer.js';
import { storerServiceDefinition } from '../../lib/grpc/storer-wire.js';
import { withAttacks, wrongSealerEncoding } from './faults.js';
import { workerLabeller } from './porep/labeller.js';
import { Sealer } from './porep/sealer.js';
import { SectorStore } from './porep/sectors.js';

export const createStorerNode: NodeFactory<StorerOptions> = async (ctx) => {
  const opts = ctx.options;
  const { dataDir } = opts;
  const log = ctx.logger;
  const { key, created } = loadOrCreateNodeKey(dataDir);
  log.info('storer identity', { id: key.id, vrfPublicKey: key.vrfPublicKey, created });
  if (opts.faults.size > 0) {
    log.warn('!!! FAULT SWITCHES ARE ON: this storer misbehaves on purpose (tests only, never in production) !!!', { faults: [...opts.faults] });
  }

  const db = await openRocksKv(join(dataDir, 'db'));
  let blobs: BlobStore;
  try {
    blobs =
      opts.store.kind === 'rados'
        ? await openRadosBlobStore({
            confPath: opts.cephConf,
            pool: opts.store.pool,
            // Each storer in its own namespace by default: start-up clean-up removes every segment the
            // storer's own records do not name, so storers must never share one.
            namespace: opts.store.namespace ?? key.id,
            ...(opts.cephClient !== undefined ? { client: opts.cephClient } : {}),
          })
        : await openFsBlobStore(join(dataDir, 'blobs'));
  } catch (err) {
    await db.close();
    throw err;
  }
  let node: RunningNode & { port: number };
  // Once startGrpcNode has them, it closes the stores itself if the start fails.
  let handedOver = false;
  let consensus: EndpointSet | undefined;
  try {
    const freeBytes = async () => {
      if (opts.store.kind !== 'rocksdb') return undefined;
      try {
        const s = await statfs(dataDir);
        return Number(s.bavail) * Number(s.bsize);
      } catch {
        return undefined;
      }
    };
    const files = new FileStore({
      freeBytes,
      kv: db,
      blobs,
      storerId: key.signPublicKey,
      logger: log,
      maxFileBytes: opts.maxFileBytes,
      maxConcurrentUploads: opts.maxConcurrentUploads,
    });
    const shares = new ShareStore(db);
    const recovered = await files.init();
    await shares.init();
    log.info('storage opened', { files: recovered.files, chunks: shares.count, removedSegments: recovered.removedSegments, store: opts.store.kind });

    // Proof of replication (genesis params.porep): sectors labelled ahead in a worker thread, files
    // sealed into them on Solicit (docs/porep.md "Sectors").
    const porep = opts.genesis?.params.porep;
    const sectors = porep ? new SectorStore({ dir: join(dataDir, 'sectors'), storerId: key.signPublicKey, params: porep, labeller: workerLabeller, logger: log, spares: opts.spareSectors }) : null;
    const sealer = sectors ? new Sealer({ dir: join(dataDir, 'sealed'), sectors, files, shares, key, logger: log, columnTreeCacheBytes: opts.columnTreeCacheBytes, ...(opts.faults.has('wrong-sealer') ? { encode: wrongSealerEncoding } : {}) }) : null;
    if (sectors && sealer) {
      const found = sectors.init();
      const sealed = await sealer.init();
      log.info('sectors opened', {
        sectors: found.sectors - sealed.reclaimedSectors,
        removedHalfLabelled: found.removed,
        sealedFiles: sealed.sealed,
        droppedRecordsOfDeletedFiles: sealed.dropped,
        reclaimedSectors: sealed.reclaimedSectors,
        sectorBytes: porep!.sectorBytes,
        layers: porep!.layers,
      });
    }

    // With consensus, Solicit weighs this storer by stake × reputation at the request's seed round. The
    // consensus nodes: the static list and the SRV targets, read at each call (lib/net/endpoints.ts).
    const withConsensus = hasEndpoints(opts.consensus);
    const consensusSet = (consensus = await startEndpoints(opts, opts.consensus, log));
    const registry = opts.genesis && withConsensus ? chainRegistry(consensusSet) : undefined;
    const selection = createSelection(opts.genesis, { idHex: key.id, vrfPublicKey: key.vrfPublicKey, stake: opts.stake }, opts.replication, registry ? (round, seed) => registry.at(round, seed) : undefined);
    if (!opts.genesis) log.info('no WOLK_GENESIS: Solicit uses a registry of this storer alone (WOLK_STAKE against the request\'s total_stake)');
    // Who this storer keeps bytes for (admission.ts): with a genesis, only nodes the chain registers.
    const admission = new Admission({
      mode: opts.admission,
      lookup: registry
        ? async (id) => {
            const n = await registry.node(id);
            return n ? { roles: n.roles, endpoint: n.endpoint } : undefined;
          }
        : opts.genesis
          ? genesisNodes(opts.genesis)
          : async () => undefined,
      storerEndpoints: registry
        ? async (round, seed) => (await registry.at(Number(round), seed)).storers.map((s) => s.endpoint)
        : async () => (opts.genesis ? nodesWithRole(opts.genesis, 'storer').nodes.map((n) => n.endpoint) : []),
      resolve: resolveHost,
      now: Date.now,
      budget: opts.writeBudget,
    });
    if (opts.admission === 'open') {
      const say = opts.genesis ? log.warn.bind(log) : log.info.bind(log);
      say('write admission is open: this storer keeps bytes for anyone who sends them (WOLK_WRITE_ADMISSION=open)', { ...opts.writeBudget });
    } else {
      log.info('write admission: only writes signed by nodes the chain registers', { chain: registry ? 'consensus' : 'genesis', ...opts.writeBudget });
    }
    const solicitor = new Solicitor({
      admission,
      files,
      key,
      selection,
      fetch: (endpoint, filehash, signal) => fetchFromSource(endpoint, filehash, opts.maxMessageBytes, signal),
      logger: log,
      maxFileBytes: opts.maxFileBytes,
      sealer,
      dropAfterCommit: opts.faults.has('drop-after-commit'),
    });
    const chunkCommitter = new ChunkCommitter({ admission, shares, key, selection, logger: log, sealer, dropAfterCommit: opts.faults.has('drop-after-commit') });
    let endpoint = '';
    const registering = new AbortController();
    // A storer the genesis does not list registers itself on chain (services/storer/register.ts), once
    // its server listens; close() waits for the registration loop to end.
    let registrationLoop: Promise<unknown> = Promise.resolve();
    const selfRegistration: NodePart = {
      start(listening) {
        endpoint = listening.endpoint;
        if (!opts.genesis || !withConsensus || nodesWithRole(opts.genesis, 'storer').nodes.some((n) => n.id === key.id)) return;
        const chainId = opts.genesis.network;
        registrationLoop = registerSelf({ key, chainId, endpoint: () => opts.advertise ?? endpoint, stake: opts.stake, consensus: consensusSet, logger: log, signal: registering.signal }).catch((err: unknown) =>
          log.error('registration stopped', { error: (err as Error).message }),
        );
      },
      async stop() {
        registering.abort();
        await registrationLoop;
      },
    };
    // Space reclamation (reclaimer.ts): follows certified blocks to learn what the chain holds this
    // storer responsible for, and deletes the rest after WOLK_RECLAIM_AFTER_MS.
    const reclaim = opts.reclaimAfterMs > 0 && opts.genesis && withConsensus ? opts.genesis : null;
    if (opts.reclaimAfterMs > 0 && !reclaim) log.warn('WOLK_RECLAIM_AFTER_MS is set, but without WOLK_GENESIS and WOLK_CONSENSUS (or WOLK_CONSENSUS_SRV) there is no chain to tell covered data from: reclamation is off');
    const coverageClients = reclaim ? new ClientPool((e) => new ConsensusServiceClient(e, credentials.createInsecure(), reconnectChannelOptions)) : null;
    coverageClients?.follow(consensusSet);
    const coverage = reclaim ? new Coverage(db, { genesisSeedHex: reclaim.seed, certificates: createCertificateVerifier(reclaim), storerId: key.signPublicKey }) : null;
    const follower =
      coverage && coverageClients
        ? new Follower({
            endpoints: consensusSet,
            source: (e) => coverageClients.get(e),
            nextRound: async () => ((await coverage.cursor())?.round ?? -1) + 1,
            apply: async (b) => void (await coverage.apply(b)),
            logger: log.child({ module: 'coverage' }),
          })
        : null;
    const reclaimer = coverage ? new Reclaimer({ files, shares, kv: db, coverage, afterMs: opts.reclaimAfterMs, now: Date.now, logger: log, ...(sealer ? { sealed: sealer } : {}) }) : null;
    if (reclaimer) log.info('space reclamation on: uncovered files and chunks are deleted after the deadline', { reclaimAfterMs: opts.reclaimAfterMs, sweepMs: reclaimer.intervalMs });
    handedOver = true;
    node = await startGrpcNode(ctx, {
      services: [
        registration({
          fullName: 'wolk.storer.v1.StorerService',
          definition: storerServiceDefinition,
          handlers: withAttacks(storerHandlers({
            key,
            admission,
            files,
            shares,
            solicitor,
            chunkCommitter,
            sealer,
            maxFileBytes: opts.maxFileBytes,
            maxMessageBytes: opts.maxMessageBytes,
            advertise: () => opts.advertise ?? endpoint,
            freeBytes,
            corruptReads: opts.faults.has('corrupt-reads'),
          }), opts.faults, log, {
            sealer,
            files,
            key,
            peers: opts.genesis ? nodesWithRole(opts.genesis, 'storer').nodes.filter((n) => n.id !== key.id).map((n) => n.endpoint) : [],
            fetch: (endpoint, filehash, signal) => fetchFromSource(endpoint, filehash, opts.maxMessageBytes, signal),
          }),
        }),
      ],
      resources: [{ close: async () => consensusSet.stop() }, { close: async () => registry?.close() }, { close: async () => coverageClients?.close() }, db, blobs],
      background: [
        selfRegistration,
        ...(sectors ? [{ start: () => sectors.start(), stop: () => sectors.stop() }] : []),
        ...(follower && reclaimer
          ? [
              { start: () => follower.start(), stop: () => follower.stop() },
              { start: () => reclaimer.start(), stop: () => reclaimer.stop() },
            ]
          : []),
      ],
    });
  } catch (err) {
    if (!handedOver) {
      consensus?.stop();
      await blobs.close();
      await db.close();
    }
    throw err;
  }
  return node;
};
