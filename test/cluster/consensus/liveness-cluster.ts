// In-process consensus nodes over real gRPC on loopback, wired as services/consensus/node.ts wires
// them (RocksDB ledger, Peers, Gossip, Mempool, AgreementHost, ConsensusService handlers), with two
// test-only fault switches that production lacks: `links` decides which node may reach which
// (a node whose link is cut neither sends to nor is dialled by the other), and `rejectBlocks` makes
// every node's block check refuse all blocks, so the network runs periods without certifying.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsensusServiceService } from '../../../gen/wolk/consensus/v1/consensus.js';
import type { Genesis } from '../../../lib/chain/genesis.js';
import { fromHex, sha256, toHex } from '../../../lib/crypto/index.js';
import { createGrpcServer, type WolkGrpcServer } from '../../../lib/grpc/server.js';
import { nodeKeyFromSeeds, type NodeKey } from '../../../lib/identity/node-key.js';
import { silentLogger, type Logger } from '../../../lib/log/logger.js';
import { openRocksKv } from '../../../lib/storage/rocksdb.js';
import type { KvStore } from '../../../lib/storage/kv.js';
import { createAgreementCrypto } from '../../../services/consensus/agreement/crypto.js';
import type { Block } from '../../../services/consensus/agreement/types.js';
import { Gossip } from '../../../services/consensus/gossip.js';
import { AgreementHost } from '../../../services/consensus/host.js';
import { DEFAULT_BLOCK_LIMITS, Ledger } from '../../../services/consensus/ledger/ledger.js';
import { Mempool } from '../../../services/consensus/mempool.js';
import { agreementParams } from '../../../services/consensus/node.js';
import { Peers, type PeersOptions } from '../../../services/consensus/peers.js';
import { consensusHandlers } from '../../../services/consensus/server.js';
import { freePort } from '../../helpers/ports.js';
import { pollUntil } from '../../helpers/poll.js';
import { testRandom } from '../../helpers/seed.js';

/** Test data and keys, seeded (test/helpers/seed.ts): the same on every run with the same WOLK_TEST_SEED. */
const seeded = testRandom('cluster/consensus/liveness-cluster.ts');

/** Peers whose endpoint list leaves out the links the test has cut (gossip and GetBlock both use it). */
class CuttablePeers extends Peers {
  constructor(
    o: PeersOptions,
    private readonly allowed: (endpoint: string) => boolean,
  ) {
    super(o);
  }
  override endpoints(): string[] {
    return super.endpoints().filter(this.allowed);
  }
}

export interface LiveNode {
  readonly index: number;
  readonly endpoint: string;
  readonly key: NodeKey;
  readonly ledger: Ledger;
  readonly host: AgreementHost;
}

export interface LiveCluster {
  readonly nodes: LiveNode[];
  /** Nodes outside the committee that dial the committee but are in nobody's peer list (`followers`). */
  readonly followers: LiveNode[];
  /** Cut (false) or restore (true) every link of node i, both directions. */
  connect(i: number, up: boolean): void;
  /** While true every node's block check refuses every block. */
  rejectBlocks: boolean;
  /** When set (and rejectBlocks is false), node i's storage check of a block: null passes, a string fails. */
  storageCheck: ((node: number, block: Block) => Promise<string | null>) | null;
  stop(): Promise<void>;
}

