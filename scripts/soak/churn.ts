// `npm run soak -- churn` (issue #19, docs/repair.md "Churn soak"): a real devnet (the launcher
// scripts/devnet.ts through test/helpers/devnet.ts: 6 storers, N = 3) with the repairer on
// (WOLK_REPAIR_INTERVAL_MS), while load users upload continuously through the client library
// (load.ts). Cycle after cycle a new storer joins (a storer process the genesis does not list, funded
// in the genesis accounts, that registers itself on chain: services/storer/register.ts) and a live
// storer holding keys is SIGKILLed and its data directory removed for good. The soak watches every
// dead storer's keys through the indexer (ListStorerKeys) and times each from the kill to the moment
// it no longer names the dead storer (a Repair applied). At the end, with the load stopped: every
// file uploaded final is read back byte-identical and its proof verified, every key has N commitments
// on live storers, and the figures (churn-figures.ts) are printed and saved as JSON for
// `npm run durability -- --from-soak`.
import { credentials } from '@grpc/grpc-js';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { IndexerServiceClient } from '../../gen/wolk/indexer/v1/indexer.js';
import { RewardsServiceClient } from '../../gen/wolk/rewards/v1/rewards.js';
import type { ChunkSetRecord, KeyRecord } from '../../gen/wolk/common/v1/state.js';
import { loadGenesis } from '../../lib/chain/genesis.js';
import { WolkClient } from '../../lib/client/client.js';
import { keyFromSeed } from '../../lib/client/keys.js';
import { unaryCall } from '../../lib/grpc/client.js';
import { loadOrCreateNodeKey } from '../../lib/identity/node-key.js';
import { startDevnet, type Devnet } from '../../test/helpers/devnet.js';
import { pollUntil } from '../../test/helpers/poll.js';
import { freePort } from '../../test/helpers/ports.js';
import { Prng, testRandom } from '../../test/helpers/seed.js';
import { DEVNET_PARAMS, environmentFor, serviceArgs, type PlannedProcess } from '../devnet-plan.js';
import { chunkSetFigures, createRestoreTracker, fetchesInLog, repairBytes, spread, type ChurnFigures } from './churn-figures.js';
import { ROOT, tailOf } from './cluster.js';
import { newLoadStats, readSha256, runUser, setUpUsers } from './load.js';

export interface ChurnOptions {
  readonly seed: number;
  /** Length of the churn phase (uploads, joins, kills), minutes; the final wait and checks come after. */
  readonly minutes: number;
  /** Storers killed and wiped. */
  readonly kills: number;
  /** Storers that join (register on chain) during the run; default = kills. */
  readonly joins: number;
  readonly users: number;
  /** The repairer's scan period (WOLK_REPAIR_INTERVAL_MS). */
  readonly repairIntervalMs: number;
  /** After the churn phase: how long every affected key may still take to be restored. */
  readonly restoreWaitMs: number;
  /** Where the figures are saved. */
  readonly out: string;
  readonly log?: (line: string) => void;
}

export const CHURN_DEFAULTS = { minutes: 8, kills: 4, users: 2, repairIntervalMs: 2000, restoreWaitMs: 300_000, out: 'bench/results/churn.json' } as const;

/** Stake and genesis balance of a joining storer (the genesis storers' stake is 1000, devnet-plan.ts). */
const JOIN_STAKE = 1000;
const JOIN_BALANCE = 5000;

interface Storer {
  readonly name: string;
  readonly id: string;
  readonly dataDir: string;
  readonly log: string;
  /** A joiner's process (the launcher owns the genesis storers'). */
  child: ChildProcess | null;
  pid: number;
  alive: boolean;
}

interface ProcessEntry {
  readonly name: string;
  readonly service: PlannedProcess['service'];
  readonly pid: number;
  readonly grpc: string;
  readonly dataDir: string;
  readonly log: string;
}

/** Waits `ms`, or less when `signal` aborts; the listener goes with the wait (the watcher pauses every second). */
const pause = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((r) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      r();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const pathOf = (r: KeyRecord) => `${r.owner}/${r.collection}/${r.key}`;
const gone = (pid: number) => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};

