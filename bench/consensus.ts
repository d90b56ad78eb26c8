// `npm run bench -- consensus`: replicated commits through Wolk's consensus (issue 5, benchmark part),
// beside a 3-member etcd cluster on the same machine in the same run.
//
// Wolk side: 4 consensus processes and 6 storer processes on loopback, planned with the devnet's own code
// (scripts/devnet-plan.ts: genesis, ports, environment, λ = WOLK_LAMBDA_MS of the devnet). Every
// transaction is a real SetKey from one of a few user accounts (SetName'd beforehand, consecutive
// nonces), with its own 4 KiB file stored on the storers, signed by the user, co-signed with the genesis-registered gateway key, carrying the N = 3
// storage commitments the storers themselves returned to a signed Solicit (services/gateway/upload.ts
// collectCommitments, the gateway's own code). Consensus validates all of it (signatures, VRF proofs,
// sortition weights) and, before cert-voting a block, challenges a storer per file (VerifyFile).
// Latency = SubmitTx sent → the block holding the tx arrives on StreamBlocks(follow) from consensus-0
// (how a client learns a tx is final, consensus.proto).
//   - sequential: one SetKey at a time, median/p99 SubmitTx→finality, each submitted at a seeded random
//     moment of a round (as a user's write arrives), and again each submitted as soon as the previous one
//     was final (just after a block, when the next proposal is already made: a full round's wait);
//   - ladder: open-loop offered rates (LADDER, STEP_SECONDS each) until one is not kept up with (a tx not
//     final within FINALITY_TIMEOUT_MS, or < 0.8x the offered rate finalized): finalized tx/s, median/p99;
//   - burst (once the mempools are empty): BURST_TXS submitted with SUBMIT_IN_FLIGHT SubmitTx calls in
//     flight: finalized tx/s over first submit → last finality, median/p99 latency under that load.
//   - scaling (SCALE, `--scale=4,7,10`): a network of each validator count measured alone: idle round, one
//     SetKey at a time at random moments, a burst of SCALE_BURST and the validators' CPU per SetKey.
// etcd side (scripts/etcd/up.sh; Debian's etcd-server): puts through the JSON gateway (/v3/kv/put) of
// values as large as the encoded SetKey, sequential (median/p99) and ETCD_IN_FLIGHT concurrent (puts/s,
// median/p99). An etcd put is acknowledged once a quorum has it in its fsynced WAL: the same promise
// (replicated and durable) a finalized block gives, without Byzantine agreement or any validation.
// Table on stdout and in bench/results/consensus.json.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials, Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { unaryCall, type UnaryMethod } from '../lib/grpc/client.js';
import { retry } from '../lib/grpc/retry.js';
import { ConsensusServiceClient, type StreamBlocksResponse } from '../gen/wolk/consensus/v1/consensus.js';
import { SignedTransaction } from '../gen/wolk/common/v1/tx.js';
import type { FileInfo } from '../gen/wolk/common/v1/storage.js';
import type { SetFileResponse } from '../gen/wolk/storer/v1/storer.js';
import { keyFromSeed } from '../lib/client/keys.js';
import type { ClientKey } from '../lib/client/signing.js';
import { cosignSetKey, setKeyTransaction, setNameTransaction, signTransaction } from '../lib/client/tx.js';
import { txId } from '../lib/chain/tx-bytes.js';
import { toHex } from '../lib/crypto/hash.js';
import { mkdirp } from '../lib/fs/mkdirp.js';
import { waitForServing } from '../lib/grpc/health-client.js';
import { loadOrCreateNodeKey } from '../lib/identity/node-key.js';
import { silentLogger } from '../lib/log/logger.js';
import { hashFile } from '../lib/merkle/index.js';
import { createRegistry } from '../services/gateway/registry.js';
import { Clients } from '../services/gateway/rpc.js';
import { createChain } from '../services/gateway/chain.js';
import { collectCommitments, seedAfter } from '../services/gateway/upload.js';
import { freePort } from '../test/helpers/ports.js';
import { Prng } from '../test/sim/prng.js';
import { DEVNET_PARAMS, devnetGenesis, environmentFor, planProcesses, portKeys, type DevnetShape, type NodeIdentity, type PlannedProcess } from '../scripts/devnet-plan.js';
import type { BenchContext } from './harness.js';
import { breakdown, IDLE, mainThreadProfile, processCpuMs, sumBreakdowns, type Breakdown } from './profile/cpu-breakdown.js';
import { setFileData, setFileStart } from '../lib/chain/write-request.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ETCD_SCRIPTS = join(ROOT, 'scripts', 'etcd');

/** Which processes run: the devnet's consensus and storers; the gateway is only a registered key here. */
const VALIDATORS = numberArg('validators', 4);
const SHAPE: DevnetShape = { consensus: VALIDATORS, storer: 6, rewards: 0, indexer: 0, gateway: 1 };
/**
 * `--profile`: every consensus and storer process runs under `node --cpu-prof` (one directory each); the
 * table gets the CPU breakdown per finalized SetKey of each role, counted over the measured phases only
 * (sequential, ladder, burst: not the start-up or the preparation of the SetKeys).
 */
const PROFILE = process.argv.includes('--profile');
const FILE_BYTES = 4096;
/** Overridable on the command line: `npm run bench -- consensus --seq=20 --load=400`. */
const SEQ_TXS = numberArg('seq', 20);
/**
 * One tx at a time, two ways, SEQ_TXS each: submitted as soon as the previous one is final (so just after
 * a block, when the next proposal is already made: the worst moment), and submitted after a seeded random
 * pause of up to one idle round (an arbitrary moment, as a user's write arrives: the measure).
 */
const SEQ_ALL = 2 * SEQ_TXS;
const SEQ_PHASE_SEED = 17;
/** Open-loop offered rates (SetKey/s), each for STEP_SECONDS, until one is not kept up with. */
// Up to 24/s: since 2026-12-07 the chain keeps up with 8/s, where the ladder used to end.
const LADDER = listArg('ladder', [1, 2, 4, 8, 12, 16, 24]);
const STEP_SECONDS = numberArg('step', 20);
/** Then a burst: this many submitted at once, SUBMIT_IN_FLIGHT SubmitTx calls in flight. */
const BURST_TXS = numberArg('burst', 200);
const LADDER_TXS = LADDER.reduce((a, r) => a + r * STEP_SECONDS, 0);
const LOAD_TXS = LADDER_TXS + BURST_TXS;
const SUBMIT_IN_FLIGHT = 32;
/**
 * The scaling table: the same network with each of these validator counts (`--scale=4,7,10`; `--no-scale`
 * skips it), each measured alone: idle round, SCALE_SEQ SetKeys one at a time at random moments, a burst
 * of SCALE_BURST (`--scale-burst=N`), and the validators' CPU per SetKey in the burst.
 */
