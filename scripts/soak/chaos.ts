// `npm run soak -- chaos` (issue #20.3): a devnet (cluster.ts) under load (load.ts) while, cycle after
// cycle, a random process of any kind is SIGKILLed and restarted or a network fault is put on the
// links between real processes (fault-proxy.ts): a partition, added delay, or dropped connections.
// After each cycle's fault ends, the time until the chain is live again is measured (a block
// finalized after the fault ended, every process answering health checks). At the end, with the
// faults over: every upload answered 201 is read back byte-identical and its proof verifies against
// the genesis committee; no round has two different certified blocks across the consensus nodes'
// stores; the chain is live within the stated time; once the storers' reclamation deadline has passed,
// every storer holds exactly the files the chain names it for (reclaim-check.ts). Prints a table; the
// exit code says whether all held.
import { credentials } from '@grpc/grpc-js';
import { join } from 'node:path';
import { ConsensusServiceClient, type GetStatusResponse } from '../../gen/wolk/consensus/v1/consensus.js';
import { blockHashOfHeader } from '../../lib/chain/block-hash.js';
import { WolkClient } from '../../lib/client/client.js';
import { keyFromSeed } from '../../lib/client/keys.js';
import { COMMIT_DEADLINE_DEFAULT_MS, FINALITY_TIMEOUT_DEFAULT_MS } from '../../lib/config/env.js';
import { unaryCall } from '../../lib/grpc/client.js';
import { Prng } from '../../test/sim/prng.js';
import { startSoakCluster, tailOf, type SoakCluster, type SoakClusterOptions } from './cluster.js';
import { newLoadStats, readSha256, runUser, setUpUsers, type LoadStats } from './load.js';
import { reclaimed, waitReclaimed } from './reclaim-check.js';

/** The chain must be live again this soon after the faults stop (stated in docs/testing.md). */
export const RECOVERY_LIMIT_MS = 60_000;

export type FaultKind = 'kill' | 'partition' | 'delay' | 'drop';

export interface ChaosOptions {
  readonly cycles: number;
  readonly seed: number;
  /** Concurrent load users. */
  readonly users?: number;
  /** A fault lasts between these (partitions and delays), in ms. */
  readonly faultMs?: readonly [number, number];
  /** Pause after a recovered cycle before the next fault, in ms. */
  readonly settleMs?: number;
  readonly cluster?: SoakClusterOptions;
  /** The storers' WOLK_RECLAIM_AFTER_MS (default RECLAIM_AFTER_MS). */
  readonly reclaimAfterMs?: number;
  readonly log?: (line: string) => void;
}

export interface ChaosReport {
  readonly seed: number;
  readonly dir: string;
  readonly cycles: number;
  readonly faults: Record<FaultKind, number>;
  /** Processes killed, by service. */
  readonly killedByService: Record<string, number>;
  readonly load: LoadStats;
  /** Uploads answered 201 that were not byte-identical on GET or whose proof failed at the end. */
  readonly lost: string[];
  readonly recoveryMs: number[];
  /** Cycles after which the chain did not become live within RECOVERY_LIMIT_MS. */
  readonly unrecovered: number[];
  /** Rounds with two different certified blocks across nodes (never expected). */
  readonly forks: string[];
  readonly roundsChecked: number;
  /** After the last fault: time until a new block and every process healthy. */
  readonly finalRecoveryMs: number | null;
  /** The storers' reclamation deadline, and the time after the load stopped until every storer held exactly what the chain names it for (null: not within the deadline + RECLAIM_SLACK_MS). */
  readonly reclaimAfterMs: number;
  readonly reclaimMs: number | null;
  /** Storers that did not get there: what they held against what the chain names them for. */
  readonly unreclaimed: string[];
  readonly durationMs: number;
}

/**
 * The storers' reclamation deadline in the soak: the gateway's commit deadline and finality wait (a
 * 201's SetKey is final within them after the storers stored the file) plus 30 s, far below the 12 min
 * default (whose margin is for SetKeys finalizing after a 202) so the soak can wait for it.
 */