export async function startLiveCluster(o: { size?: number; followers?: number; lambdaMs: number; logger?: Logger }): Promise<LiveCluster> {
  const committeeSize = o.size ?? 4;
  const size = committeeSize + (o.followers ?? 0);
  const dir = mkdtempSync(join(tmpdir(), 'wolk-liveness-'));
  const keys = Array.from({ length: size }, () => seeded.nodeKey());
  const endpoints: string[] = [];
  for (let i = 0; i < size; i++) endpoints.push(`127.0.0.1:${await freePort()}`);
  const genesis: Genesis = {
    network: 'wolk-liveness',
    seed: seeded.hex(32),
    timestampMs: Date.now() - 1000,
    params: { replication: 1, storerCommitteeSize: 1, chunkSize: 4096, lambdaMs: o.lambdaMs, auditDepth: 4 },
    nodes: keys.slice(0, committeeSize).map((k, i) => ({ id: k.id, vrfPublicKey: toHex(k.vrfPublicKey), endpoint: endpoints[i]!, roles: ['consensus' as const], stake: '1000' })),
  };
  const directory = new Map(keys.slice(0, committeeSize).map((k) => [k.id, { vrf: k.vrfPublicKey, sign: fromHex(k.id) }]));
  const up = new Array<boolean>(size).fill(true);
  const indexOf = new Map(endpoints.map((e, i) => [e, i]));
  const cluster: LiveCluster = {
    nodes: [],
    followers: [],
    rejectBlocks: false,
    storageCheck: null,
    connect(i, u) {
      up[i] = u;
    },
    async stop() {
      for (const s of stops.reverse()) await s().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const stops: (() => Promise<void>)[] = [];
  const servers: WolkGrpcServer[] = [];
  const dbs: KvStore[] = [];
  stops.push(async () => {
    for (const db of dbs) await db.close();
  });
  try {
    for (let i = 0; i < size; i++) {
      const key = keys[i]!;
      const log = (o.logger ?? silentLogger).child({ node: i });
      const crypto = createAgreementCrypto(
        { voterId: key.id, vrfSecretKey: key.vrfSecretKey, signSecretKey: key.signSecretKey },
        { vrfPublicKey: (v) => directory.get(v)?.vrf ?? null, signPublicKey: (v) => directory.get(v)?.sign ?? null },
      );
      const db = await openRocksKv(join(dir, `node-${i}`));
      dbs.push(db);
      const ledger = await Ledger.open({ kv: db, genesis, crypto: { hash: (...p: Uint8Array[]) => sha256(...p) } });
      const peers = new CuttablePeers(
        { static: endpoints.slice(0, committeeSize), self: endpoints[i]!, logger: log, maxMessageBytes: 16 << 20 },
        (e) => up[i]! && up[indexOf.get(e)!]!,
      );
      const gossip = new Gossip(peers, log);
      const mempool = new Mempool();
      const host = new AgreementHost({
        ledger,
        crypto,
        params: agreementParams(genesis, o.lambdaMs),
        mempool,
        gossip,
        peers,
        logger: log,
        maxBlockTxs: DEFAULT_BLOCK_LIMITS.maxTxs,
        storageCheck: async (block) => (cluster.rejectBlocks ? 'test: every block refused' : cluster.storageCheck ? cluster.storageCheck(i, block) : null),
      });
      const server = createGrpcServer({ logger: log, maxMessageBytes: 16 << 20 });
      server.addService('wolk.consensus.v1.ConsensusService', ConsensusServiceService, consensusHandlers({ ledger, mempool, host, gossip, peers, crypto, nodeId: key.signPublicKey }));
      await server.listen('127.0.0.1', Number(endpoints[i]!.split(':')[1]));
      servers.push(server);
      stops.push(async () => {
        await host.stop();
        peers.stop();
        await server.shutdown(200);
      });
      (i < committeeSize ? cluster.nodes : cluster.followers).push({ index: i, endpoint: endpoints[i]!, key, ledger, host });
    }
    for (const n of [...cluster.nodes, ...cluster.followers]) await n.host.start();
  } catch (err) {
    // What started is stopped (servers, RocksDB): left open, they kept the ava worker alive after a
    // failed start, and the CI run hung until its 45-minute bound.
    await cluster.stop();
    throw err;
  }
  return cluster;
}

/** Where each node stands (tip, round/period), for wait and failure messages. */
export function where(nodes: readonly LiveNode[]): string {
  return nodes.map((n) => `${n.index}: tip ${n.ledger.tip().round} r${n.host.status().round}/p${n.host.status().period}`).join('; ');
}

/** Waits until every node in `nodes` has finalized `round`; on timeout the error says where each stands. */
export async function untilTip(nodes: readonly LiveNode[], round: number, deadlineMs: number): Promise<void> {
  await pollUntil(() => nodes.map((n) => n.ledger.tip().round), {
    what: `nodes ${nodes.map((n) => n.index).join(',')} to finalize round ${round}`,
    deadlineMs,
    intervalMs: 100,
    until: (tips) => tips.every((r) => r >= round),
    describe: () => where(nodes),
  });
}