const SCALE = process.argv.includes('--no-scale') ? [] : listArg('scale', [4, 7, 10]);
const SCALE_SEQ = 10;
const SCALE_BURST = numberArg('scale-burst', 200);
/**
 * Accounts the SetKeys come from, at most 48 SetKeys each (the mempool holds 64 per sender): one group
 * for the sequential phase and the ladder, in that order, another for the burst, so that a ladder cut
 * short leaves no nonce gap in front of the burst.
 */
const usersFor = (txs: number) => Math.max(4, Math.ceil(txs / 48));
const USERS_A = usersFor(SEQ_ALL + LADDER_TXS);
const USERS_B = usersFor(BURST_TXS);
const USERS = USERS_A + USERS_B;
const PREPARE_IN_FLIGHT = 8;
const ETCD_SEQ_PUTS = 500;
const ETCD_LOAD_PUTS = 5000;
const ETCD_IN_FLIGHT = 32;
const FINALITY_TIMEOUT_MS = 180_000;

function listArg(name: string, fallback: number[]): number[] {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  if (!hit) return fallback;
  const list = hit.slice(name.length + 3).split(',').map(Number);
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`bench consensus: --${name} must be a comma-separated list of positive integers`);
  return list;
}

function numberArg(name: string, fallback: number): number {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  const n = hit ? Number(hit.slice(name.length + 3)) : fallback;
  if (!Number.isInteger(n) || n < 1) throw new Error(`bench consensus: --${name} must be a positive integer`);
  return n;
}

const ms = (t0: bigint, t1: bigint) => Number(t1 - t0) / 1e6;
const now = () => process.hrtime.bigint();
const sleep = (m: number) => new Promise((r) => setTimeout(r, m));

/** Nearest-rank quantile of a non-empty list. */
export function quantile(values: readonly number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/** One call through the client layer (lib/grpc/client.ts), 30 s deadline unless told. */
function unary<Req, Res>(method: UnaryMethod<Req, Res>, req: Req, timeoutMs = 30_000): Promise<Res> {
  return unaryCall(method, req, { timeoutMs });
}

// ---- the Wolk network ----------------------------------------------------------------------------------

interface Network {
  readonly processes: PlannedProcess[];
  readonly chainId: string;
  readonly consensus: ConsensusServiceClient[];
  readonly clients: Clients;
  readonly registry: ReturnType<typeof createRegistry>;
  readonly gateway: ClientKey;
  readonly storerEndpoints: string[];
  /** Ed25519 ids of the storers, in storerEndpoints' order (a SetFile is signed for its storer). */
  readonly storerIds: Uint8Array[];
  readonly consensusEndpoints: string[];
  /** The running processes' ids, for their CPU time (/proc). */
  readonly pids: { readonly name: string; readonly service: string; readonly pid: number }[];
  stop(): Promise<void>;
}

async function startNetwork(dir: string, log: (m: string) => void, profileDir: string | null, shape: DevnetShape = SHAPE): Promise<Network> {
  mkdirp(join(dir, 'logs'));
  const ports: Record<string, number> = {};
  const taken = new Set<number>();
  for (const key of portKeys(shape)) {
    let p = await freePort();
    while (taken.has(p)) p = await freePort();
    taken.add(p);
    ports[key] = p;
  }
  const processes = planProcesses(dir, shape, ports);
  const identities = new Map<string, NodeIdentity>();
  const keys = new Map<string, ReturnType<typeof loadOrCreateNodeKey>['key']>();
  for (const p of processes) {
    mkdirp(p.dataDir);
    const { key } = loadOrCreateNodeKey(p.dataDir);
    keys.set(p.name, key);
    identities.set(p.name, { id: key.id, vrfPublicKey: toHex(key.vrfPublicKey) });
  }
  const genesis = devnetGenesis(processes, identities, toHex(randomBytes(32)), Date.now());
  const genesisPath = join(dir, 'genesis.json');
  writeFileSync(genesisPath, JSON.stringify(genesis, null, 2) + '\n');

  const running = processes.filter((p) => p.service === 'consensus' || p.service === 'storer');
  const children: ChildProcess[] = [];
  for (const p of running) {
    const fd = openSync(join(dir, 'logs', `${p.name}.log`), 'a');
    // No --cpu-prof-name: with `--import tsx` the loader-hooks thread writes a profile too, and one fixed
    // name lets it overwrite the main thread's (bench/profile/cpu-breakdown.ts mainThreadProfile).
    const prof = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, p.name)}`] : [];
    const child = spawn(process.execPath, [...prof, '--import', 'tsx', '--import', './lib/telemetry/preload.ts', `services/${p.service}/main.ts`], {
      cwd: ROOT,
      env: { ...process.env, ...environmentFor(p, processes, genesisPath, process.pid) },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    children.push(child);
  }
  const stop = async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const killer = setTimeout(() => c.kill('SIGKILL'), 10_000);
            c.once('exit', () => {
              clearTimeout(killer);
              resolve();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
  };
  try {
    const ready = await Promise.all(running.map(async (p) => ({ p, ok: await waitForServing(`127.0.0.1:${p.grpcPort}`, 240_000) })));
    const failed = ready.filter((r) => !r.ok).map((r) => r.p.name);
    if (failed.length > 0) throw new Error(`bench consensus: ${failed.join(', ')} did not start; logs in ${join(dir, 'logs')}`);
    const consensusEndpoints = processes.filter((p) => p.service === 'consensus').map((p) => `127.0.0.1:${p.grpcPort}`);
    const storerEndpoints = processes.filter((p) => p.service === 'storer').map((p) => `127.0.0.1:${p.grpcPort}`);
    const clients = new Clients();
    const consensus = consensusEndpoints.map((e) => clients.consensusNode(e));
    // Live when every node has finalized a first block.
    const deadline = Date.now() + 240_000;
    for (const c of consensus) {
      for (;;) {
        const s = await unary(c.getStatus.bind(c), {}, 5000).catch(() => null);
        if (s && s.finalizedRound >= 1n) break;
        if (Date.now() > deadline) throw new Error(`bench consensus: the chain finalized no block within 240 s; logs in ${join(dir, 'logs')}`);
        await sleep(300);
      }
    }
    log(`network up: ${consensusEndpoints.length} consensus, ${storerEndpoints.length} storers, λ = ${DEVNET_PARAMS.lambdaMs} ms`);
    const gw = keys.get('gateway-0')!;
    return {
      processes,
      chainId: genesis.network,
      consensus,
      clients,
      registry: createRegistry(clients, genesis, storerEndpoints, DEVNET_PARAMS.storerCommitteeSize),
      gateway: { publicKey: gw.signPublicKey, secretKey: gw.signSecretKey },
      storerEndpoints,
      storerIds: processes.filter((p) => p.service === 'storer').map((p) => keys.get(p.name)!.signPublicKey),
      consensusEndpoints,
      pids: running.map((p, i) => ({ name: p.name, service: p.service, pid: children[i]!.pid ?? -1 })),
      stop: async () => {
        clients.close();
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Follows finalized blocks on one node; resolves each awaited tx id with the time its block arrived. */
class FinalityWatch {
  private readonly waiting = new Map<string, (t: bigint) => void>();
  private readonly seen = new Map<string, bigint>();
  readonly blocks: { round: bigint; at: bigint; txs: number }[] = [];
  private stopped = false;
  private stream: ReturnType<ConsensusServiceClient['streamBlocks']> | null = null;

  /** Follows the blocks after the current tip of consensus-0. */
  static async fromTip(net: Network): Promise<FinalityWatch> {
    const c0 = net.consensus[0]!;
    const s = await unary(c0.getStatus.bind(c0), {});
    return new FinalityWatch(c0, s.finalizedRound + 1n);
  }

  constructor(private readonly client: ConsensusServiceClient, private next: bigint) {
    this.open();
  }

  private open(): void {
    if (this.stopped) return;
    const s = this.client.streamBlocks({ fromRound: this.next, follow: true }, new Metadata());
    this.stream = s;
    s.on('data', (m: StreamBlocksResponse) => {
      const at = now();
      const block = m.block?.block;
      if (!block?.header) return;
      this.next = block.header.round + 1n;
      this.blocks.push({ round: block.header.round, at, txs: block.txs.length });
      for (const stx of block.txs) {
        const id = toHex(txId(stx));
        const w = this.waiting.get(id);
        if (w) {
          this.waiting.delete(id);
          w(at);
        } else this.seen.set(id, at);
      }
    });
    s.on('error', (e: ServiceError) => {
      if (this.stopped || e.code === GrpcStatus.CANCELLED) return;
      setTimeout(() => this.open(), 500);
    });
    s.on('end', () => {
      if (!this.stopped) setTimeout(() => this.open(), 500);
    });
  }

  /** The time the block holding `id` arrived; call before submitting. */
  final(id: string, timeoutMs = FINALITY_TIMEOUT_MS): Promise<bigint> {
    const hit = this.seen.get(id);
    if (hit !== undefined) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`tx ${id.slice(0, 16)} not final after ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.waiting.set(id, (t) => {
        clearTimeout(timer);
        resolve(t);
      });
    });
  }

  stop(): void {
    this.stopped = true;
    this.stream?.cancel();
  }
}

