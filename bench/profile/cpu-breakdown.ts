// Where a process's CPU went, from a V8 CPU profile (`node --cpu-prof`, a .cpuprofile JSON): each
// sample's time is charged to the first frame, walking from the leaf towards the root, that belongs to
// one of the categories below (so @noble/curves code called by lib/crypto/vrf.ts is "VRF"), else to
// "other". VRF and signature time is further split by what it was for (the first rule of FLOWS that
// one of its callers matches: block chunk-set commitments, votes and certificates, SetKey commitments…). Used by
// bench/consensus.ts --profile (issue 17: the per-SetKey table in docs/consensus.md).
//
// Which file to read: a process started with `--import tsx` has two V8 threads, the main one and the
// ESM loader-hooks worker (module.register), and `--cpu-prof` writes one profile per thread. With a
// fixed `--cpu-prof-name` they overwrite each other and the last one written wins: the first version of
// this breakdown read the loader worker's profile (95 % idle, the rest tsx and node:internal/modules),
// which is why everything came out as "other". mainThreadProfile() picks the main thread's file
// (thread id 0 in Node's default name CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  /** µs on the monotonic clock (the one process.hrtime reads). */
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

interface Rule {
  readonly name: string;
  test(f: CallFrame): boolean;
  /** Split this category's time by the first caller in FLOWS. */
  readonly split?: boolean;
}

const at = (re: RegExp) => (f: CallFrame) => re.test(f.url);

export const IDLE = 'idle (waiting: λ timers, network, disk)';

