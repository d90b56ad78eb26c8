// The consensus node's wiring (STYLE: one wiring file; parts built in order, closed in reverse):
// identity key and genesis → RocksDB → ledger (state tree, chain store) → peers, gossip, mempool →
// agreement host → gRPC ConsensusService; then, in the background, catch-up from peers and the start
// of agreement. Options come typed from ./options.ts (read once by the runtime); close() waits for the
// catch-up and the agreement host's in-flight work before the database closes.
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { ConsensusServiceClient, ConsensusServiceService } from '../../gen/wolk/consensus/v1/consensus.js';
import { nodesWithRole, type Genesis } from '../../lib/chain/genesis.js';
import { fromHex, sha256, toHex } from '../../lib/crypto/index.js';
import { type NodeKey, loadOrCreateNodeKey, signerOf } from '../../lib/identity/node-key.js';
import type { Logger } from '../../lib/log/logger.js';
import { retry } from '../../lib/grpc/retry.js';
import { registration, startGrpcNode, type NodePart } from '../../lib/service/grpc-node.js';
import type { NodeFactory, RunningNode, ServiceContext } from '../../lib/service/runtime.js';
import type { KvStore } from '../../lib/storage/kv.js';
import { openRocksKv } from '../../lib/storage/rocksdb.js';
import { createAgreementCrypto } from './agreement/crypto.js';
import { algorandParams, smallNetworkParams, type AgreementParams } from './agreement/params.js';
import { catchUp } from './catchup.js';
import { ChainStore } from './chain-store.js';
import { fetchCheckpoint, verifyCheckpoint, type Checkpoint, type VerifiedCheckpoint } from './checkpoint.js';
import { Gossip } from './gossip.js';
import { AgreementHost, firstPeerBlock } from './host.js';
import { DEFAULT_BLOCK_LIMITS, Ledger } from './ledger/ledger.js';
import { Mempool } from './mempool.js';
import { Peers } from './peers.js';
import { dnsResolver } from '../../lib/net/endpoints.js';
import { StorerChunks } from './remote-state.js';
import { SOLO_GENESIS_PARAMS, type ConsensusOptions } from './options.js';
import { consensusHandlers } from './server.js';
import { createStorageCheck } from './storage-check.js';
import { SealRefusals } from './seal-refusals.js';

/** Below this many committee members sortition cannot sample: every stake unit votes (params.ts). */
const SMALL_NETWORK_NODES = 100;

export function agreementParams(genesis: Genesis, lambdaMs: number): AgreementParams {
  const committee = nodesWithRole(genesis, 'consensus');
  // The cert step's deadline must hold what happens between a period's start and a cert vote here: the
  // proposer's assembly and block-storage budget (λ), the proposal's trip, our validation and the storage
  // check (up to 3λ). 4λ (the simulator's small-network default) left a block of ~10 SetKeys certified by
  // nobody, period after period, under load; 8.5λ is go-algorand's deadline/λ ratio for λ = 2 s.
  // The dynamic filter timeout may not go below 2λ here (issue 17): a proposer builds its block before
  // proposing (execution λ/4, then its chunks to storers and their CommitChunks, budget λ), so under
  // load its proposal arrived after a filter lowered to λ by the quick empty blocks before, nobody
  // soft-voted it, and the round went to later periods (5–15 s each: 69 % of the benchmark's time).
  // A late proposal's arrival is never recorded (only period-0 winners are), so the filter never learnt.
  if (committee.nodes.length < SMALL_NETWORK_NODES) return smallNetworkParams(committee.totalStake, { lambda: lambdaMs, deadlineTimeout: 8.5 * lambdaMs, dynamicFilterLowerBound: 2 * lambdaMs });
  return algorandParams({ lambda: lambdaMs, filterTimeout0: 2 * lambdaMs, filterTimeout: 2 * lambdaMs, deadlineTimeout: 8.5 * lambdaMs, catchupInterval: 2 * lambdaMs, maxRecoveryExtra: 64 * lambdaMs });
}

/** Without WOLK_GENESIS: a chain of this node alone (development, the services smoke test). */
function soloGenesis(key: NodeKey, endpoint: string, stake: number): Genesis {
  return {
    network: 'wolk-local',
    seed: toHex(sha256(new TextEncoder().encode(`wolk-local/${key.id}`))),
    timestampMs: 0,
    params: SOLO_GENESIS_PARAMS,
    nodes: [{ id: key.id, vrfPublicKey: toHex(key.vrfPublicKey), endpoint, roles: ['consensus'], stake: String(Math.max(1, stake)) }],
  };
}