/** SubmitTx to `node`, moving on to the next node on an outage (lib/grpc isOutage), with backoff (a few tries). */
async function submit(net: Network, stx: SignedTransaction, node: number): Promise<void> {
  await retry(
    async (attempt) => {
      const c = net.consensus[(node + attempt) % net.consensus.length]!;
      await unary(c.submitTx.bind(c), { tx: stx }, 30_000);
    },
    { attempts: 8, baseMs: 200, maxMs: 1600 },
  );
}

async function pool(count: number, inFlight: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(count, inFlight) }, async () => {
      while (next < count) await job(next++);
    }),
  );
}

interface User {
  readonly key: ClientKey;
  readonly name: string;
}

/** Users with a registered name each (SetName, nonce 0), all final before anything is timed. */
async function registerUsers(net: Network, watch: FinalityWatch, count: number, log: (m: string) => void): Promise<User[]> {
  const tag = randomBytes(3).toString('hex');
  const users: User[] = Array.from({ length: count }, (_, i) => ({ key: keyFromSeed(new Uint8Array(randomBytes(32))), name: `bench-${tag}-${i}` }));
  const t0 = now();
  await pool(count, SUBMIT_IN_FLIGHT, async (i) => {
    const u = users[i]!;
    const stx = signTransaction(setNameTransaction(u.name, u.key.publicKey, 0n, net.chainId), u.key);
    const done = watch.final(toHex(txId(stx)));
    await submit(net, stx, i);
    await done;
  });
  log(`${count} users named (SetName final) in ${(ms(t0, now()) / 1000).toFixed(1)} s`);
  return users;
}

/** The main run's SetKey i: see prepareSetKeys. */
function mainRunAssignment(users: User[]): (i: number) => { user: User; nonce: bigint } {
  return (i) => {
    const inA = i < SEQ_ALL + LADDER_TXS;
    const group = inA ? users.slice(0, USERS_A) : users.slice(USERS_A);
    const j = inA ? i : i - SEQ_ALL - LADDER_TXS;
    return { user: group[j % group.length]!, nonce: 1n + BigInt(Math.floor(j / group.length)) };
  };
}

/**
 * SetKey i (i < SEQ_ALL + LADDER_TXS) is the (i mod USERS_A)th user's with nonce 1 + floor(i / USERS_A);
 * the burst's j-th the same over the USERS_B others (a user uploading several files). Each: a fresh 4 KiB file SetFile'd to storer-0, N commitments collected from
 * the storers exactly as the gateway does (signed Solicit; the others fetch the file from storer-0), the
 * user's signature and the gateway's co-signature. The seed is that of the latest finalized round.
 */
