// The rewards service's wiring: node key, genesis (rewards stake, storer endpoints, Q), RocksDB,
// consensus and storer gRPC clients → the Rewarder (audits each round it is selected) → RewardsService.
import { setMaxListeners } from 'node:events';
import { credentials, status } from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ConsensusServiceClient } from '../../gen/wolk/consensus/v1/consensus.js';
import { RewardsServiceService } from '../../gen/wolk/rewards/v1/rewards.js';
import { StorerServiceClient } from '../../gen/wolk/storer/v1/storer.js';
import { nodesWithRole } from '../../lib/chain/genesis.js';
import { mostAdvanced } from '../../lib/client/most-advanced.js';
import { IDLE_ROUND_LAMBDAS, rewardParamsOf } from '../../lib/chain/reward.js';
import { ClientPool, failover, NoEndpointAnswered, reconnectChannelOptions, unaryCall } from '../../lib/grpc/client.js';
import { grpcCode, isCancelledByCaller, isOutage } from '../../lib/grpc/errors.js';
import { loadOrCreateNodeKey } from '../../lib/identity/node-key.js';
import { registration, startGrpcNode } from '../../lib/service/grpc-node.js';
import { startEndpoints } from '../../lib/service/endpoints.js';
import { hasEndpoints } from '../../lib/service/options.js';
import type { NodeFactory } from '../../lib/service/runtime.js';
import { openRocksKv } from '../../lib/storage/rocksdb.js';
import type { StorerProber } from './auditor.js';
import { containmentLog, containmentWorstCaseMs, DEFAULT_CONTAINMENT_POLICY, kvContainmentStore, systemClock } from './containment.js';
import type { RewardsOptions } from './options.js';
import { Rewarder, type ChainAccess } from './rewarder.js';
import { rewardsHandlers } from './server.js';
import { kvLostStore, type LostStore } from './lost-store.js';
import { createRepairLoop } from './repair-loop.js';
import { sharedNonces } from './tx-nonces.js';

const OPTS = { ...reconnectChannelOptions, 'grpc.max_receive_message_length': 64 * 1024 * 1024 };

/** Reads go to the next consensus node on an outage and on NOT_FOUND (a lagging node lacks a round its peers have). */
const nextReplica = (err: unknown) => isOutage(err) || grpcCode(err) === status.NOT_FOUND;

/** A storer call the audit's time box (or the rewarder's stop) cut off: unreachable, and said so. */
function timeBoxed<T>(p: Promise<T>): Promise<T> {
  return p.catch((err: unknown) => {
    throw isCancelledByCaller(err) ? new Error('time box exhausted', { cause: err }) : err;
  });
}

