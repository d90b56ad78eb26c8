// The churn soak's figures (churn.ts, docs/repair.md "Churn soak"), computed from what the soak
// observed: pure functions, so the arithmetic is unit-tested apart from the devnet
// (test/unit/soak/churn-figures.test.ts). `npm run durability -- --from-soak FILE` reads the JSON
// these make (scripts/durability.ts soakInputs).
import { percentile } from './chaos.js';
import type { ChunkSetRecord } from '../../gen/wolk/common/v1/state.js';

/** One (killed storer, key) pair: the key named the storer when it died, or while it was dead. */
export interface AffectedKey {
  readonly storer: string;
  readonly path: string;
  /** When the storer was killed and wiped (the failure), ms since the epoch. */
  readonly failedAtMs: number;
  /** First observation that the key no longer names it (its Repair applied), or null. */
  restoredAtMs: number | null;
}

/**
 * Failure → restored N, per (dead storer, key). The soak observes each dead storer's keys through the
 * indexer (ListStorerKeys: the records whose *current* commitments name it); a key seen there is
 * affected from the kill on, and restored when it is no longer listed, i.e. a Repair substituted a new
 * storer's commitment for the dead one's.
 */
export function createRestoreTracker() {
  const pairs = new Map<string, AffectedKey>();
  const id = (storer: string, path: string) => `${storer} ${path}`;
  return {
    /** `storer` (killed at `failedAtMs`) is named, now, by exactly the keys `naming`. */
    observe(storer: string, failedAtMs: number, naming: readonly string[], nowMs: number): void {
      const still = new Set(naming);
      for (const path of still) {
        const k = id(storer, path);
        const p = pairs.get(k);
        if (!p) pairs.set(k, { storer, path, failedAtMs, restoredAtMs: null });
        else if (p.restoredAtMs !== null) p.restoredAtMs = null; // listed again: an indexer that lagged; not restored yet
      }
      for (const p of pairs.values()) if (p.storer === storer && p.restoredAtMs === null && !still.has(p.path)) p.restoredAtMs = nowMs;
    },
    pairs: (): AffectedKey[] => [...pairs.values()],
    pending: (): AffectedKey[] => [...pairs.values()].filter((p) => p.restoredAtMs === null),
    restoreMs: (): number[] => [...pairs.values()].filter((p) => p.restoredAtMs !== null).map((p) => p.restoredAtMs! - p.failedAtMs),
  };
}

/** A storer's log line `fetched and committed a file` (services/storer/solicit.ts). */
export interface Fetch {
  readonly file: string;
  readonly size: number;
  readonly source: string;
}

/** The `fetched and committed a file` lines of a storer's JSON log. */
export function fetchesInLog(text: string): Fetch[] {
  const out: Fetch[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('fetched and committed a file')) continue;
    try {
      const r = JSON.parse(line) as Record<string, unknown>;
      if (r['msg'] === 'fetched and committed a file' && typeof r['file'] === 'string' && typeof r['source'] === 'string') out.push({ file: r['file'], size: Number(r['size']), source: r['source'] });
    } catch {
      // a line cut by SIGKILL
    }
  }
  return out;
}

export interface RepairBytes {
  /** Repairs applied on chain over all keys (KeyRecord.repairs summed). */
  readonly repairs: number;
  /** Bytes storers fetched from another storer (a repair's source), over all files. */
  readonly fetchedBytes: number;
  /** Of those, bytes for files no Repair was applied to (a repair refused or never included). */
  readonly wastedBytes: number;
  /** Per repaired file: bytes fetched for its repairs / (repairs × file size). 1 = one replica's worth each. */
  readonly perFile: readonly number[];
  /** fetchedBytes / Σ (repairs × size) over repaired files (wasted bytes included in the numerator). */
  readonly aggregate: number | null;
}

/**
 * Bytes moved by repairs relative to the file size. An upload's storers fetch from the gateway; a
 * repair's from a surviving holder (docs/repair.md §3), so fetches whose source is not a gateway are
 * the repairs'. Every storer that selected itself fetches, whether or not its offer is taken.
 */