async function prepareSetKeys(net: Network, users: User[], count: number, log: (m: string) => void, assign: (i: number) => { user: User; nonce: bigint } = mainRunAssignment(users)): Promise<SignedTransaction[]> {
  const out: SignedTransaction[] = new Array(count);
  const source = net.storerEndpoints[0]!;
  const storer0 = net.clients.storer(source);
  const chain = createChain(net.clients, net.consensusEndpoints);
  let seed: { round: bigint; seed: Buffer; at: number } | null = null;
  const freshSeed = async () => {
    if (seed && Date.now() - seed.at < 5000) return seed;
    const c = net.consensus[0]!;
    const s = await unary(c.getStatus.bind(c), {});
    const b = await unary(c.getBlock.bind(c), { selector: { $case: 'round', value: s.finalizedRound } });
    seed = { round: s.finalizedRound, seed: Buffer.from(b.block!.block!.header!.seed), at: Date.now() };
    return seed;
  };
  const t0 = now();
  await pool(count, PREPARE_IN_FLIGHT, async (i) => {
    const { user: u, nonce } = assign(i);
    const data = randomBytes(FILE_BYTES);
    const digest = hashFile(data, DEVNET_PARAMS.chunkSize);
    const file: FileInfo = { filehash: Buffer.from(digest.filehash), size: BigInt(FILE_BYTES), chunkSize: DEVNET_PARAMS.chunkSize };
    await new Promise<SetFileResponse>((resolve, reject) => {
      const call = storer0.setFile(new Metadata(), { deadline: Date.now() + 60_000 }, (e, r) => (e ? reject(e) : resolve(r)));
      call.write(setFileStart(file, { signer: net.gateway, storerId: net.storerIds[0]! }));
      call.write(setFileData(data));
      call.end();
    });
    const s = await freshSeed();
    const committed = await collectCommitments(net.clients, net.registry, silentLogger, {
      file,
      seed: s.seed,
      seedRound: s.round,
      source,
      replication: DEVNET_PARAMS.replication,
      deadlineMs: 120_000,
      gateway: net.gateway,
      // Too few storers selected on this seed: the gateway's own retry on the next rounds' seeds.
      nextSeed: (after, signal) => seedAfter(chain, after, signal),
    });
    const intent = { owner: u.name, collection: 'bench', key: `file-${i}`, file, contentType: 'application/octet-stream' };
    const signed = signTransaction(setKeyTransaction(intent, u.key.publicKey, nonce, net.chainId), u.key);
    out[i] = cosignSetKey(signed, committed.commitments, net.gateway);
  });
  log(`${count} SetKeys prepared (file stored, ${DEVNET_PARAMS.replication} commitments each) in ${(ms(t0, now()) / 1000).toFixed(1)} s`);
  return out;
}

interface Batch {
  readonly submitted: number;
  readonly latencies: number[];
  readonly lost: number;
  /** First submission → last finality (or, when some were lost, → the end of waiting for them), seconds. */
  readonly seconds: number;
  readonly blocks: number;
  readonly maxBlockTxs: number;
}

/**
 * Submits `txs` either open-loop at `rate` per second or with `inFlight` SubmitTx calls at a time, and
 * waits for each to be final (or FINALITY_TIMEOUT_MS after its submission: lost).
 */
async function runBatch(net: Network, w: FinalityWatch, txs: readonly SignedTransaction[], mode: { rate: number } | { inFlight: number }, log: (m: string) => void): Promise<Batch> {
  const blocksBefore = w.blocks.length;
  const latencies: number[] = [];
  let lost = 0;
  let lastFinal = 0n;
  const finals: Promise<void>[] = [];
  const one = async (i: number) => {
    const stx = txs[i]!;
    const done = w.final(toHex(txId(stx)));
    const t0 = now();
    try {
      await submit(net, stx, i);
    } catch (err) {
      lost++;
      done.catch(() => undefined);
      log(`SubmitTx failed: ${(err as Error).message}`);
      return;
    }
    finals.push(
      done.then(
        (t) => {
          latencies.push(ms(t0, t));
          if (t > lastFinal) lastFinal = t;
        },
        () => {
          lost++;
        },
      ),
    );
  };
  const tStart = now();
  if ('rate' in mode) {
    const submits: Promise<void>[] = [];
    for (let i = 0; i < txs.length; i++) {
      const due = (i * 1000) / mode.rate - ms(tStart, now());
      if (due > 0) await sleep(due);
      submits.push(one(i));
    }
    await Promise.all(submits);
  } else {
    await pool(txs.length, mode.inFlight, one);
  }
  await Promise.all(finals);
  const end = lost > 0 ? now() : lastFinal;
  const blocks = w.blocks.slice(blocksBefore).filter((b) => b.txs > 0 && b.at <= lastFinal);
  return {
    submitted: txs.length,
    latencies,
    lost,
    seconds: latencies.length > 0 || lost > 0 ? ms(tStart, end) / 1000 : NaN,
    blocks: blocks.length,
    maxBlockTxs: Math.max(0, ...blocks.map((b) => b.txs)),
  };
}

interface Step {
  readonly rate: number;
  readonly batch: Batch;
  readonly keptUp: boolean;
}

interface WolkFigures {
  txBytes: number;
  /** One tx at a time, each submitted at a random moment of a round. */
  seq: number[];
  seqBlocks: number[];
  /** One tx at a time, each submitted as soon as the previous was final. */
  seqAfterBlock: number[];
  /** Mean time between the block before and a block holding one of the random-moment SetKeys. */
  setKeyRoundMs: number;
  idleRoundMs: number;
  ladder: Step[];
  burst: Batch | null;
  burstSkipped: string;
  /** SetKeys finalized in the profile window (one at a time right after a block, ladder, burst). */
  finalized: number;
  /** --profile: the CPU breakdown of each role's processes (summed) over the measured phases. */
  profiles: { role: string; processes: number; b: Breakdown }[];
  /** The measured phases on the monotonic clock, µs (first sequential submit → last burst finality). */
  windowUs: { fromUs: number; toUs: number };
  /** CPU time (user + system, all threads; /proc) each role's processes used in the measured phases, ms. */
  cpuMs: { role: string; processes: number; ms: number }[];
}