export const createRewardsNode: NodeFactory<RewardsOptions> = async (ctx) => {
  const { options, logger } = ctx;
  // The consensus nodes: the static list and the SRV targets, read at each call (lib/net/endpoints.ts).
  const endpoints = await startEndpoints(options, options.consensus, logger);
  const db = await openRocksKv(join(options.dataDir, 'db')).catch((err: unknown) => {
    endpoints.stop();
    throw err;
  });
  let rewarder: Rewarder | null = null;
  let repairLoop: ReturnType<typeof createRepairLoop> | null = null;
  // Lost files and chunk sets (docs/repair.md §7), kept only where a repairer finds them.
  let lostStore: LostStore | null = null;
  // Ends the consensus calls in flight when the node stops (storer calls end with the audit's signal).
  const closing = new AbortController();
  // Every consensus and storer call in flight listens on it (tens at once in an audit): not a leak.
  setMaxListeners(0, closing.signal);
  const closers: { close(): Promise<void> }[] = [db, { close: async () => endpoints.stop() }];
  if (options.genesis === undefined || !hasEndpoints(options.consensus)) {
    logger.warn('the rewards service audits nothing: set WOLK_GENESIS and WOLK_CONSENSUS or WOLK_CONSENSUS_SRV', { genesis: options.genesis?.network ?? null, consensus: options.consensus.static, consensusSrv: options.consensus.srv ?? null });
  } else {
    const genesis = options.genesis;
    const { key } = loadOrCreateNodeKey(options.dataDir);
    const rewardsNodes = nodesWithRole(genesis, 'rewards');
    const self = rewardsNodes.nodes.find((n) => n.id === key.id);
    if (!self) logger.warn('this node is not a rewards node in genesis: it is never selected (dry runs only)', { id: key.id });
    const consensus = new ClientPool((e) => new ConsensusServiceClient(e, credentials.createInsecure(), OPTS));
    consensus.follow(endpoints);
    const storers = new ClientPool((e) => new StorerServiceClient(e, credentials.createInsecure(), OPTS));
    const signal = closing.signal;
    // The consensus nodes in turn (lib/grpc failover); a verdict is the chain's answer.
    const read = <T>(fn: (c: ConsensusServiceClient, endpoint: string) => Promise<T>) =>
      failover(endpoints.current(), (e) => fn(consensus.get(e), e), { tryNext: nextReplica, signal, whenEmpty: () => endpoints.emptyReason() }).then((r) => r.value);
    const storerEndpoint = new Map(nodesWithRole(genesis, 'storer').nodes.map((n) => [n.id, n.endpoint]));
    // A storer registered after genesis is reached at its node record's endpoint (GetAccount).
    const storer = async (id: Uint8Array) => {
      const hex = Buffer.from(id).toString('hex');
      let endpoint = storerEndpoint.get(hex);
      if (!endpoint) {
        const node = (await read((c, e) => unaryCall(c.getAccount.bind(c), { publicKey: Buffer.from(id) }, { endpoint: e, timeoutMs: 3000, signal }))).account?.node;
        if (!node?.endpoint) throw new Error(`storer ${hex.slice(0, 16)} is not a registered node`);
        endpoint = node.endpoint;
        storerEndpoint.set(hex, endpoint);
      }
      return { endpoint, client: storers.get(endpoint) };
    };
    const chain: ChainAccess = {
      // The most advanced node's tip: one that fell behind would hold the audits (and the search for a
      // submitted Reward) back at its round. Blocks are then read from whichever node has them.
      finalizedRound: async () => {
        const list = endpoints.current();
        if (list.length === 0) throw new NoEndpointAnswered([], endpoints.emptyReason());
        const answers = await Promise.allSettled(
          list.map((e) => {
            const c = consensus.get(e);
            return unaryCall(c.getStatus.bind(c), {}, { endpoint: e, timeoutMs: 3000, signal });
          }),
        );
        const best = mostAdvanced(answers);
        if (!best) throw new NoEndpointAnswered(answers.map((a, i) => ({ endpoint: list[i]!, error: (a as PromiseRejectedResult).reason as unknown })));
        return Number(best.status.finalizedRound);
      },
      block: async (round) => {
        const r = await read((c, e) => unaryCall(c.getBlock.bind(c), { selector: { $case: 'round', value: BigInt(round) } }, { endpoint: e, timeoutMs: 10_000, signal }));
        if (!r.block) throw new Error(`GetBlock ${round}: empty answer`);
        return r.block;
      },
      nonceOf: async (id) => (await read((c, e) => unaryCall(c.getAccount.bind(c), { publicKey: Buffer.from(id) }, { endpoint: e, timeoutMs: 3000, signal }))).account?.nonce ?? 0n,
      // A transaction goes to the next node on an outage only: a refusal is the chain's verdict.
      submit: async (stx) => {
        const r = await failover(endpoints.current(), (e) => {
          const c = consensus.get(e);
          return unaryCall(c.submitTx.bind(c), { tx: stx }, { endpoint: e, timeoutMs: 5000, signal });
        }, { signal, whenEmpty: () => endpoints.emptyReason() });
        return new Uint8Array(r.value.txId);
      },
    };
    const prober: StorerProber = {
      verifyFile: async (id, filehash, challenge, k, signal) => {
        const { endpoint, client: s } = await storer(id);
        const res = await timeBoxed(unaryCall(s.verifyFile.bind(s), { filehash: Buffer.from(filehash), challenge: Buffer.from(challenge), k }, { endpoint, timeoutMs: 10_000, signal }));
        if (!res.audit) throw new Error('empty answer');
        return res.audit;
      },
      verifyShare: async (id, chunkId, nonce, signal) => {
        const { endpoint, client: s } = await storer(id);
        const res = await timeBoxed(unaryCall(s.verifyShare.bind(s), { chunkId: Buffer.from(chunkId), nonce: Buffer.from(nonce) }, { endpoint, timeoutMs: 10_000, signal }));
        if (!res.proof) throw new Error('empty answer');
        return res.proof;
      },
      proveReplica: async (id, filehash, challenge, k, signal) => {
        const { endpoint, client: s } = await storer(id);
        const res = await timeBoxed(unaryCall(s.proveReplica.bind(s), { filehash: Buffer.from(filehash), challenge: Buffer.from(challenge), k }, { endpoint, timeoutMs: 10_000, signal }));
        if (!res.audit) throw new Error('empty answer');
        return res.audit;
      },
      proveSeal: async (id, filehash, challenge, k, signal) => {
        const { endpoint, client: s } = await storer(id);
        return timeBoxed(unaryCall(s.proveSeal.bind(s), { filehash: Buffer.from(filehash), challenge: Buffer.from(challenge), k }, { endpoint, timeoutMs: 30_000, signal }));
      },
      verifyShares: async (id, challenges, signal) => {
        const { endpoint, client: s } = await storer(id);
        const req = { challenges: challenges.map((c) => ({ chunkId: Buffer.from(c.chunkId), nonce: Buffer.from(c.nonce) })) };
        const res = await timeBoxed(unaryCall(s.verifyShares.bind(s), req, { endpoint, timeoutMs: 10_000, signal }));
        return res.answers.map((a) => (a.result?.$case === 'proof' ? { proof: a.result.value } : { notFound: a.result?.$case === 'notFound' ? a.result.value : 'empty answer' }));
      },
    };
    const auditDepth = options.auditDepth ?? genesis.params.auditDepth;
    // The repairer (docs/repair.md) signs Repairs with this node's key, so the rewarder's Rewards and its
    // Repairs share one nonce sequence (tx-nonces.ts). Without an indexer, or with the interval at 0, no repairs.
    let rewarderChain: ChainAccess = chain;
    if (options.indexer !== undefined && options.repairIntervalMs > 0) {
      // A dropped transaction is known once the chain's nonce has not moved for as long as a pending
      // Reward could still be included (maxDelay rounds and some), so numbering starts again then.
      const holdMs = Math.max(10_000, 4 * (rewardParamsOf(genesis).maxDelay + 2) * genesis.params.lambdaMs);
      const nonces = sharedNonces({ self: key.signPublicKey, chain, holdMs, now: Date.now });
      rewarderChain = nonces.forRewarder(chain);
      lostStore = kvLostStore(db);
      repairLoop = createRepairLoop({ genesis, key, indexer: options.indexer, consensus: endpoints, chain, nonces, intervalMs: options.repairIntervalMs, lost: lostStore, logger: logger.child({ module: 'repairer' }) });
    } else {
      logger.info('no repairs: set WOLK_INDEXER (and WOLK_REPAIR_INTERVAL_MS > 0) to run the repairer', { indexer: options.indexer ?? null, intervalMs: options.repairIntervalMs });
    }
    const policy = { ...DEFAULT_CONTAINMENT_POLICY, deadlineMs: options.auditDeadlineMs, retryDelayMs: options.auditDeadlineMs, maxRetries: options.auditRetries };
    // A containment cycle longer than the Reward's inclusion window at idle rounds makes a Reward expire
    // whenever its audit contains a storer (docs/rewards.md "Inclusion window").
    const { maxDelay } = rewardParamsOf(genesis);
    const windowMs = maxDelay * IDLE_ROUND_LAMBDAS * genesis.params.lambdaMs;
    if (containmentWorstCaseMs(policy) > windowMs) {
      logger.warn('a contained audit can outlast the Reward inclusion window: raise the genesis params.rewardMaxDelay or lower WOLK_AUDIT_DEADLINE_MS / WOLK_AUDIT_RETRIES', {
        containmentWorstCaseMs: containmentWorstCaseMs(policy),
        maxDelayRounds: maxDelay,
        idleWindowMs: windowMs,
      });
    }
    rewarder = new Rewarder({
      key,
      chainId: genesis.network,
      params: { ...rewardParamsOf(genesis), auditDepth },
      // Standing audits (docs/rewards.md): the selection is read from consensus with proofs, never trusted.
      stateProof: (key, round) => read((c, e) => unaryCall(c.getStateProof.bind(c), { key: Buffer.from(key), round: BigInt(round) }, { endpoint: e, timeoutMs: 5000, signal })),
      stake: BigInt(self?.stake ?? '0'),
      totalStake: rewardsNodes.totalStake,
      chain: rewarderChain,
      coordinatedNonces: rewarderChain !== chain,
      prober,
      kv: db,
      logger: logger.child({ module: 'rewarder' }),
      perStorerTimeoutMs: Math.max(2000, 20 * genesis.params.lambdaMs),
      pollMs: Math.max(100, genesis.params.lambdaMs),
      ...(genesis.params.porep ? { replicaAuditChallenges: genesis.params.porep.auditChallenges, sealChecks: { params: genesis.params.porep, passed: new Set<string>() } } : {}),
      containment: {
        policy,
        clock: systemClock,
        store: kvContainmentStore(db),
        random: (n) => new Uint8Array(randomBytes(n)),
        events: containmentLog(logger.child({ module: 'containment' })),
      },
    });
    closers.push({
      close: async () => {
        consensus.close();
        storers.close();
      },
    });
  }
  const r = rewarder;
  const loop = repairLoop;
  return startGrpcNode(ctx, {
    services: [
      registration({
        fullName: 'wolk.rewards.v1.RewardsService',
        definition: RewardsServiceService,
        handlers: rewardsHandlers(r, 'the rewards service has no network: set WOLK_GENESIS and WOLK_CONSENSUS or WOLK_CONSENSUS_SRV', lostStore),
      }),
    ],
    resources: closers,
    background: r
      ? [
          {
            start: () => r.start(),
            stop: () => {
              closing.abort();
              return r.stop();
            },
          },
          ...(loop ? [{ start: () => loop.start(), stop: () => loop.stop() }] : []),
        ]
      : [],
  });
};