export function repairBytes(fetches: readonly Fetch[], gatewaySources: ReadonlySet<string>, files: ReadonlyMap<string, { readonly size: number; readonly repairs: number }>): RepairBytes {
  const byFile = new Map<string, number>();
  for (const f of fetches) if (!gatewaySources.has(f.source)) byFile.set(f.file, (byFile.get(f.file) ?? 0) + f.size);
  let fetchedBytes = 0;
  let wastedBytes = 0;
  let denominator = 0;
  let repairs = 0;
  const perFile: number[] = [];
  for (const [, f] of files) repairs += f.repairs;
  for (const [file, bytes] of byFile) {
    fetchedBytes += bytes;
    const f = files.get(file);
    if (!f || f.repairs === 0) {
      wastedBytes += bytes;
      continue;
    }
    if (f.size > 0) perFile.push(bytes / (f.repairs * f.size));
  }
  for (const f of files.values()) if (f.repairs > 0) denominator += f.repairs * f.size;
  return { repairs, fetchedBytes, wastedBytes, perFile, aggregate: denominator > 0 ? fetchedBytes / denominator : null };
}

/** p50 / p99 / max of a sample, null where it is empty. */
export function spread(xs: readonly number[]): { readonly n: number; readonly p50: number | null; readonly p99: number | null; readonly max: number | null } {
  return { n: xs.length, p50: percentile(xs, 50), p99: percentile(xs, 99), max: xs.length ? Math.max(...xs) : null };
}

/** What the soak saves (`--out`, default bench/results/churn.json) and durability reads. */
export interface ChurnFigures {
  readonly soak: 'churn';
  readonly date: string;
  readonly seed: number;
  readonly minutes: number;
  readonly machine: { readonly cpus: number; readonly loadStart: number; readonly loadEnd: number };
  readonly replication: number;
  readonly storers: { readonly genesis: number; readonly joined: number; readonly killed: number };
  readonly kills: readonly { readonly storer: string; readonly atS: number; readonly keys: number }[];
  readonly joins: readonly { readonly storer: string; readonly registeredAfterS: number }[];
  readonly filesUploaded: number;
  readonly uploadsRefused: number;
  readonly uploadsNotFinal: number;
  readonly affectedKeys: number;
  readonly restoredKeys: number;
  /** Failure (kill + wipe) → the key names N storers again without the dead one, ms. */
  readonly restoreMs: ReturnType<typeof spread>;
  readonly repairsApplied: number;
  readonly repairsSubmitted: number;
  /** Block chunk sets that named a killed storer (absent in files from before chunk-set repair). */
  readonly chunkSets?: ChunkSetChurn;
  readonly bytesPerRepair: { readonly p50: number | null; readonly p99: number | null; readonly aggregate: number | null; readonly fetchedBytes: number; readonly wastedBytes: number };
  readonly filesLost: number;
  readonly lost: readonly string[];
  /** Keys at the end with fewer than N commitments on live storers (not lost, not restored). */
  readonly underReplicated: readonly string[];
  readonly getByteIdentical: { readonly checked: number; readonly identical: number; readonly proofsVerified: number };
  /** Audit outcomes over the run (rewards GetReputation totals, every storer): valid / all. */
  readonly audits: { readonly valid: number; readonly invalid: number; readonly unreachable: number; readonly availability: number | null };
  /** Storer-years the storers ran during the soak, and the kill rate they imply (imposed, not observed). */
  readonly storerYears: number;
  readonly durationS: number;
  readonly dir: string;
}

/** Block chunk sets at the end of a churn soak (docs/repair.md §9). */
export interface ChunkSetChurn {
  /** Non-empty sets whose current commitments still name a killed storer. */
  readonly named: number;
  /** Of those, repaired at least once (ChunkSetRecord.repairs > 0). */
  readonly repaired: number;
  /** Chunk-set Repairs the rewards service says it submitted. */
  readonly repairsSubmitted: number;
  /** Sets with no live commitment that the repairer reported lost. */
  readonly lost: number;
  /** Sets with fewer than N live commitments, not reported lost: "block R: live of count". */
  readonly underN: readonly string[];
}