/** Whether every node's mempool is empty within `timeoutMs`. */
async function waitDrained(net: Network, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const sizes = await Promise.all(net.consensus.map((c) => unary(c.getStatus.bind(c), {}, 5000).then((s) => s.mempoolSize, () => -1)));
    if (sizes.every((n) => n === 0)) return true;
    await sleep(1000);
  }
  return false;
}

/** The mean time between blocks finalized in the next 8 s while nothing is submitted (NaN with fewer than 2). */
async function idleRound(w: FinalityWatch): Promise<number> {
  const from = w.blocks.length;
  await sleep(8000);
  const idle = w.blocks.slice(Math.max(from, w.blocks.length - 8));
  return idle.length >= 2 ? ms(idle[0]!.at, idle[idle.length - 1]!.at) / (idle.length - 1) : NaN;
}

/**
 * SetKeys txs[from, from + count) one at a time, each after `pause()` ms: their SubmitTx→final latencies
 * and the blocks finalized from submit to final, the tx's own included (2 when it entered the block
 * proposed right after the one under agreement at submit, 1 when no proposal was made yet; 3 or more is a
 * round it waited beyond the design's "at most one round to enter a block").
 */
async function oneAtATime(net: Network, w: FinalityWatch, txs: readonly SignedTransaction[], from: number, count: number, pause: () => number): Promise<{ latencies: number[]; blocks: number[] }> {
  const latencies: number[] = [];
  const blocks: number[] = [];
  for (let i = from; i < from + count; i++) {
    await sleep(pause());
    const done = w.final(toHex(txId(txs[i]!)));
    const t0 = now();
    await submit(net, txs[i]!, i);
    const t1 = await done;
    latencies.push(ms(t0, t1));
    blocks.push(w.blocks.filter((b) => b.at > t0 && b.at <= t1).length);
  }
  return { latencies, blocks };
}

/** A pause of up to one idle round, from `prng`: a submission at a random moment of a round. */
const randomMoment = (prng: Prng, roundMs: number) => () => Math.floor(prng.float() * (Number.isFinite(roundMs) ? roundMs : 1000));

async function measureWolk(ctx: BenchContext): Promise<WolkFigures> {
  const dir = join(ctx.workDir, 'net');
  rmSync(dir, { recursive: true, force: true });
  const profileDir = PROFILE ? join(ctx.workDir, 'profiles') : null;
  if (profileDir) {
    rmSync(profileDir, { recursive: true, force: true });
    mkdirp(profileDir);
  }
  const net = await startNetwork(dir, ctx.log, profileDir);
  let result: WolkFigures | null = null;
  let watch: FinalityWatch | null = null;
  let ok = false;
  try {
    const w = (watch = await FinalityWatch.fromTip(net));
    const users = await registerUsers(net, w, USERS, ctx.log);
    const txs = await prepareSetKeys(net, users, SEQ_ALL + LOAD_TXS, ctx.log);
    const sizes = txs.map((t) => SignedTransaction.encode(t).finish().length);
    const txBytes = Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length);

    // Idle round time: blocks finalized while nothing was submitted.
    const idleRoundMs = await idleRound(w);

    // One SetKey at a time, at random moments first: its pauses are idle time, outside the profile window.
    const seqFrom = w.blocks.length;
    const anyMoment = await oneAtATime(net, w, txs, 0, SEQ_TXS, randomMoment(new Prng(SEQ_PHASE_SEED), idleRoundMs));
    ctx.log(`one at a time, at a random moment (seed ${SEQ_PHASE_SEED}): ${SEQ_TXS} SetKeys, median ${quantile(anyMoment.latencies, 0.5).toFixed(0)} ms; blocks from submit to final: ${anyMoment.blocks.join(' ')}`);
    const seq = anyMoment.latencies;
    const seqBlocks = anyMoment.blocks;
    // How long the rounds that finalized one of them took, beside the idle round: the cost of a SetKey's
    // checks (signatures, VRF proofs, the cert-step storage check) on the round that carries it.
    const gaps = w.blocks.slice(seqFrom + 1).flatMap((b, i) => (b.txs > 0 ? [ms(w.blocks[seqFrom + i]!.at, b.at)] : []));
    const setKeyRoundMs = gaps.length ? gaps.reduce((a, x) => a + x, 0) / gaps.length : NaN;

    // The profile window opens here: right after a block, then the ladder and the burst.
    const windowFrom = now();
    const cpuAt = () => new Map(net.pids.map((p) => [p.name, processCpuMs(p.pid)]));
    const cpu0 = cpuAt();
    const afterBlock = await oneAtATime(net, w, txs, SEQ_TXS, SEQ_TXS, () => 0);
    ctx.log(`one at a time, right after a block: ${SEQ_TXS} SetKeys, median ${quantile(afterBlock.latencies, 0.5).toFixed(0)} ms; blocks from submit to final: ${afterBlock.blocks.join(' ')}`);
    const seqAfterBlock = afterBlock.latencies;

    // Offered load ladder: open-loop rates, each for STEP_SECONDS, while the chain keeps up.
    let next = SEQ_ALL;
    const ladder: Step[] = [];
    for (const rate of LADDER) {
      const batchTxs = txs.slice(next, next + rate * STEP_SECONDS);
      next += batchTxs.length;
      const batch = await runBatch(net, w, batchTxs, { rate }, ctx.log);
      const finalRate = batch.latencies.length / batch.seconds;
      const keptUp = batch.lost === 0 && finalRate >= 0.8 * rate;
      ladder.push({ rate, batch, keptUp });
      ctx.log(`offered ${rate}/s for ${STEP_SECONDS} s: ${batch.latencies.length} of ${batch.submitted} final, ${finalRate.toFixed(2)}/s, median ${batch.latencies.length ? quantile(batch.latencies, 0.5).toFixed(0) : '-'} ms, ${batch.blocks} blocks (largest ${batch.maxBlockTxs} txs); load average ${loadavg()[0]!.toFixed(1)}`);
      if (!keptUp) break;
    }
    // Burst: BURST_TXS at once, once the mempools are empty again.
    let burst: Batch | null = null;
    let burstSkipped = '';
    const drained = await waitDrained(net, 120_000);
    if (!drained) {
      burstSkipped = 'the mempools did not drain within 120 s after the ladder';
      ctx.log(`burst skipped: ${burstSkipped}`);
    } else {
      const burstTxs = txs.slice(SEQ_ALL + LADDER_TXS);
      burst = await runBatch(net, w, burstTxs, { inFlight: SUBMIT_IN_FLIGHT }, ctx.log);
      ctx.log(`burst: ${burst.latencies.length} of ${burst.submitted} final in ${burst.seconds.toFixed(1)} s over ${burst.blocks} blocks (largest ${burst.maxBlockTxs}), ${burst.lost} lost; load average ${loadavg()[0]!.toFixed(1)}`);
    }
    ok = true;
    // In the profile window (CPU per SetKey): not the random-moment ones.
    const finalized = seqAfterBlock.length + ladder.reduce((a, st) => a + st.batch.latencies.length, 0) + (burst?.latencies.length ?? 0);
    const windowUs = { fromUs: Number(windowFrom / 1000n), toUs: Number(now() / 1000n) };
    const cpu1 = cpuAt();
    const cpuMs = ['consensus', 'storer'].map((role) => {
      const ps = net.pids.filter((p) => p.service === role && cpu0.get(p.name) != null && cpu1.get(p.name) != null);
      return { role, processes: ps.length, ms: ps.reduce((a, p) => a + cpu1.get(p.name)! - cpu0.get(p.name)!, 0) };
    });
    result = { txBytes, seq, seqBlocks, seqAfterBlock, setKeyRoundMs, idleRoundMs, ladder, burst, burstSkipped, finalized, profiles: [], windowUs, cpuMs };
    return result;
  } finally {
    watch?.stop();
    await net.stop();
    // The processes write their profiles as they exit.
    if (profileDir && result) {
      for (const role of ['consensus', 'storer'] as const) {
        const bs: Breakdown[] = [];
        for (const p of net.processes.filter((q) => q.service === role)) {
          try {
            bs.push(breakdown(mainThreadProfile(join(profileDir, p.name)), result.windowUs));
          } catch (err) {
            ctx.log(`profile of ${p.name}: ${(err as Error).message}`);
          }
        }
        if (bs.length > 0) result.profiles.push({ role, processes: bs.length, b: sumBreakdowns(bs) });
      }
    }
    // The processes' logs stay when something failed.
    if (ok && !PROFILE) rmSync(dir, { recursive: true, force: true });
    else if (ok) ctx.log(`logs of the network kept in ${join(dir, 'logs')} (--profile), profiles in ${profileDir}`);
    else ctx.log(`logs of the network kept in ${join(dir, 'logs')}`);
  }
}