/**
 * The latest certified block of `endpoint` and the seed window of headers before it, verified; retried
 * (lib/grpc/retry.ts: backoff 250 ms doubling to 2 s, full jitter) for a minute while the peer is not
 * reachable or has no block yet, or until `signal` fires. A checkpoint that does not verify stops the start.
 */
async function takeCheckpoint(endpoint: string, verify: (cp: Checkpoint) => VerifiedCheckpoint, log: Logger, signal?: AbortSignal): Promise<VerifiedCheckpoint> {
  // Blocks carry up to 4 MiB of transactions: the default 4 MiB receive limit is too small.
  const client = new ConsensusServiceClient(endpoint, credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  try {
    const cp = await retry(() => fetchCheckpoint(client, DEFAULT_BLOCK_LIMITS.seedWindow), {
      baseMs: 250,
      maxMs: 2000,
      totalMs: 60_000,
      // Any failure to fetch (unreachable, no block after genesis yet) is retried; verification is not.
      retryOn: () => true,
      signal,
      onRetry: (err, attempt) => log.info('checkpoint not available yet', { from: endpoint, attempt: attempt + 1, error: (err as Error).message }),
    }).catch((err: unknown) => {
      throw new Error(`WOLK_CHECKPOINT_FROM: no checkpoint from ${endpoint}: ${(err as Error).message}`, { cause: err });
    });
    return verify(cp);
  } finally {
    client.close();
  }
}

export const createConsensusNode: NodeFactory<ConsensusOptions> = async (ctx) => {
  const { options, logger } = ctx;
  const { key } = loadOrCreateNodeKey(options.dataDir);
  const self = options.self;
  const genesis = options.genesis ?? soloGenesis(key, self, options.stake);
  if (options.genesis === undefined) logger.info('no WOLK_GENESIS: a one-node chain of this node alone (wolk-local)');
  const lambdaMs = options.lambdaMs;
  if (lambdaMs !== genesis.params.lambdaMs) logger.warn('WOLK_LAMBDA_MS differs from the genesis λ: this node\'s timeouts are not the committee\'s', { lambdaMs, genesisLambdaMs: genesis.params.lambdaMs });

  const db = await openRocksKv(join(options.dataDir, 'db'));
  // What is open so far, closed (last first) when the start fails before the node owns it.
  const opened: (() => void | Promise<void>)[] = [() => db.close()];
  try {
    return await startNode(ctx, key, genesis, db, opened);
  } catch (err) {
    for (const close of opened.reverse()) await Promise.resolve(close()).catch(() => undefined);
    throw err;
  }
};

async function startNode(
  ctx: ServiceContext<ConsensusOptions>,
  key: NodeKey,
  genesis: Genesis,
  db: KvStore & { close(): Promise<void> },
  opened: (() => void | Promise<void>)[],
): Promise<RunningNode> {
  const { options, logger } = ctx;
  const { self, lambdaMs } = options;
  const committee = nodesWithRole(genesis, 'consensus').nodes;
  const directory = new Map(committee.map((n) => [n.id, { vrf: fromHex(n.vrfPublicKey), sign: fromHex(n.id) }]));
  const crypto = createAgreementCrypto(
    { voterId: key.id, vrfSecretKey: key.vrfSecretKey, signSecretKey: key.signSecretKey },
    { vrfPublicKey: (v) => directory.get(v)?.vrf ?? null, signPublicKey: (v) => directory.get(v)?.sign ?? null },
  );
  const params = agreementParams(genesis, lambdaMs);
  const log = logger.child({ node: key.id.slice(0, 12) });
  // Block storage (docs/consensus.md "Block storage"): the genesis storers keep every block's own
  // chunks; they are also where state-tree objects this node lacks come from.
  const blockChunks = new StorerChunks({
    storers: nodesWithRole(genesis, 'storer').nodes.map((n) => ({ id: n.id, endpoint: n.endpoint })),
    replicas: genesis.params.replication,
    callTimeoutMs: Math.max(4 * lambdaMs, 2000),
    logger: log,
    signer: signerOf(key),
  });
  opened.push(() => blockChunks.close());
  const storeBudgetMs = options.blockStoreBudgetMs;
  // Seal proofs this node's storage check refused: its proposals leave such commitments out (docs/porep.md
  // "A wrong sealer is kept off the chain").
  const sealRefusals = new SealRefusals();
  const checkpointFrom = options.checkpointFrom;
  let checkpoint: VerifiedCheckpoint | undefined;
  if (checkpointFrom !== undefined && ((await new ChainStore(db).latestRound()) ?? 0) === 0) {
    const committeeStake = new Map(committee.map((n) => [n.id, BigInt(n.stake)]));
    checkpoint = await takeCheckpoint(checkpointFrom, (cp) => verifyCheckpoint(cp, { crypto, params, committee: committeeStake }), log);
  }
  const peers = new Peers({
    static: [...options.peers],
    ...(options.peersSrv !== undefined ? { srv: options.peersSrv } : {}),
    self,
    refreshMs: options.discovery.srvRefreshMs,
    ...(options.peersSrv !== undefined ? { resolver: dnsResolver(options.discovery.dnsServers) } : {}),
    logger: log,
    maxMessageBytes: options.maxMessageBytes,
  });
  opened.push(() => peers.stop());
  const ledger = await Ledger.open({
    kv: db,
    // Bodies of the blocks before a checkpoint (only their headers are kept), from the peers.
    blockSource: (round, accept) => firstPeerBlock(peers, peers.endpoints(), round, (cb) => (cb.block && accept(cb.block) ? cb.block : null)),
    genesis,
    crypto: { hash: (...p: Uint8Array[]) => sha256(...p) },
    nodeSource: blockChunks.nodeSource(),
    // One budget for both: placing the chunks, then the storers' commitments to the set (CommitChunks),
    // which get what is left of it but at least a quarter (docs/consensus.md "Block storage").
    blockStore: {
      store: async (round, chunks, set) => {
        const started = Date.now();
        const summary = await blockChunks.store(chunks, storeBudgetMs);
        const deadline = Math.max(started + storeBudgetMs, Date.now() + storeBudgetMs / 4);
        const stored = Date.now();
        // A storer whose seal proof this node refused (for any file or set) is not taken as a committer.
        const offered = await blockChunks.commitments(set, chunks, deadline);
        const chunkCommitments = offered.filter((c) => !sealRefusals.refusedStorer(c.storerId));
        if (chunkCommitments.length < offered.length) log.warn('chunk-set commitments of storers whose seal proofs were refused left out', { round, left: offered.length - chunkCommitments.length });
        log.debug('block stored', { round, chunks: chunks.length, storeMs: stored - started, commitMs: Date.now() - stored, commitments: chunkCommitments.length });
        return { ...summary, chunkCommitments };
      },
    },
    // The proposal must be out before the others' filter timeout (2λ), after the storage budget (λ):
    // λ/2 of execution made proposals of ~20 SetKeys leave 0.9–1.3 s into the period under load.
    assembleBudgetMs: Math.max(50, lambdaMs / 4),
    ...(checkpoint ? { checkpoint } : {}),
  });
  if (checkpoint) log.info('started from a checkpoint: state comes from storers', { round: checkpoint.round, from: checkpointFrom });
  const gossip = new Gossip(peers, log);
  const mempool = new Mempool();
  const host = new AgreementHost({
    ledger,
    crypto,
    params,
    mempool,
    gossip,
    peers,
    logger: log,
    maxBlockTxs: DEFAULT_BLOCK_LIMITS.maxTxs,
    storageCheck: createStorageCheck({ ledger, logger: log, timeoutMs: Math.max(3 * lambdaMs, 300), refusals: sealRefusals }),
    screen: (stx) => sealRefusals.leaveOut(stx),
  });
  if (!directory.has(key.id)) log.warn('this node is not in the genesis committee: it follows but does not vote', { id: key.id });

  const abort = new AbortController();
  let joining: Promise<void> = Promise.resolve();
  const agreement: NodePart = {
    async start() {
      await peers.start();
      // In the background: the server is up (peers can reach us) while we catch up and then join.
      joining = (async () => {
        await catchUp({ ledger, peers, crypto, params, logger: log }, abort.signal).catch((err: unknown) => log.warn('catch-up failed', { error: err }));
        if (abort.signal.aborted) return;
        await host.start();
        log.info('agreement started', { round: ledger.tip().round + 1, lambdaMs, peers: peers.endpoints().length });
      })().catch((err: unknown) => log.error('agreement did not start', { error: err }));
    },
    // Resolves when nothing of agreement runs any more: the catch-up has seen the abort, the host's
    // in-flight assembly, validation and writes have ended; only then may the database close.
    async stop() {
      abort.abort();
      await joining;
      await host.stop();
      peers.stop();
    },
  };

  return startGrpcNode(ctx, {
    services: [
      registration({
        fullName: 'wolk.consensus.v1.ConsensusService',
        definition: ConsensusServiceService,
        handlers: consensusHandlers({ ledger, mempool, host, gossip, peers, crypto, nodeId: key.signPublicKey }),
      }),
    ],
    resources: [db, { close: async () => blockChunks.close() }],
    background: [agreement],
  });
};