export const RECLAIM_AFTER_MS = COMMIT_DEADLINE_DEFAULT_MS + FINALITY_TIMEOUT_DEFAULT_MS + 30_000;
/** After the deadline: a sweep (deadline / 4), the chain's lag, the indexer's. */
export const RECLAIM_SLACK_MS = 60_000;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function consensusClients(cluster: SoakCluster): Map<string, ConsensusServiceClient> {
  const out = new Map<string, ConsensusServiceClient>();
  for (const p of cluster.processes.values()) if (p.plan.service === 'consensus') out.set(p.plan.name, new ConsensusServiceClient(p.direct, credentials.createInsecure()));
  return out;
}

async function statusOf(c: ConsensusServiceClient): Promise<GetStatusResponse | null> {
  try {
    return await unaryCall(c.getStatus.bind(c), {}, { timeoutMs: 2000 });
  } catch {
    return null;
  }
}

/** Highest finalized round any consensus node reports (direct, not through proxies). */
async function finalizedRound(clients: Map<string, ConsensusServiceClient>): Promise<bigint> {
  const all = await Promise.all([...clients.values()].map(statusOf));
  return all.reduce((m, s) => (s && s.finalizedRound > m ? s.finalizedRound : m), -1n);
}

/** Waits until a block beyond `after` is final and every process is serving; the time it took, or null. */
async function waitLive(cluster: SoakCluster, clients: Map<string, ConsensusServiceClient>, after: bigint, limitMs: number): Promise<number | null> {
  const start = Date.now();
  while (Date.now() - start < limitMs) {
    const round = await finalizedRound(clients);
    if (round > after) {
      const h = await cluster.health();
      if (Object.values(h).every((s) => s === 'SERVING')) return Date.now() - start;
    }
    await pause(200);
  }
  return null;
}