// ---- the scaling table -----------------------------------------------------------------------------

interface ScaleFigures {
  validators: number;
  idleRoundMs: number;
  seq: number[];
  burst: Batch;
  /** CPU (user + system, /proc) of all consensus processes during the burst, ms. */
  consensusCpuMs: number;
}

/** What one validator count costs: a network of `validators` consensus processes and 6 storers, measured alone. */
async function measureScale(ctx: BenchContext, validators: number): Promise<ScaleFigures> {
  const dir = join(ctx.workDir, `scale-${validators}`);
  rmSync(dir, { recursive: true, force: true });
  const net = await startNetwork(dir, ctx.log, null, { ...SHAPE, consensus: validators });
  let watch: FinalityWatch | null = null;
  let ok = false;
  try {
    const w = (watch = await FinalityWatch.fromTip(net));
    const count = SCALE_SEQ + SCALE_BURST;
    const users = await registerUsers(net, w, usersFor(count), ctx.log);
    // Each user's SetKeys in nonce order, spread over the users (at most 48 each, usersFor).
    const txs = await prepareSetKeys(net, users, count, ctx.log, (i) => ({ user: users[i % users.length]!, nonce: 1n + BigInt(Math.floor(i / users.length)) }));
    const idleRoundMs = await idleRound(w);
    const seq = (await oneAtATime(net, w, txs, 0, SCALE_SEQ, randomMoment(new Prng(SEQ_PHASE_SEED + validators), idleRoundMs))).latencies;
    const consensusCpu = () => net.pids.filter((p) => p.service === 'consensus').reduce((a, p) => a + (processCpuMs(p.pid) ?? 0), 0);
    const cpu0 = consensusCpu();
    const burst = await runBatch(net, w, txs.slice(SCALE_SEQ), { inFlight: SUBMIT_IN_FLIGHT }, ctx.log);
    const consensusCpuMs = consensusCpu() - cpu0;
    ctx.log(`${validators} validators: idle round ${idleRoundMs.toFixed(0)} ms; one at a time median ${quantile(seq, 0.5).toFixed(0)} ms; burst ${burst.latencies.length} of ${burst.submitted} final in ${burst.seconds.toFixed(1)} s (${burst.blocks} blocks); load average ${loadavg()[0]!.toFixed(1)}`);
    ok = true;
    return { validators, idleRoundMs, seq, burst, consensusCpuMs };
  } finally {
    watch?.stop();
    await net.stop();
    if (ok) rmSync(dir, { recursive: true, force: true });
    else ctx.log(`logs of the ${validators}-validator network kept in ${join(dir, 'logs')}`);
  }
}

// ---- etcd ----------------------------------------------------------------------------------------------

interface EtcdFigures {
  version: string;
  seq: number[];
  load: number[];
  loadPerSecond: number;
}

