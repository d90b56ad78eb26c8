// The bounded garbage fuzzer against a running devnet (issue #20.5): every gRPC method of every Wolk
// service on the processes that serve it (garbage-grpc.ts) and random requests to every HTTP route
// of the gateway (garbage-http.ts), then: every process still alive and SERVING, and every answer a
// documented status. The e2e test (test/e2e/fuzz-devnet.test.ts) runs one short round; `npm run soak
// -- fuzz-devnet --rounds N` runs N rounds on every process. Seeded: one PRNG drives every payload.
import { Prng } from '../../test/sim/prng.js';
import { ROOT, startSoakCluster, type SoakCluster, type SoakClusterOptions } from './cluster.js';
import { fuzzEndpoint, loadSchema, WOLK_SERVICES, type GrpcOutcome, type PayloadKind } from './garbage-grpc.js';
import { documentedProblemTypes, fuzzHttp, type HttpOutcome } from './garbage-http.js';

/** Which Wolk services each kind of process serves (the gateway serves StorerService.GetFile as an upload source). */
const SERVES: Record<string, string[]> = {
  storer: ['wolk.storer.v1.StorerService'],
  consensus: ['wolk.consensus.v1.ConsensusService'],
  indexer: ['wolk.indexer.v1.IndexerService'],
  rewards: ['wolk.rewards.v1.RewardsService'],
  gateway: ['wolk.storer.v1.StorerService'],
};

/** Above WOLK_MAX_MESSAGE_BYTES' default (8 MiB). */
export const OVERSIZE_BYTES = 8 * 1024 * 1024 + 1024;

export interface FuzzOptions {
  readonly seed: number;
  readonly rounds: number;
  /** Fuzz one process per kind per round (short form) instead of every process. */
  readonly onePerKind?: boolean;
  readonly httpRequests?: number;
  /** Send the oversized message to one method per service per round only (short form). */
  readonly oversizeOncePerService?: boolean;
  readonly timeoutMs?: number;
  readonly cluster?: SoakCluster;
  readonly clusterOptions?: SoakClusterOptions;
  readonly log?: (line: string) => void;
}

export interface FuzzReport {
  readonly seed: number;
  readonly grpc: GrpcOutcome[];
  readonly http: HttpOutcome[];
  /** Processes not alive or not SERVING at the end. */
  readonly down: string[];
  readonly methods: number;
  readonly durationMs: number;
}

export async function runDevnetFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const log = o.log ?? ((l: string) => process.stdout.write(l + '\n'));
  const started = Date.now();
  const prng = new Prng(o.seed);
  const schema = loadSchema(ROOT);
  const documented = documentedProblemTypes(ROOT);
  const own = o.cluster ? null : await startSoakCluster(o.clusterOptions);
  const cluster = (o.cluster ?? own)!;
  const grpc: GrpcOutcome[] = [];
  const http: HttpOutcome[] = [];
  try {
    log(`fuzz-devnet: seed ${o.seed}, ${schema.methods.length} methods, devnet in ${cluster.dir}`);
    for (let round = 1; round <= o.rounds; round++) {
      const procs = [...cluster.processes.values()];
      const targets = o.onePerKind ? Object.keys(SERVES).map((k) => { const of = procs.filter((p) => p.plan.service === k); return of[prng.next() % of.length]!; }) : procs;
      const oversizeDone = new Set<string>();
      for (const p of targets) {
        const services = SERVES[p.plan.service] ?? [];
        const kinds: PayloadKind[] = ['empty', 'random', 'structured', 'structured'];
        const withOversize = !o.oversizeOncePerService || services.some((s) => !oversizeDone.has(s));
        const outcomes = await fuzzEndpoint({ schema, target: p.plan.name, endpoint: p.direct, services, kinds, prng, timeoutMs: o.timeoutMs ?? 15_000, oversizeBytes: OVERSIZE_BYTES });
        grpc.push(...outcomes);
        if (withOversize) {
          // One oversized message per method (or, in the short form, to the first method of each service).
          const methods = schema.methods.filter((m) => services.includes(m.service));
          const chosen = o.oversizeOncePerService ? methods.filter((m) => !oversizeDone.has(m.service) && (oversizeDone.add(m.service), true)) : methods;
          const big = await fuzzEndpoint({ schema: { ...schema, methods: chosen }, target: p.plan.name, endpoint: p.direct, services, kinds: ['oversized'], prng, timeoutMs: o.timeoutMs ?? 15_000, oversizeBytes: OVERSIZE_BYTES, concurrency: 1 });
          grpc.push(...big);
        }
      }
      http.push(...(await fuzzHttp({ baseUrl: cluster.gatewayUrl, prng, count: o.httpRequests ?? 200, documented, timeoutMs: o.timeoutMs ?? 15_000 })));
      log(`round ${round}/${o.rounds}: ${grpc.length} gRPC calls, ${http.length} HTTP requests so far`);
    }
    const health = await cluster.health();
    const down = Object.entries(health).filter(([, s]) => s !== 'SERVING').map(([n, s]) => `${n}: ${s}`);
    return { seed: o.seed, grpc, http, down, methods: schema.methods.length, durationMs: Date.now() - started };
  } finally {
    await own?.stop();
  }
}

export function grpcFindings(r: FuzzReport): GrpcOutcome[] {
  return r.grpc.filter((g) => !g.documented);
}

export function httpFindings(r: FuzzReport): HttpOutcome[] {
  return r.http.filter((h) => h.problem !== null);
}

export function fuzzPassed(r: FuzzReport): boolean {
  return r.down.length === 0 && grpcFindings(r).length === 0 && httpFindings(r).length === 0;
}

export function formatFuzzReport(r: FuzzReport): string {
  const byCode = new Map<string, number>();
  for (const g of r.grpc) byCode.set(g.code, (byCode.get(g.code) ?? 0) + 1);
  const byStatus = new Map<string, number>();
  for (const h of r.http) byStatus.set(String(h.status), (byStatus.get(String(h.status)) ?? 0) + 1);
  const lines = [
    `seed ${r.seed}; ${r.methods} methods of ${Object.keys(WOLK_SERVICES).length} services; ${Math.round(r.durationMs / 1000)} s`,
    `gRPC calls ${r.grpc.length}: ${[...byCode.entries()].sort().map(([c, n]) => `${c} ${n}`).join(', ')}`,
    `HTTP requests ${r.http.length}: ${[...byStatus.entries()].sort().map(([c, n]) => `${c} ${n}`).join(', ')}`,
    `processes down at the end: ${r.down.length === 0 ? 'none' : r.down.join(', ')}`,
    `slowest gRPC answers: ${[...r.grpc].sort((a, b) => b.ms - a.ms).slice(0, 5).map((g) => `${g.target} ${g.path.split('/').pop()} (${g.kind}) ${g.code} ${g.ms} ms`).join('; ')}`,
  ];
  for (const g of grpcFindings(r).slice(0, 30)) lines.push(`UNDOCUMENTED ${g.target} ${g.path} (${g.kind}): ${g.code} ${g.details}`);
  for (const h of httpFindings(r).slice(0, 30)) lines.push(`HTTP ${h.request}: ${h.problem}`);
  return lines.join('\n');
}