export function percentile(xs: readonly number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const log = o.log ?? ((l: string) => process.stdout.write(l + '\n'));
  const prng = new Prng(o.seed);
  const started = Date.now();
  const reclaimAfterMs = o.reclaimAfterMs ?? RECLAIM_AFTER_MS;
  const cluster = await startSoakCluster({ ...o.cluster, env: { WOLK_RECLAIM_AFTER_MS: String(reclaimAfterMs), ...o.cluster?.env } });
  log(`chaos: seed ${o.seed}, devnet in ${cluster.dir}, gateway ${cluster.gatewayUrl}`);
  const clients = consensusClients(cluster);
  const names = [...cluster.processes.keys()];
  const faults: Record<FaultKind, number> = { kill: 0, partition: 0, delay: 0, drop: 0 };
  const killedByService: Record<string, number> = {};
  const recoveryMs: number[] = [];
  const unrecovered: number[] = [];
  const stats = newLoadStats();
  const [lo, hi] = o.faultMs ?? [1000, 4000];
  const loadStop = new AbortController();
  let loads: Promise<void>[] = [];
  try {
    const keys = Array.from({ length: o.users ?? 2 }, () => keyFromSeed(new Uint8Array(Buffer.from(Array.from({ length: 32 }, () => prng.next() & 0xff)))));
    const users = await setUpUsers(cluster.gatewayUrl, cluster.genesis, keys, 'soak', AbortSignal.timeout(180_000));
    loads = users.map((u, i) => runUser(u, new Prng(o.seed + 1 + i), stats, join(cluster.dir, 'scratch'), loadStop.signal).catch((err: unknown) => log(`load ${u.name} stopped: ${(err as Error).message}`)));

    for (let cycle = 1; cycle <= o.cycles; cycle++) {
      const kinds: FaultKind[] = ['kill', 'kill', 'partition', 'delay', 'drop'];
      const kind = kinds[prng.next() % kinds.length]!;
      const target = names[prng.next() % names.length]!;
      const duration = lo + (prng.next() % Math.max(1, hi - lo));
      faults[kind]++;
      let what: string;
      if (kind === 'kill') {
        const service = cluster.processes.get(target)!.plan.service;
        killedByService[service] = (killedByService[service] ?? 0) + 1;
        await cluster.kill(target);
        await pause(prng.next() % 1500);
        cluster.start(target);
        what = `SIGKILL ${target}, restarted`;
      } else if (kind === 'partition') {
        // One process, or a minority of consensus nodes with some other processes, cut off from the rest.
        const side = new Set<string>([target]);
        if (prng.next() % 2 === 0) side.add(names[prng.next() % names.length]!);
        const links = cluster.across(side);
        for (const l of links) l.setFault({ kind: 'partition' });
        await pause(duration);
        for (const l of links) l.setFault(null);
        what = `partition {${[...side].join(', ')}} for ${duration} ms (${links.length} links)`;
      } else if (kind === 'delay') {
        const ms = 20 + (prng.next() % 280);
        const links = cluster.inbound(target);
        for (const l of links) l.setFault({ kind: 'delay', ms });
        await pause(duration);
        for (const l of links) l.setFault(null);
        what = `+${ms} ms into ${target} for ${duration} ms`;
      } else {
        const n = cluster.inbound(target).reduce((s, l) => s + l.dropConnections(), 0);
        what = `dropped ${n} connections into ${target}`;
      }
      const atHeal = await finalizedRound(clients);
      const took = await waitLive(cluster, clients, atHeal, RECOVERY_LIMIT_MS);
      if (took === null) {
        unrecovered.push(cycle);
        log(`cycle ${cycle}/${o.cycles}: ${what}; NOT live within ${RECOVERY_LIMIT_MS} ms (health ${JSON.stringify(await cluster.health())})`);
      } else {
        recoveryMs.push(took);
        log(`cycle ${cycle}/${o.cycles}: ${what}; live again in ${took} ms (round > ${atHeal}); uploads ok ${stats.ok.length}, refused ${[...stats.refused.values()].reduce((a, b) => a + b, 0)}`);
      }
      if (o.settleMs) await pause(o.settleMs);
    }

    // Faults over: stop the load, then check what was promised.
    loadStop.abort();
    await Promise.all(loads);
    const loadStopped = Date.now();
    const atEnd = await finalizedRound(clients);
    const finalRecoveryMs = await waitLive(cluster, clients, atEnd, RECOVERY_LIMIT_MS);
    const lost: string[] = [...stats.wrongReads];
    // Reads need no key; proofs are checked against the genesis committee's quorum.
    const reader = new WolkClient(cluster.gatewayUrl, undefined, cluster.genesis);
    for (const rec of stats.ok) {
      try {
        const got = await readSha256(reader, rec.uri);
        if (got !== rec.sha256) lost.push(`${rec.uri}: read ${got}, uploaded ${rec.sha256}`);
        const proof = await reader.proof(rec.uri);
        if (!proof.verified || proof.quorum !== true) lost.push(`${rec.uri}: proof does not verify (${proof.reason ?? 'quorum'})`);
      } catch (err) {
        lost.push(`${rec.uri}: ${(err as Error).message}`);
      }
    }
    const { forks, rounds } = await checkNoForks(clients);
    // Reclamation: the last write of the load was before loadStopped; every storer must hold exactly
    // what the chain names it for once the deadline (and a sweep, and the chain's lag) has passed.
    const reclaim = await waitReclaimed(cluster, Math.max(0, loadStopped + reclaimAfterMs + RECLAIM_SLACK_MS - Date.now()));
    const reclaimMs = reclaim.ms === null ? null : Date.now() - loadStopped;
    const unreclaimed = reclaim.holdings.filter((h) => !reclaimed(h)).map((h) => `${h.name}: holds ${h.files} files, ${h.diskBytes} bytes on disk; the chain names it for ${h.covered} files, ${h.coveredBytes} bytes`);
    if (reclaim.holdings.length === 0) unreclaimed.push('no storer answered GetInfo and the indexer ListStorerKeys');
    return { seed: o.seed, dir: cluster.dir, cycles: o.cycles, faults, killedByService, load: stats, lost, recoveryMs, unrecovered, forks, roundsChecked: rounds, finalRecoveryMs, reclaimAfterMs, reclaimMs, unreclaimed, durationMs: Date.now() - started };
  } catch (err) {
    const tails = [...cluster.processes.values()].map((p) => `--- ${p.plan.name}\n${tailOf(p.log, 5)}`).join('\n');
    throw new Error(`chaos soak (seed ${o.seed}, ${cluster.dir}): ${(err as Error).message}\n${tails}`, { cause: err });
  } finally {
    loadStop.abort();
    await Promise.all(loads);
    for (const c of clients.values()) c.close();
    await cluster.stop();
  }
}