/** The chunk-set figures from the sets naming a killed storer (`dead`: their ids), N, and the rewards service's log. */
export function chunkSetFigures(sets: readonly ChunkSetRecord[], dead: ReadonlySet<string>, n: number, rewardsLog: string): ChunkSetChurn {
  const lines = rewardsLog.split('\n');
  const lostRounds = new Set<string>();
  for (const l of lines) {
    if (!l.includes('"msg":"repair: chunk set lost"')) continue;
    const m = /"round":"(\d+)"/.exec(l);
    if (m) lostRounds.add(m[1]!);
  }
  let repaired = 0;
  let lost = 0;
  const underN: string[] = [];
  for (const s of sets) {
    if (s.repairs > 0) repaired++;
    const live = s.commitments.filter((c) => !dead.has(Buffer.from(c.storerId).toString('hex'))).length;
    if (live >= n) continue;
    if (live === 0 && lostRounds.has(String(s.round))) lost++;
    else underN.push(`block ${s.round}: ${live} live of ${s.commitments.length}`);
  }
  return { named: sets.length, repaired, repairsSubmitted: lines.filter((l) => l.includes('"msg":"chunk set repair submitted"')).length, lost, underN };
}

/** What the soak must show to pass: nothing lost, every GET identical, every affected key back at N, no chunk set left under N. */
export function churnPassed(f: ChurnFigures): boolean {
  return f.filesUploaded > 0 && f.filesLost === 0 && f.getByteIdentical.identical === f.getByteIdentical.checked && f.affectedKeys > 0 && f.restoredKeys === f.affectedKeys && f.underReplicated.length === 0 && (f.chunkSets?.underN.length ?? 0) === 0 && (f.chunkSets?.lost ?? 0) === 0;
}

const s = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(1)} s`);
const x = (r: number | null) => (r === null ? '-' : `${r.toFixed(2)}×`);

export function formatChurn(f: ChurnFigures): string {
  const rows: [string, string][] = [
    ['seed / minutes', `${f.seed} / ${f.minutes}`],
    ['storers', `${f.storers.genesis} at genesis, ${f.storers.joined} joined, ${f.storers.killed} killed and wiped (N = ${f.replication})`],
    ['files uploaded (final)', `${f.filesUploaded} (${f.uploadsRefused} refused, ${f.uploadsNotFinal} not final in the gateway's wait)`],
    ['keys affected by a kill', `${f.affectedKeys} (${f.restoredKeys} restored to N)`],
    ['repairs done (applied on chain)', `${f.repairsApplied} (${f.repairsSubmitted} submitted)`],
    ['failure → restored N, p50 / p99 / max', `${s(f.restoreMs.p50)} / ${s(f.restoreMs.p99)} / ${s(f.restoreMs.max)} over ${f.restoreMs.n} keys`],
    ['bytes moved per repair / file size', `p50 ${x(f.bytesPerRepair.p50)}, p99 ${x(f.bytesPerRepair.p99)}, all repairs ${x(f.bytesPerRepair.aggregate)} (${f.bytesPerRepair.fetchedBytes} B fetched, ${f.bytesPerRepair.wastedBytes} B for files never repaired)`],
    ['files lost (goal 0)', String(f.filesLost)],
    ['chunk sets naming a killed storer', f.chunkSets ? `${f.chunkSets.named} (${f.chunkSets.repaired} repaired, ${f.chunkSets.repairsSubmitted} Repairs submitted; ${f.chunkSets.underN.length} under N, ${f.chunkSets.lost} lost)` : '- (not measured)'],
    ['keys under N at the end', String(f.underReplicated.length)],
    ['GET byte-identical at the end', `${f.getByteIdentical.identical} / ${f.getByteIdentical.checked} (proofs verified ${f.getByteIdentical.proofsVerified})`],
    ['audit outcomes (all storers)', `valid ${f.audits.valid}, invalid ${f.audits.invalid}, unreachable ${f.audits.unreachable}: availability ${f.audits.availability === null ? '-' : f.audits.availability.toFixed(4)}`],
    ['machine', `${f.machine.cpus} cores, load ${f.machine.loadStart.toFixed(1)} → ${f.machine.loadEnd.toFixed(1)}`],
    ['duration', `${f.durationS.toFixed(0)} s (devnet in ${f.dir})`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`);
  for (const l of f.lost.slice(0, 20)) lines.push(`LOST ${l}`);
  for (const u of f.underReplicated.slice(0, 20)) lines.push(`UNDER N ${u}`);
  for (const u of f.chunkSets?.underN.slice(0, 20) ?? []) lines.push(`CHUNK SET UNDER N ${u}`);
  return lines.join('\n');
}
