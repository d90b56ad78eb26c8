// Where a process's CPU went, from a V8 CPU profile (`node --cpu-prof`, a .cpuprofile JSON): each
// sample's time is charged to the first frame, walking from the leaf towards the root, that belongs to
// one of the categories below (so @noble/curves code called by lib/crypto/vrf.ts is "VRF"), else to
// "other". Used by bench/consensus.ts --profile (issue 17: the per-SetKey table in docs/consensus.md).
import { readFileSync } from 'node:fs';

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
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Categories in the words of issue 17, each with the frames that belong to it. */
export const CATEGORIES: readonly { readonly name: string; test(f: CallFrame): boolean }[] = [
  { name: 'idle (waiting: λ timers, network, disk)', test: (f) => f.functionName === '(idle)' },
  { name: 'garbage collection', test: (f) => f.functionName === '(garbage collector)' },
  { name: 'VRF prove/verify (ECVRF)', test: (f) => /lib\/crypto\/vrf\.ts|@noble\/curves/.test(f.url) },
  { name: 'sortition', test: (f) => /lib\/crypto\/sortition\.ts|lib\/chain\/(storer-registry|reputation)\.ts/.test(f.url) },
  { name: 'signature checks and signing (Ed25519)', test: (f) => /lib\/crypto\/sign\.ts/.test(f.url) },
  { name: 'storage checks (VerifyFile, FileAudit)', test: (f) => /services\/consensus\/storage-check\.ts|verifyFileAudit/.test(f.url + f.functionName) },
  { name: 'block chunks and CommitChunks', test: (f) => /services\/consensus\/block-data\.ts|services\/storer\/chunk-commit\.ts|checkChunkCommitments|acceptChunkCommitments/.test(f.url + f.functionName) },
  { name: 'SMT updates and proofs', test: (f) => /lib\/smt\//.test(f.url) },
  { name: 'RocksDB and the KV layer', test: (f) => /rocksdb|leveldown|lib\/storage\//.test(f.url) },
  { name: 'storer file path (hash, store, fetch)', test: (f) => /services\/storer\/|lib\/merkle\//.test(f.url) },
  { name: 'agreement core (BA*)', test: (f) => /services\/consensus\/agreement\//.test(f.url) },
  { name: 'gossip, gRPC and protobuf', test: (f) => /services\/consensus\/(gossip|wire|server)\.ts|@grpc\/|\/gen\/wolk\/|@bufbuild|node:http2|node:internal\/http2/.test(f.url) },
  { name: 'ledger execution (other)', test: (f) => /services\/consensus\/(ledger\/|mempool\.ts|host\.ts|chain-store\.ts)/.test(f.url) },
  { name: 'telemetry and logging', test: (f) => /@opentelemetry|lib\/telemetry|lib\/log\//.test(f.url) },
  { name: 'SHA-256 and other Node crypto', test: (f) => /node:internal\/crypto|lib\/crypto\/hash\.ts/.test(f.url) },
];
export const OTHER = 'other (module loading, V8, Node internals)';

export interface Breakdown {
  /** Wall time the profile covers, ms. */
  readonly wallMs: number;
  /** ms per category (idle included), in CATEGORIES order then OTHER. */
  readonly ms: ReadonlyMap<string, number>;
}

export function breakdown(path: string): Breakdown {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const categoryOf = new Map<number, string>();
  const classify = (id: number): string => {
    const hit = categoryOf.get(id);
    if (hit !== undefined) return hit;
    const f = byId.get(id)!.callFrame;
    const own = CATEGORIES.find((c) => c.test(f))?.name;
    const up = parent.get(id);
    const name = own ?? (up === undefined ? OTHER : classify(up));
    categoryOf.set(id, name);
    return name;
  };
  const ms = new Map<string, number>([...CATEGORIES.map((c) => [c.name, 0] as const), [OTHER, 0]]);
  for (let i = 0; i < p.samples.length; i++) {
    const name = classify(p.samples[i]!);
    ms.set(name, ms.get(name)! + (p.timeDeltas[i] ?? 0) / 1000);
  }
  return { wallMs: (p.endTime - p.startTime) / 1000, ms };
}