export async function runChurn(o: ChurnOptions): Promise<ChurnFigures> {
  const say = o.log ?? ((l: string) => process.stdout.write(`[soak churn] ${l}\n`));
  const rnd = testRandom('soak/churn', o.seed);
  const t0 = Date.now();
  const load0 = loadavg()[0]!;
  const el = () => `${((Date.now() - t0) / 1000).toFixed(0)} s`;
  const dir = mkdtempSync(join(tmpdir(), 'wolk-churn-'));
  mkdirSync(join(dir, 'logs'), { recursive: true });

  // Joiners' keys first: the genesis funds them (WOLK_DEVNET_ACCOUNTS) so they can stake.
  const joinKeys = Array.from({ length: o.joins }, (_, i) => {
    const dataDir = join(dir, `joiner-${i}`);
    mkdirSync(dataDir, { recursive: true });
    return { name: `joiner-${i}`, dataDir, key: rnd.provisionNodeKey(dataDir) };
  });
  say(`seed ${o.seed}: devnet in ${dir}; ${o.minutes} min of churn, ${o.kills} kills, ${o.joins} joins, repair scan every ${o.repairIntervalMs} ms`);
  const devnet: Devnet = await startDevnet(dir, {
    WOLK_REPAIR_INTERVAL_MS: String(o.repairIntervalMs),
    ...(joinKeys.length ? { WOLK_DEVNET_ACCOUNTS: joinKeys.map((j) => `${j.key.id}=${JOIN_BALANCE}`).join(',') } : {}),
  });
  const genesisPath = join(dir, 'genesis.json');
  const genesis = loadGenesis(genesisPath);
  const procs = () => JSON.parse(readFileSync(join(dir, 'processes.json'), 'utf8')) as ProcessEntry[];
  const planned: PlannedProcess[] = procs().map((p, index) => ({ name: p.name, service: p.service, index, dataDir: p.dataDir, grpcPort: Number(p.grpc.split(':')[1]) }));
  const gatewaySources = new Set(procs().filter((p) => p.service === 'gateway').map((p) => p.grpc));
  const storers = new Map<string, Storer>();
  for (const p of procs()) {
    if (p.service !== 'storer') continue;
    storers.set(p.name, { name: p.name, id: loadOrCreateNodeKey(p.dataDir).key.id, dataDir: p.dataDir, log: p.log, child: null, pid: p.pid, alive: true });
  }
  const genesisStorers = storers.size;
  const indexer = new IndexerServiceClient(devnet.endpoints().indexer[0]!, credentials.createInsecure());
  const rewards = new RewardsServiceClient(devnet.endpoints().rewards[0]!, credentials.createInsecure());
  const gateway = devnet.endpoints().gateway;

  const keysOf = async (storerId: string): Promise<string[]> => {
    const out: string[] = [];
    let pageToken = '';
    do {
      const page = await unaryCall(indexer.listStorerKeys.bind(indexer), { storerId: Buffer.from(storerId, 'hex'), pageSize: 1000, pageToken }, { timeoutMs: 10_000 });
      out.push(...page.keys.map(pathOf));
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    return out;
  };

  /** The non-empty block chunk sets whose current commitments name any of `storerIds`, by round (indexer ListStorerChunkSets). */
  const chunkSetsNaming = async (storerIds: readonly string[]): Promise<ChunkSetRecord[]> => {
    const out = new Map<bigint, ChunkSetRecord>();
    for (const id of storerIds) {
      let pageToken = '';
      do {
        const page = await unaryCall(indexer.listStorerChunkSets.bind(indexer), { storerId: Buffer.from(id, 'hex'), pageSize: 1000, pageToken }, { timeoutMs: 10_000 });
        for (const s of page.chunkSets) if (s.commitments.some((c) => c.size > 0n)) out.set(s.round, s);
        pageToken = page.nextPageToken;
      } while (pageToken !== '');
    }
    return [...out.values()];
  };

  const tracker = createRestoreTracker();
  const kills: { storer: string; id: string; atMs: number; keys: number }[] = [];
  const joins: { storer: string; registeredAfterS: number }[] = [];
  const stats = newLoadStats();
  const loadStop = new AbortController();
  const watchStop = new AbortController();
  let loads: Promise<void>[] = [];
  let watcher: Promise<void> = Promise.resolve();
  const aliveMs = new Map<string, number>(); // storer-ms lived, closed at kill or end
  const since = new Map<string, number>([...storers.keys()].map((n) => [n, Date.now()]));
  const closeLife = (name: string) => {
    const s = since.get(name);
    if (s !== undefined) aliveMs.set(name, (aliveMs.get(name) ?? 0) + Date.now() - s);
    since.delete(name);
  };

  /** One pass over the dead storers: which keys still name each. */
  const watchOnce = async () => {
    for (const k of kills) {
      try {
        tracker.observe(k.storer, k.atMs, await keysOf(k.id), Date.now());
      } catch {
        // the indexer busy: asked again next pass
      }
    }
  };

  const joinStorer = async (j: (typeof joinKeys)[number]) => {
    const port = await freePort();
    const p: PlannedProcess = { name: j.name, service: 'storer', index: planned.length, dataDir: j.dataDir, grpcPort: port };
    const env = { ...environmentFor(p, planned, genesisPath, process.pid), WOLK_STAKE: String(JOIN_STAKE) };
    const log = join(dir, 'logs', `${j.name}.log`);
    const fd = openSync(log, 'a');
    const child = spawn(process.execPath, serviceArgs('storer'), { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const s: Storer = { name: j.name, id: j.key.id, dataDir: j.dataDir, log, child, pid: child.pid!, alive: true };
    child.once('exit', () => (s.alive = false));
    storers.set(j.name, s);
    since.set(j.name, Date.now());
    const started = Date.now();
    await pollUntil(() => readFileSync(log, 'utf8').includes('"msg":"registered on chain as a storer"'), {
      what: `${j.name} registered on chain`,
      deadlineMs: 180_000,
      intervalMs: 500,
      describe: () => tailOf(log, 5),
    });
    joins.push({ storer: j.name, registeredAfterS: (Date.now() - started) / 1000 });
    say(`${el()}: ${j.name} (${j.key.id.slice(0, 12)}) joined: registered on chain ${((Date.now() - started) / 1000).toFixed(1)} s after it started`);
  };

  const kill = async () => {
    const live = [...storers.values()].filter((s) => s.alive);
    // Never below N + 1 live storers: the soak measures repair, not an upload outage.
    if (live.length <= DEVNET_PARAMS.replication + 1) {
      say(`${el()}: kill skipped: only ${live.length} live storers (N = ${DEVNET_PARAMS.replication})`);
      return;
    }
    const holding: { s: Storer; keys: string[] }[] = [];
    for (const s of live) holding.push({ s, keys: await keysOf(s.id) });
    const pool = holding.filter((h) => h.keys.length > 0);
    const { s: victim, keys } = (pool.length ? pool : holding)[rnd.int(0, (pool.length ? pool : holding).length - 1)]!;
    if (victim.child) victim.child.kill('SIGKILL');
    else process.kill(victim.pid, 'SIGKILL');
    await pollUntil(() => gone(victim.pid), { what: `${victim.name} gone`, deadlineMs: 10_000, intervalMs: 100 });
    victim.alive = false;
    rmSync(victim.dataDir, { recursive: true, force: true });
    closeLife(victim.name);
    const atMs = Date.now();
    kills.push({ storer: victim.name, id: victim.id, atMs, keys: keys.length });
    tracker.observe(victim.name, atMs, keys, atMs);
    say(`${el()}: SIGKILL ${victim.name} (${victim.id.slice(0, 12)}) and its data directory removed; it held ${keys.length} keys; ${live.length - 1} storers live`);
  };

  try {
    const keys = Array.from({ length: o.users }, () => keyFromSeed(new Uint8Array(rnd.bytes(32))));
    const users = await setUpUsers(gateway, genesis, keys, 'churn', AbortSignal.timeout(180_000));
    loads = users.map((u, i) => runUser(u, new Prng((o.seed + 1 + i) >>> 0), stats, join(dir, 'scratch'), loadStop.signal).catch((err: unknown) => say(`load ${u.name} stopped: ${(err as Error).message}`)));
    watcher = (async () => {
      let lastProgress = 0;
      while (!watchStop.signal.aborted) {
        await watchOnce();
        if (Date.now() - lastProgress >= 20_000) {
          lastProgress = Date.now();
          const ps = tracker.pairs();
          say(`${el()}: uploads final ${stats.ok.length}, refused ${[...stats.refused.values()].reduce((a, b) => a + b, 0)}; kills ${kills.length}/${o.kills}, joins ${joins.length}/${o.joins}; affected keys ${ps.length}, restored ${ps.length - tracker.pending().length}`);
        }
        await pause(1000, watchStop.signal);
      }
    })();

    // Warm-up: some files on chain before the first kill.
    await pollUntil(() => stats.ok.length, { what: '6 uploads final', deadlineMs: 180_000, intervalMs: 1000, until: (n) => n >= 6, describe: (n) => `${n} final, refused ${JSON.stringify([...stats.refused])}` });
    const warmMs = Date.now() - t0;
    const endMs = t0 + o.minutes * 60_000;
    // The last kill leaves a third of the spacing (at least 60 s) before the load stops.
    const spacing = Math.max(10_000, (endMs - Date.now()) / (o.kills + 0.34));
    say(`${el()}: warm-up done (${stats.ok.length} uploads final after ${(warmMs / 1000).toFixed(0)} s); a kill every ${(spacing / 1000).toFixed(0)} s`);
    for (let c = 0; c < Math.max(o.kills, o.joins); c++) {
      await pause(Math.max(0, t0 + warmMs + c * spacing - Date.now()));
      if (c < o.joins) await joinStorer(joinKeys[c]!);
      if (c < o.kills) await kill();
    }
    await pause(Math.max(0, endMs - Date.now()));
    say(`${el()}: churn phase over; stopping the load`);
    loadStop.abort();
    await Promise.all(loads);

    // Every affected key back at N, within the wait.
    const waitUntil = Math.max(Date.now(), (kills.at(-1)?.atMs ?? Date.now()) + o.restoreWaitMs);
    await pollUntil(async () => { await watchOnce(); return tracker.pending().length; }, { what: 'every affected key restored', deadlineMs: Math.max(1000, waitUntil - Date.now()), intervalMs: 2000, until: (n) => n === 0 }).catch((err: unknown) => say(`not every key restored: ${(err as Error).message}`));
    watchStop.abort();
    await watcher;
    // And every block chunk set a dead storer left below N back at N (docs/repair.md §9), in the same wait.
    const deadIds = new Set(kills.map((k) => k.id));
    const rewardsLogNow = () => readFileSync(join(dir, 'logs', 'rewards-0.log'), 'utf8');
    const chunkSets = await pollUntil(async () => chunkSetFigures(await chunkSetsNaming(kills.map((k) => k.id)), deadIds, DEVNET_PARAMS.replication, rewardsLogNow()), {
      what: 'every chunk set a dead storer left below N restored',
      deadlineMs: Math.max(1000, waitUntil - Date.now()),
      intervalMs: 2000,
      until: (f) => f.underN.length === 0,
      describe: (f) => `${f.underN.length} under N: ${f.underN.slice(0, 5).join('; ')}`,
    }).catch(async (err: unknown) => {
      say(`not every chunk set restored: ${(err as Error).message.split('\n')[0]}`);
      return chunkSetFigures(await chunkSetsNaming(kills.map((k) => k.id)), deadIds, DEVNET_PARAMS.replication, rewardsLogNow());
    });

    // Final checks: GET byte-identical and proof, N live commitments, repairs on chain.
    say(`${el()}: checking ${stats.ok.length} files: GET, proof, commitments`);
    const dead = new Set(kills.map((k) => k.id));
    const reader = new WolkClient(gateway, undefined, genesis);
    const lost: string[] = [...stats.wrongReads];
    const underReplicated: string[] = [];
    const files = new Map<string, { size: number; repairs: number }>();
    let identical = 0;
    let proofsVerified = 0;
    for (const rec of stats.ok) {
      const [owner, collection, key] = rec.uri.slice('wolk://'.length).split('/') as [string, string, string];
      let got: string | null = null;
      try {
        got = await readSha256(reader, rec.uri);
        if (got === rec.sha256) identical++;
        else lost.push(`${rec.uri}: read ${got}, uploaded ${rec.sha256}`);
      } catch (err) {
        lost.push(`${rec.uri}: GET failed: ${(err as Error).message}`);
      }
      try {
        const proof = await reader.proof(rec.uri);
        if (proof.verified && proof.quorum === true) proofsVerified++;
      } catch {
        // counted as not verified
      }
      try {
        const r = (await unaryCall(indexer.getKey.bind(indexer), { owner, collection, key }, { timeoutMs: 10_000 })).record!;
        files.set(hex(r.file!.filehash), { size: Number(r.file!.size), repairs: r.repairs ?? 0 });
        const liveIds = new Set(r.commitments.map((c) => hex(c.storerId)).filter((id) => !dead.has(id)));
        if (liveIds.size < DEVNET_PARAMS.replication) underReplicated.push(`${rec.uri}: ${liveIds.size} live commitments of ${r.commitments.length}`);
      } catch (err) {
        underReplicated.push(`${rec.uri}: indexer GetKey: ${(err as Error).message}`);
      }
    }
    const rewardsLog = readFileSync(join(dir, 'logs', 'rewards-0.log'), 'utf8');
    const submitted = rewardsLog.split('\n').filter((l) => l.includes('"msg":"repair submitted"')).length;
    // The repairer logs a lost key on every scan that finds it so: each key once.
    const lostKeys = new Map<string, string>();
    for (const l of rewardsLog.split('\n').filter((x) => x.includes('"msg":"repair: file lost"'))) {
      try {
        const r = JSON.parse(l) as { key?: string };
        lostKeys.set(r.key ?? l, l.slice(0, 300));
      } catch {
        lostKeys.set(l, l.slice(0, 300));
      }
    }
    for (const [key, line] of lostKeys) if (!lost.some((x) => x.includes(key))) lost.push(`repairer lists ${key} as lost: ${line}`);
    const fetches = [...storers.values()].flatMap((s) => fetchesInLog(readFileSync(s.log, 'utf8')));
    const bytes = repairBytes(fetches, gatewaySources, files);
    const perFile = spread(bytes.perFile);
    // Audit outcomes, every storer (the rewards service's totals over finalized Rewards).
    let valid = 0, invalid = 0, unreachable = 0;
    for (const s of storers.values()) {
      try {
        const r = await unaryCall(rewards.getReputation.bind(rewards), { storerId: Buffer.from(s.id, 'hex') }, { timeoutMs: 10_000 });
        valid += r.totals?.valid ?? 0;
        invalid += r.totals?.invalid ?? 0;
        unreachable += r.totals?.unreachable ?? 0;
      } catch {
        // never audited
      }
    }
    for (const n of [...since.keys()]) closeLife(n);
    const restore = tracker.restoreMs();
    const pairs = tracker.pairs();
    const figures: ChurnFigures = {
      soak: 'churn',
      date: new Date().toISOString(),
      seed: o.seed,
      minutes: o.minutes,
      machine: { cpus: cpus().length, loadStart: load0, loadEnd: loadavg()[0]! },
      replication: DEVNET_PARAMS.replication,
      storers: { genesis: genesisStorers, joined: joins.length, killed: kills.length },
      kills: kills.map((k) => ({ storer: k.storer, atS: (k.atMs - t0) / 1000, keys: k.keys })),
      joins,
      filesUploaded: stats.ok.length,
      uploadsRefused: [...stats.refused.values()].reduce((a, b) => a + b, 0),
      uploadsNotFinal: stats.accepted,
      affectedKeys: pairs.length,
      restoredKeys: restore.length,
      restoreMs: spread(restore),
      repairsApplied: bytes.repairs,
      repairsSubmitted: submitted,
      chunkSets,
      bytesPerRepair: { p50: perFile.p50, p99: perFile.p99, aggregate: bytes.aggregate, fetchedBytes: bytes.fetchedBytes, wastedBytes: bytes.wastedBytes },
      filesLost: lost.length,
      lost,
      underReplicated,
      getByteIdentical: { checked: stats.ok.length, identical, proofsVerified },
      audits: { valid, invalid, unreachable, availability: valid + invalid + unreachable > 0 ? valid / (valid + invalid + unreachable) : null },
      storerYears: [...aliveMs.values()].reduce((a, b) => a + b, 0) / (365.25 * 24 * 3600 * 1000),
      durationS: (Date.now() - t0) / 1000,
      dir,
    };
    mkdirSync(dirname(o.out), { recursive: true });
    writeFileSync(o.out, JSON.stringify(figures, null, 2) + '\n');
    writeFileSync(join(dir, 'churn.json'), JSON.stringify(figures, null, 2) + '\n');
    say(`figures saved to ${o.out} (and ${join(dir, 'churn.json')})`);
    return figures;
  } catch (err) {
    const tails = readdirSync(join(dir, 'logs')).map((f) => `--- ${f}\n${tailOf(join(dir, 'logs', f), 5)}`).join('\n');
    throw new Error(`churn soak (seed ${o.seed}, ${dir}): ${(err as Error).message}\n${tails}`, { cause: err });
  } finally {
    loadStop.abort();
    watchStop.abort();
    await Promise.all(loads);
    await watcher;
    for (const s of storers.values()) if (s.child && s.alive) s.child.kill('SIGTERM');
    indexer.close();
    rewards.close();
    await devnet.stop();
  }
}