/** Every round up to the highest tip: the block each consensus node stores, by hash; two different ones are a fork. */
async function checkNoForks(clients: Map<string, ConsensusServiceClient>): Promise<{ forks: string[]; rounds: number }> {
  const tips = await Promise.all([...clients.values()].map(statusOf));
  const top = tips.reduce((m, s) => (s && s.finalizedRound > m ? s.finalizedRound : m), 0n);
  const forks: string[] = [];
  for (let r = 1n; r <= top; r++) {
    const seen = new Map<string, string[]>();
    await Promise.all(
      [...clients.entries()].map(async ([name, c]) => {
        try {
          const res = await unaryCall(c.getBlock.bind(c), { selector: { $case: 'round', value: r } }, { timeoutMs: 5000 });
          const header = res.block?.block?.header;
          if (!header || !res.block?.certificate) return;
          const h = Buffer.from(blockHashOfHeader(header)).toString('hex');
          seen.set(h, [...(seen.get(h) ?? []), name]);
        } catch {
          // a node behind this round has nothing to compare
        }
      }),
    );
    if (seen.size > 1) forks.push(`round ${r}: ${[...seen.entries()].map(([h, ns]) => `${h.slice(0, 16)} at ${ns.join(',')}`).join(' vs ')}`);
  }
  return { forks, rounds: Number(top) };
}

/** The report as the table the issue asks for, plus what failed. */
export function formatReport(r: ChaosReport): string {
  const refused = [...r.load.refused.values()].reduce((a, b) => a + b, 0);
  const p50 = percentile(r.recoveryMs, 50);
  const p99 = percentile(r.recoveryMs, 99);
  const rows: [string, string][] = [
    ['seed', String(r.seed)],
    ['cycles', String(r.cycles)],
    ['faults: kill', `${r.faults.kill} (${Object.entries(r.killedByService).map(([s, n]) => `${s} ${n}`).join(', ') || '-'})`],
    ['faults: partition', String(r.faults.partition)],
    ['faults: delay', String(r.faults.delay)],
    ['faults: drop connections', String(r.faults.drop)],
    ['uploads ok (201)', String(r.load.ok.length)],
    ['uploads accepted (202)', String(r.load.accepted)],
    ['uploads refused', `${refused} (${[...r.load.refused.entries()].map(([k, n]) => `${k}: ${n}`).join(', ') || '-'})`],
    ['uploads lost', String(r.lost.length)],
    ['reads during faults', `${r.load.reads} (${r.load.readFailures} failed, ${r.load.wrongReads.length} wrong bytes)`],
    ['recovery p50 / p99', `${p50 ?? '-'} ms / ${p99 ?? '-'} ms (limit ${RECOVERY_LIMIT_MS} ms; ${r.unrecovered.length} cycles over it)`],
    ['live after the last fault', r.finalRecoveryMs === null ? `NO (not within ${RECOVERY_LIMIT_MS} ms)` : `${r.finalRecoveryMs} ms`],
    ['rounds checked for forks', `${r.roundsChecked} (${r.forks.length} with two certified blocks)`],
    ['storers reclaimed', r.reclaimMs === null ? `NO (${r.unreclaimed.length} storers hold other than what the chain names them for)` : `${r.reclaimMs} ms after the load stopped (WOLK_RECLAIM_AFTER_MS ${r.reclaimAfterMs})`],
    ['duration', `${Math.round(r.durationMs / 1000)} s`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`);
  for (const l of r.lost.slice(0, 20)) lines.push(`LOST ${l}`);
  for (const f of r.forks.slice(0, 20)) lines.push(`FORK ${f}`);
  for (const u of r.unreclaimed) lines.push(`UNRECLAIMED ${u}`);
  return lines.join('\n');
}

/** What must hold for the soak to pass. */
export function chaosPassed(r: ChaosReport): boolean {
  return r.lost.length === 0 && r.forks.length === 0 && r.unrecovered.length === 0 && r.finalRecoveryMs !== null && r.load.wrongReads.length === 0 && r.unreclaimed.length === 0;
}