async function measureEtcd(ctx: BenchContext, valueBytes: number): Promise<EtcdFigures> {
  const dir = join(ctx.workDir, 'etcd');
  rmSync(dir, { recursive: true, force: true });
  const up = spawnSync(join(ETCD_SCRIPTS, 'up.sh'), [dir], { encoding: 'utf8', timeout: 600_000 });
  if (up.status !== 0) {
    const why = (up.stderr || up.error?.message || `exit ${up.status}`).trim().split('\n').slice(-2).join(' / ');
    throw new Error(why);
  }
  const endpoints = up.stdout.trim().split('\n').pop()!.split(',');
  const version = (spawnSync('etcd', ['--version'], { encoding: 'utf8' }).stdout ?? '').split('\n')[0]?.replace(/^etcd Version:\s*/, '') ?? '?';
  try {
    const value = randomBytes(valueBytes).toString('base64');
    const put = async (i: number) => {
      const res = await fetch(`${endpoints[i % endpoints.length]}/v3/kv/put`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key: Buffer.from(`bench/${i}`).toString('base64'), value }),
      });
      const body = await res.text();
      if (!res.ok || !body.includes('"revision"')) throw new Error(`etcd put ${i}: HTTP ${res.status} ${body.slice(0, 200)}`);
    };
    for (let i = 0; i < 20; i++) await put(1_000_000 + i); // connections up, leader known
    const seq: number[] = [];
    for (let i = 0; i < ETCD_SEQ_PUTS; i++) {
      const t0 = now();
      await put(i);
      seq.push(ms(t0, now()));
    }
    const load: number[] = [];
    const t0 = now();
    await pool(ETCD_LOAD_PUTS, ETCD_IN_FLIGHT, async (i) => {
      const t = now();
      await put(ETCD_SEQ_PUTS + i);
      load.push(ms(t, now()));
    });
    const loadPerSecond = ETCD_LOAD_PUTS / (ms(t0, now()) / 1000);
    ctx.log(`etcd ${version}: sequential put median ${quantile(seq, 0.5).toFixed(2)} ms; ${loadPerSecond.toFixed(0)} puts/s with ${ETCD_IN_FLIGHT} in flight`);
    return { version, seq, load, loadPerSecond };
  } finally {
    spawnSync(join(ETCD_SCRIPTS, 'down.sh'), [dir], { encoding: 'utf8', timeout: 60_000 });
  }
}

// ---- the table -----------------------------------------------------------------------------------------

