// The rewards service's wiring: node key, genesis (rewards stake, storer endpoints, Q), RocksDB,
// consensus and storer gRPC clients → the Rewarder (audits each round it is selected) → RewardsService.
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { join } from 'node:path';
import type { CertifiedBlock } from '../../gen/wolk/common/v1/chain.js';
import { ConsensusServiceClient, type GetAccountResponse, type GetBlockResponse, type GetStatusResponse, type SubmitTxResponse } from '../../gen/wolk/consensus/v1/consensus.js';
import { RewardsServiceService } from '../../gen/wolk/rewards/v1/rewards.js';
import { StorerServiceClient, type VerifyFileResponse, type VerifyShareResponse, type VerifySharesResponse } from '../../gen/wolk/storer/v1/storer.js';
import { nodesWithRole } from '../../lib/chain/genesis.js';
import { mostAdvanced } from '../../lib/client/most-advanced.js';
import { DEFAULT_REWARD_PARAMS } from '../../lib/chain/reward.js';
import { loadOrCreateNodeKey } from '../../lib/identity/node-key.js';
import { registration, startGrpcNode } from '../../lib/service/grpc-node.js';
import type { NodeFactory } from '../../lib/service/runtime.js';
import { openRocksKv } from '../../lib/storage/rocksdb.js';
import type { StorerProber } from './auditor.js';
import type { RewardsOptions } from './options.js';
import { Rewarder, type ChainAccess } from './rewarder.js';
import { rewardsHandlers } from './server.js';

const OPTS = { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 2000, 'grpc.max_receive_message_length': 64 * 1024 * 1024 };

type Cb<T> = (err: ServiceError | null, res: T) => void;
function call<T>(f: (md: Metadata, o: { deadline: number }, cb: Cb<T>) => unknown, timeoutMs: number, signal?: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('time box exhausted'));
    const c = f(new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res))) as { cancel?: () => void };
    signal?.addEventListener('abort', () => c.cancel?.(), { once: true });
  });
}