/** Categories in the words of issue 17, each with the frames that belong to it; the first match from the leaf wins. */
export const CATEGORIES: readonly Rule[] = [
  { name: IDLE, test: (f) => f.functionName === '(idle)' },
  { name: 'garbage collection', test: (f) => f.functionName === '(garbage collector)' },
  { name: 'VRF prove/verify (ECVRF)', test: at(/lib\/crypto\/vrf\.ts|@noble\/curves|@noble\/hashes/), split: true },
  { name: 'signature checks and signing (Ed25519)', test: at(/lib\/crypto\/sign\.ts/), split: true },
  { name: 'sortition', test: at(/lib\/crypto\/sortition\.ts|lib\/chain\/(storer-registry|reputation|selection-odds)\.ts|services\/storer\/selection\.ts/) },
  {
    name: 'storage checks (VerifyFile: challenge, answer, audit check)',
    test: (f) => /services\/consensus\/storage-check\.ts/.test(f.url) || /^(verifyFileAudit|verifyFile)$/.test(f.functionName),
  },
  {
    name: 'block chunks (store, CommitChunks, checks)',
    test: (f) => /services\/consensus\/block-data\.ts|services\/storer\/(chunk-commit|shares)\.ts/.test(f.url) || /^(checkChunkCommitments|acceptChunkCommitments|verifyChunkCommitment|setShares?|chunksOf)$/.test(f.functionName),
  },
  { name: 'SMT updates, reads and proofs', test: at(/lib\/smt\//) },
  { name: 'RocksDB and the KV layer (main thread)', test: at(/rocksdb|leveldown|abstract-leveldown|lib\/storage\//) },
  { name: 'storer file path (SetFile, fetch, hash, solicit)', test: at(/services\/storer\/|lib\/merkle\//) },
  { name: 'agreement core (BA*: votes, periods)', test: at(/services\/consensus\/agreement\/|lib\/chain\/certificate\.ts/) },
  { name: 'ledger execution (state reads, tx rules, mempool)', test: at(/services\/consensus\/(ledger\/|mempool\.ts|host\.ts|chain-store\.ts|tx-inclusions\.ts)|lib\/chain\//) },
  { name: 'protobuf encode/decode', test: at(/\/gen\/wolk\/|@bufbuild|services\/consensus\/wire\.ts|protobufjs/) },
  { name: 'gossip and gRPC (grpc-js, HTTP/2)', test: at(/services\/consensus\/(gossip|server|peers)\.ts|@grpc\/|lib\/grpc\/|node:http2|node:internal\/http2|node:net|node:internal\/stream_base_commons/) },
  { name: 'telemetry and logging', test: at(/@opentelemetry|lib\/telemetry|lib\/log\//) },
  { name: 'SHA-256 and other Node crypto', test: at(/node:internal\/crypto|node:crypto|lib\/crypto\/hash\.ts/) },
  { name: 'native code outside JS (V8 "(program)")', test: (f) => f.functionName === '(program)' },
];
export const OTHER = 'other (Node internals: timers, streams, promises, module loading)';

/** What a VRF or signature was for: the first of these rules that a caller matches. */
const FLOWS: readonly { readonly name: string; test(f: CallFrame): boolean }[] = [
  {
    name: 'block chunk-set commitments (CommitChunks)',
    test: (f) => /services\/storer\/chunk-commit\.ts/.test(f.url) || /^(verifyChunkCommitment|checkChunkCommitments|acceptChunkCommitments)$/.test(f.functionName),
  },
  { name: 'file commitments (Solicit)', test: at(/services\/storer\/solicit\.ts/) },
  { name: 'votes and certificates', test: at(/lib\/chain\/certificate\.ts|services\/consensus\/agreement\//) },
  { name: 'SetKey storage commitments (3 per tx)', test: at(/lib\/chain\/commitment\.ts/) },
  { name: 'rewards', test: at(/lib\/chain\/reward\.ts|services\/rewards\//) },
  { name: 'transactions (sender, gateway co-sign)', test: at(/services\/consensus\/ledger\/|services\/consensus\/mempool\.ts/) },
  { name: 'storer (other)', test: at(/services\/storer\//) },
];

export interface Breakdown {
  /** Wall time counted, ms (the window's, or the whole profile's). */
  readonly wallMs: number;
  /** ms per category (idle included); split categories as "NAME — FLOW". */
  readonly ms: ReadonlyMap<string, number>;
}

/** A monotonic-clock window in µs (process.hrtime.bigint() / 1000n); samples outside it are not counted. */
export interface Window {
  readonly fromUs: number;
  readonly toUs: number;
}

export function breakdown(path: string, window?: Window): Breakdown {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  // The first rule in FLOWS order that any caller matches (a chunk-set check calls the generic
  // commitment check, so order, not nearness, decides).
  const firstUp = <T extends { test(f: CallFrame): boolean }>(id: number | undefined, rules: readonly T[]): T | undefined => {
    const chain: CallFrame[] = [];
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) chain.push(byId.get(cur)!.callFrame);
    return rules.find((r) => chain.some((f) => r.test(f)));
  };
  const memo = new Map<number, string>();
  const classify = (id: number): string => {
    const hit = memo.get(id);
    if (hit !== undefined) return hit;
    // Walk up to the first categorised frame; a split category then looks further up for its caller.
    let name = OTHER;
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const rule = CATEGORIES.find((c) => c.test(byId.get(cur!)!.callFrame));
      if (!rule) continue;
      name = rule.name;
      if (rule.split) name += ` — ${firstUp(parent.get(cur), FLOWS)?.name ?? 'other callers'}`;
      break;
    }
    memo.set(id, name);
    return name;
  };
  const ms = new Map<string, number>();
  let t = p.startTime;
  const from = window?.fromUs ?? -Infinity;
  const to = window?.toUs ?? Infinity;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (t < from || t > to) continue;
    // A sample's time is the gap to the next one (V8 records the gap before each sample).
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    const name = classify(p.samples[i]!);
    ms.set(name, (ms.get(name) ?? 0) + dt);
  }
  const wallMs = (Math.min(to, p.endTime) - Math.max(from, p.startTime)) / 1000;
  return { wallMs, ms };
}

/**
 * The main thread's profile in `dir` (one process's --cpu-prof-dir): thread id 0 in Node's default
 * file name. Throws when there is none.
 */
export function mainThreadProfile(dir: string): string {
  const main = readdirSync(dir).filter((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f));
  if (main.length !== 1) throw new Error(`expected one main-thread profile (CPU.*.<pid>.0.*.cpuprofile) in ${dir}, found ${main.length}`);
  return join(dir, main[0]!);
}

/** Sums of several processes' breakdowns (e.g. every consensus process). */
export function sumBreakdowns(bs: readonly Breakdown[]): Breakdown {
  const ms = new Map<string, number>();
  for (const b of bs) for (const [k, v] of b.ms) ms.set(k, (ms.get(k) ?? 0) + v);
  return { wallMs: bs.reduce((a, b) => a + b.wallMs, 0), ms };
}

/** CPU time (user + system, every thread) a process has used so far, ms; null when it is gone. */
export function processCpuMs(pid: number): number | null {
  try {
    // /proc/PID/stat: fields after the parenthesised command; utime and stime are the 14th and 15th,
    // in clock ticks (USER_HZ, 100 on Linux).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return null;
  }
}