export async function run(ctx: BenchContext): Promise<void> {
  const load0 = loadavg()[0]!;
  const wolk = await measureWolk(ctx);
  const scale: ScaleFigures[] = [];
  for (const v of SCALE) scale.push(await measureScale(ctx, v));
  let etcd: EtcdFigures | null = null;
  let etcdProblem = '';
  try {
    etcd = await measureEtcd(ctx, wolk.txBytes);
  } catch (err) {
    etcdProblem = (err as Error).message;
    ctx.log(`etcd reference: CANNOT RUN (${etcdProblem})`);
  }
  const E = etcd ? ` (etcd ${etcd.version}, 3 members)` : '';
  const ref = (value: number | null | undefined, name: string) => (etcd && value !== undefined && value !== null ? { baseline: value, baselineName: `${name}${E}` } : {});

  ctx.row({ name: `validators (consensus processes; --validators=N), storers`, value: VALIDATORS, unit: '+ 6 storers' });
  ctx.row({ name: `λ (WOLK_LAMBDA_MS, the devnet's)`, value: DEVNET_PARAMS.lambdaMs, unit: 'ms' });
  ctx.row({ name: 'round time with no load (mean between finalized blocks)', value: wolk.idleRoundMs, unit: 'ms' });
  ctx.row({
    name: `tx = SetKey (${USERS} user accounts), gateway co-signed, ${DEVNET_PARAMS.replication} storer commitments (VRF), 4 KiB file on the storers; encoded size`,
    value: wolk.txBytes,
    unit: 'bytes',
    ...ref(wolk.txBytes, 'etcd put value size'),
  });
  ctx.row({ name: `SubmitTx→finality median, one tx at a time, each at a random moment of a round (${SEQ_TXS})`, value: quantile(wolk.seq, 0.5), unit: 'ms', lowerIsBetter: true, ...ref(etcd && quantile(etcd.seq, 0.5), `put median, one at a time (${ETCD_SEQ_PUTS})`) });
  ctx.row({ name: '  the same, in idle rounds (goal ≤ 1.5: at most one round to enter a block, then one to be final)', value: quantile(wolk.seq, 0.5) / wolk.idleRoundMs, unit: 'rounds', lowerIsBetter: true });
  ctx.row({ name: '  round time of the blocks that carried one of them (mean)', value: wolk.setKeyRoundMs, unit: 'ms', lowerIsBetter: true, baseline: wolk.idleRoundMs, baselineName: 'round time with no load' });
  ctx.row({ name: `  mean blocks finalized from submit to final, its own included (2 = entered the next proposal; ${wolk.seqBlocks.filter((n) => n >= 3).length} of ${SEQ_TXS} waited longer)`, value: wolk.seqBlocks.reduce((a, n) => a + n, 0) / Math.max(1, wolk.seqBlocks.length), unit: 'blocks', lowerIsBetter: true });
  ctx.row({ name: `SubmitTx→finality median, one tx at a time, each submitted as soon as the previous was final (just after a block: the next proposal is made; ${SEQ_TXS})`, value: quantile(wolk.seqAfterBlock, 0.5), unit: 'ms', lowerIsBetter: true });
  ctx.row({ name: `SubmitTx→finality p99, one tx at a time (${SEQ_TXS})`, value: quantile(wolk.seq, 0.99), unit: 'ms', lowerIsBetter: true, ...ref(etcd && quantile(etcd.seq, 0.99), 'put p99, one at a time') });
  for (const st of wolk.ladder) {
    const b = st.batch;
    const label = `offered ${st.rate} SetKey/s for ${STEP_SECONDS} s`;
    ctx.row({ name: `${label}: finalized/s (${b.latencies.length} of ${b.submitted} final, ${b.blocks} blocks, largest ${b.maxBlockTxs} txs)${st.keptUp ? '' : ' — NOT KEPT UP'}`, value: b.latencies.length / b.seconds, unit: 'tx/s' });
    if (b.latencies.length > 0) {
      const of = b.lost > 0 ? ` (of the ${b.latencies.length} final)` : '';
      ctx.row({ name: `${label}: SubmitTx→finality median${of}`, value: quantile(b.latencies, 0.5), unit: 'ms', lowerIsBetter: true });
      ctx.row({ name: `${label}: SubmitTx→finality p99${of}`, value: quantile(b.latencies, 0.99), unit: 'ms', lowerIsBetter: true });
    }
  }
  const kept = wolk.ladder.filter((st) => st.keptUp).pop();
  ctx.row({
    name: kept ? `sustained: finalized SetKey/s at the highest offered rate kept up with (${kept.rate}/s)` : `sustained: no offered rate kept up with (lowest: ${LADDER[0]}/s)`,
    value: kept ? kept.batch.latencies.length / kept.batch.seconds : 0,
    unit: 'tx/s',
    ...ref(etcd?.loadPerSecond, `puts/s, ${ETCD_IN_FLIGHT} in flight`),
  });
  const b = wolk.burst;
  if (b) {
    ctx.row({
      name: `burst: finalized SetKey/s (${b.latencies.length} of ${b.submitted} final, ${SUBMIT_IN_FLIGHT} SubmitTx in flight, ${b.blocks} blocks, largest ${b.maxBlockTxs} txs)`,
      value: b.latencies.length / b.seconds,
      unit: 'tx/s',
      ...ref(etcd?.loadPerSecond, `puts/s, ${ETCD_IN_FLIGHT} in flight`),
    });
    if (b.lost > 0) ctx.row({ name: `burst: SetKeys not final within ${FINALITY_TIMEOUT_MS / 1000} s of submission`, value: b.lost, unit: 'txs', goal: '0', goalAbsolute: 0, lowerIsBetter: true });
    if (b.latencies.length > 0) {
      ctx.row({ name: 'burst: SubmitTx→finality median', value: quantile(b.latencies, 0.5), unit: 'ms', lowerIsBetter: true, ...ref(etcd && quantile(etcd.load, 0.5), `put median, ${ETCD_IN_FLIGHT} in flight`) });
      ctx.row({ name: 'burst: SubmitTx→finality p99', value: quantile(b.latencies, 0.99), unit: 'ms', lowerIsBetter: true, ...ref(etcd && quantile(etcd.load, 0.99), `put p99, ${ETCD_IN_FLIGHT} in flight`) });
    }
  } else {
    ctx.row({ name: `burst: NOT RUN (${wolk.burstSkipped})`, value: NaN, unit: '' });
  }
  if (etcd && !b) {
    ctx.row({ name: `etcd reference: put median, ${ETCD_IN_FLIGHT} in flight${E}`, value: quantile(etcd.load, 0.5), unit: 'ms', lowerIsBetter: true });
    ctx.row({ name: `etcd reference: put p99, ${ETCD_IN_FLIGHT} in flight${E}`, value: quantile(etcd.load, 0.99), unit: 'ms', lowerIsBetter: true });
  }
  if (!etcd) ctx.row({ name: `etcd reference: CANNOT RUN (${etcdProblem})`, value: NaN, unit: '' });
  // CPU per finalized SetKey over the measured phases: the total from /proc (user + system, every thread:
  // RocksDB's and libuv's included), split by the CPU profile's shares of the main thread's non-idle
  // samples (a sample's span is wall time, which under load includes waiting for a core: the profile
  // gives proportions, /proc the amount).
  const windowS = (wolk.windowUs.toUs - wolk.windowUs.fromUs) / 1e6;
  const totalCpu = wolk.cpuMs.reduce((a, c) => a + c.ms, 0);
  ctx.row({ name: `CPU per finalized SetKey, all ${wolk.cpuMs.reduce((a, c) => a + c.processes, 0)} processes (/proc user+system, ${wolk.finalized} final in the ${windowS.toFixed(1)} s measured; ${(totalCpu / 1000 / windowS).toFixed(2)} cores busy on average)`, value: totalCpu / wolk.finalized, unit: 'ms' });
  for (const c of wolk.cpuMs) ctx.row({ name: `CPU per finalized SetKey, ${c.processes} ${c.role} processes (/proc)`, value: c.ms / wolk.finalized, unit: 'ms' });
  for (const { role, processes, b } of wolk.profiles) {
    const busy = [...b.ms].filter(([k]) => k !== IDLE).reduce((a, [, v]) => a + v, 0);
    const cpu = wolk.cpuMs.find((c) => c.role === role)?.ms ?? busy;
    const who = `profile, ${processes} ${role} processes`;
    const idle = b.ms.get(IDLE) ?? 0;
    ctx.row({ name: `${who}: main thread idle (waiting on λ timers, network, disk), share of wall time`, value: (100 * idle) / (idle + busy), unit: '%' });
    for (const [cat, v] of [...b.ms].sort((x, y) => y[1] - x[1])) {
      if (cat === IDLE || v / busy < 0.005) continue;
      ctx.row({ name: `${who}: ${cat} (${((100 * v) / busy).toFixed(1)}% of main-thread samples), CPU per SetKey`, value: ((v / busy) * cpu) / wolk.finalized, unit: 'ms' });
    }
  }
  const first = scale[0];
  for (const f of scale) {
    const vs = first && f !== first ? ` (${first.validators} validators)` : '';
    const base = (value: number | undefined, what: string) => (first && f !== first && value !== undefined ? { baseline: value, baselineName: `${what}${vs}` } : {});
    const burstRate = (b: Batch) => b.latencies.length / b.seconds;
    const cpuPerSetKey = (g: ScaleFigures) => g.consensusCpuMs / Math.max(1, g.burst.latencies.length);
    const label = `scaling, ${f.validators} validators + 6 storers`;
    ctx.row({ name: `${label}: round time with no load`, value: f.idleRoundMs, unit: 'ms', lowerIsBetter: true, ...base(first?.idleRoundMs, 'round time') });
    ctx.row({ name: `${label}: SubmitTx→finality median, one at a time at random moments (${SCALE_SEQ})`, value: quantile(f.seq, 0.5), unit: 'ms', lowerIsBetter: true, ...base(first && quantile(first.seq, 0.5), 'median') });
    ctx.row({ name: `${label}: burst of ${SCALE_BURST}, finalized SetKey/s (${f.burst.latencies.length} final, ${f.burst.blocks} blocks)`, value: burstRate(f.burst), unit: 'tx/s', ...base(first && burstRate(first.burst), 'burst SetKey/s') });
    ctx.row({ name: `${label}: burst, CPU per finalized SetKey, all validators (/proc)`, value: cpuPerSetKey(f), unit: 'ms', lowerIsBetter: true, ...base(first && cpuPerSetKey(first), 'CPU per SetKey') });
    ctx.row({ name: `${label}: burst, CPU per finalized SetKey per validator`, value: cpuPerSetKey(f) / f.validators, unit: 'ms', lowerIsBetter: true, ...base(first && cpuPerSetKey(first) / first.validators, 'per validator') });
  }
  ctx.row({ name: 'load average (1 min) before the run', value: load0, unit: '' });
  ctx.row({ name: 'load average (1 min) after the run', value: loadavg()[0]!, unit: '' });
}