export const createRewardsNode: NodeFactory<RewardsOptions> = async (ctx) => {
  const { options, logger } = ctx;
  const db = await openRocksKv(join(options.dataDir, 'db'));
  const endpoints = [...options.consensus];
  let rewarder: Rewarder | null = null;
  const closers: { close(): Promise<void> }[] = [db];
  if (options.genesis === undefined || endpoints.length === 0) {
    logger.warn('the rewards service audits nothing: set WOLK_GENESIS and WOLK_CONSENSUS', { genesis: options.genesis?.network ?? null, consensus: endpoints });
  } else {
    const genesis = options.genesis;
    const { key } = loadOrCreateNodeKey(options.dataDir);
    const rewardsNodes = nodesWithRole(genesis, 'rewards');
    const self = rewardsNodes.nodes.find((n) => n.id === key.id);
    if (!self) logger.warn('this node is not a rewards node in genesis: it is never selected (dry runs only)', { id: key.id });
    const consensus = endpoints.map((e) => new ConsensusServiceClient(e, credentials.createInsecure(), OPTS));
    const storerEndpoint = new Map(nodesWithRole(genesis, 'storer').nodes.map((n) => [n.id, n.endpoint]));
    const storers = new Map<string, InstanceType<typeof StorerServiceClient>>();
    // A storer registered after genesis is reached at its node record's endpoint (GetAccount).
    const storer = async (id: Uint8Array) => {
      const hex = Buffer.from(id).toString('hex');
      let ep = storerEndpoint.get(hex);
      if (!ep) {
        const node = await any(async (c) => (await call<GetAccountResponse>((md, o, cb) => c.getAccount({ publicKey: Buffer.from(id) }, md, o, cb), 3000)).account?.node);
        if (!node?.endpoint) throw new Error(`storer ${hex.slice(0, 16)} is not a registered node`);
        ep = node.endpoint;
        storerEndpoint.set(hex, ep);
      }
      let c = storers.get(ep);
      if (!c) storers.set(ep, (c = new StorerServiceClient(ep, credentials.createInsecure(), OPTS)));
      return c;
    };
    // Try each consensus node in turn.
    async function any<T>(f: (c: ConsensusServiceClient) => Promise<T>): Promise<T> {
      let last: unknown;
      for (const c of consensus) {
        try {
          return await f(c);
        } catch (err) {
          last = err;
          if ((err as ServiceError).code === 9 || (err as ServiceError).code === 3) throw err; // a verdict, not an outage
        }
      }
      throw last;
    }
    const chain: ChainAccess = {
      // The most advanced node's tip: one that fell behind would hold the audits (and the search for a
      // submitted Reward) back at its round. Blocks are then read from whichever node has them.
      finalizedRound: async () => {
        const answers = await Promise.allSettled(consensus.map((c) => call<GetStatusResponse>((md, o, cb) => c.getStatus({}, md, o, cb), 3000)));
        const best = mostAdvanced(answers);
        if (!best) throw (answers.find((a) => a.status === 'rejected') as PromiseRejectedResult).reason;
        return Number(best.status.finalizedRound);
      },
      block: (round) => any(async (c) => (await call<GetBlockResponse>((md, o, cb) => c.getBlock({ selector: { $case: 'round', value: BigInt(round) } }, md, o, cb), 10_000)).block as CertifiedBlock),
      nonceOf: (id) => any(async (c) => (await call<GetAccountResponse>((md, o, cb) => c.getAccount({ publicKey: Buffer.from(id) }, md, o, cb), 3000)).account?.nonce ?? 0n),
      submit: (stx) => any(async (c) => new Uint8Array((await call<SubmitTxResponse>((md, o, cb) => c.submitTx({ tx: stx }, md, o, cb), 5000)).txId)),
    };
    const prober: StorerProber = {
      verifyFile: async (id, filehash, challenge, k, signal) => {
        const s = await storer(id);
        const res = await call<VerifyFileResponse>((md, o, cb) => s.verifyFile({ filehash: Buffer.from(filehash), challenge: Buffer.from(challenge), k }, md, o, cb), 10_000, signal);
        if (!res.audit) throw new Error('empty answer');
        return res.audit;
      },
      verifyShare: async (id, chunkId, nonce, signal) => {
        const s = await storer(id);
        const res = await call<VerifyShareResponse>((md, o, cb) => s.verifyShare({ chunkId: Buffer.from(chunkId), nonce: Buffer.from(nonce) }, md, o, cb), 10_000, signal);
        if (!res.proof) throw new Error('empty answer');
        return res.proof;
      },
      verifyShares: async (id, challenges, signal) => {
        const s = await storer(id);
        const req = { challenges: challenges.map((c) => ({ chunkId: Buffer.from(c.chunkId), nonce: Buffer.from(c.nonce) })) };
        const res = await call<VerifySharesResponse>((md, o, cb) => s.verifyShares(req, md, o, cb), 10_000, signal);
        return res.answers.map((a) => (a.result?.$case === 'proof' ? { proof: a.result.value } : { notFound: a.result?.$case === 'notFound' ? a.result.value : 'empty answer' }));
      },
    };
    const auditDepth = options.auditDepth ?? genesis.params.auditDepth;
    rewarder = new Rewarder({
      key,
      chainId: genesis.network,
      params: { ...DEFAULT_REWARD_PARAMS, auditDepth },
      stake: BigInt(self?.stake ?? '0'),
      totalStake: rewardsNodes.totalStake,
      chain,
      prober,
      kv: db,
      logger: logger.child({ module: 'rewarder' }),
      perStorerTimeoutMs: Math.max(2000, 20 * genesis.params.lambdaMs),
      pollMs: Math.max(100, genesis.params.lambdaMs),
    });
    closers.push({ close: async () => [...consensus, ...storers.values()].forEach((c) => c.close()) });
  }
  const r = rewarder;
  return startGrpcNode(ctx, {
    services: [
      registration({
        fullName: 'wolk.rewards.v1.RewardsService',
        definition: RewardsServiceService,
        handlers: rewardsHandlers(r, 'the rewards service has no network: set WOLK_GENESIS and WOLK_CONSENSUS'),
      }),
    ],
    resources: closers,
    background: r ? [{ start: () => r.start(), stop: () => r.stop() }] : [],
  });
};
