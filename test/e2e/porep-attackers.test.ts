// Audits under a deadline, on the real devnet (issue #15 item 4 and "Attackers as real processes").
// Two storers run with test-only faults (services/storer/faults.ts): storer-1 is slow but honest (its
// audit answers come 300 ms late, inside the rewards verifier's 1 s deadline); storer-2 answers file
// audits correctly but 2.5 s late, past the deadline, as a storer regenerating sealed nodes on demand
// would. Files are uploaded with the CLI until each has committed to one; then, as a user checks:
// timing each one's VerifyFile shows the margin to the deadline; the late storer is contained,
// re-audited and then failed (the verifier's log), its reputation on chain falls and the verifier
// counts its answers invalid; the slow honest storer's audits are all valid.
//
// Not covered yet (PA's sealing and ProveReplica are not in the tree yet): audits with ProveReplica
// against comm_r, and the outsourcer and sybil storers that re-seal on demand (docs/rewards.md).
import test from 'ava';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NodeRole, type NodeRecord } from '../../gen/wolk/common/v1/node.js';
import { IndexerServiceClient, type ListNodesResponse } from '../../gen/wolk/indexer/v1/indexer.js';
import { RewardsServiceClient, type GetReputationResponse } from '../../gen/wolk/rewards/v1/rewards.js';
import { StorerServiceClient, type VerifyFileResponse } from '../../gen/wolk/storer/v1/storer.js';
import { LATE_ANSWER_LATENCY_MS, SLOW_HONEST_LATENCY_MS } from '../../services/storer/faults.js';
import { startDevnet, type Devnet } from '../helpers/devnet.js';
import { pollUntil } from '../helpers/poll.js';
import { ROOT } from '../helpers/process.js';
import { logSeedOnFailure, testRandom } from '../helpers/seed.js';

const seeded = testRandom('e2e/porep-attackers.test.ts');
logSeedOnFailure(test);

const run = promisify(execFile);
const SLOW = 'storer-1';
const LATE = 'storer-2';
/** The verifier's deadline (its default, lib/porep's) and 2 re-audits to keep the run short. */
const DEADLINE_MS = 1000;
const RETRIES = 2;
let devnet: Devnet;
const work = mkdtempSync(join(tmpdir(), 'wolk-attackers-'));

function cli(...args: string[]) {
  return run(process.execPath, [join(ROOT, 'bin/wolk.mjs'), ...args], {
    cwd: work,
    env: { ...process.env, WOLK_GATEWAY: devnet.endpoints().gateway, WOLK_KEY: join(work, 'key.json') },
    maxBuffer: 16 * 1024 * 1024,
    timeout: 240_000,
  });
}

/** `wolk put`, following `wolk status` when the gateway's finality wait ended first (exit 3). */
async function putFinal(file: string, uri: string): Promise<{ filehash: string; storers: string[]; round: string }> {
  const put = await cli('put', file, uri).then(
    (r) => r.stdout,
    (e: { code?: number; stdout?: string }) => {
      if (e.code !== 3 || !e.stdout) throw e;
      return e.stdout;
    },
  );
  const first = JSON.parse(put) as { state: string; uploadId?: string; filehash: string; storers: string[]; round: string };
  if (first.state === 'final' || first.uploadId === undefined) return first;
  const followed = JSON.parse((await cli('status', first.uploadId, '--timeout', '200')).stdout) as typeof first;
  if (followed.state !== 'final') throw new Error(`${uri}: upload ended ${followed.state}, not final`);
  return followed;
}

function unary<Res>(f: (md: Metadata, o: { deadline: number }, cb: (err: ServiceError | null, res: Res) => void) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => f(new Metadata(), { deadline: Date.now() + 15_000 }, (err, res) => (err ? reject(err) : resolve(res))));
}

test.before(async () => {
  devnet = await startDevnet(undefined, {
    WOLK_DEVNET_FAULTS: `${SLOW}:slow-honest,${LATE}:late-answers`,
    WOLK_AUDIT_DEADLINE_MS: String(DEADLINE_MS),
    WOLK_AUDIT_RETRIES: String(RETRIES),
  });
});

test.after.always(async () => {
  await devnet?.stop();
});

test.serial('a storer answering past the deadline is contained, re-audited, then failed and loses reputation; a slow honest one passes', async (t) => {
  t.timeout(600_000);
  const ep = devnet.endpoints();
  const procs = devnet.processes();
  const endpointOf = (name: string) => procs.find((p) => p.name === name)!.grpc;
  const indexer = new IndexerServiceClient(ep.indexer[0]!, credentials.createInsecure());
  const rewards = new RewardsServiceClient(ep.rewards[0]!, credentials.createInsecure());
  t.teardown(() => {
    indexer.close();
    rewards.close();
  });
  const storers = async (): Promise<NodeRecord[]> => (await unary<ListNodesResponse>((md, o, cb) => indexer.listNodes({ role: NodeRole.NODE_ROLE_STORER, pageSize: 100, pageToken: '' }, md, o, cb))).nodes;
  const registry = await pollUntil(storers, { what: 'the indexer to list storers', deadlineMs: 120_000, intervalMs: 1000, until: (r) => r.length === 6 });
  const idOf = (name: string) => Buffer.from(registry.find((n) => n.endpoint === endpointOf(name))!.id).toString('hex');
  const slowId = idOf(SLOW);
  const lateId = idOf(LATE);

  await cli('keygen');
  await cli('claim', 'alice');
  // Upload until each faulty storer committed to a file (N = 3 of 6: each is in about half the committees).
  const held = new Map<string, string>();
  for (let i = 0; i < 12 && !(held.has(slowId) && held.has(lateId)); i++) {
    const file = join(work, `f${i}.bin`);
    writeFileSync(file, seeded.bytes(9000 + i * 512));
    const put = await putFinal(file, `wolk://alice/attack/f${i}.bin`);
    for (const s of put.storers) if (!held.has(s)) held.set(s, put.filehash);
    t.log(`upload ${i}: round ${put.round}, storers ${put.storers.map((s) => (s === slowId ? 'SLOW' : s === lateId ? 'LATE' : s.slice(0, 8))).join(',')}`);
  }
  t.true(held.has(slowId) && held.has(lateId), 'both faulty storers committed to an uploaded file');

  // What the verifier sees, measured by hand: one VerifyFile to each, timed.
  const timeVerify = async (name: string, filehash: string) => {
    const c = new StorerServiceClient(endpointOf(name), credentials.createInsecure());
    try {
      const start = performance.now();
      const res = await unary<VerifyFileResponse>((md, o, cb) => c.verifyFile({ filehash: Buffer.from(filehash, 'hex'), challenge: Buffer.from(seeded.bytes(32)), k: 4 }, md, o, cb));
      t.truthy(res.audit, `${name} answers VerifyFile`);
      return performance.now() - start;
    } finally {
      c.close();
    }
  };
  const slowMs = await timeVerify(SLOW, held.get(slowId)!);
  const lateMs = await timeVerify(LATE, held.get(lateId)!);
  t.log(`VerifyFile answer time: slow-honest ${slowMs.toFixed(0)} ms (deadline ${DEADLINE_MS} ms, ${(DEADLINE_MS / slowMs).toFixed(2)}x margin); late ${lateMs.toFixed(0)} ms (${(lateMs / DEADLINE_MS).toFixed(2)}x the deadline)`);
  t.true(slowMs >= SLOW_HONEST_LATENCY_MS && lateMs >= LATE_ANSWER_LATENCY_MS, 'the faults delay the answers as configured');
  t.true(lateMs > DEADLINE_MS, 'the late storer answers past the deadline');

  // On chain (through the indexer): the late storer's reputation falls.
  const rep = (view: NodeRecord[], id: string) => view.find((n) => Buffer.from(n.id).toString('hex') === id)?.reputationPpm ?? 1_000_000;
  const view = await pollUntil(storers, {
    what: 'the late storer\'s reputation on chain to fall below full',
    deadlineMs: 300_000,
    intervalMs: 2000,
    until: (v) => rep(v, lateId) < 1_000_000,
    describe: (v) => `late ${rep(v, lateId)}, slow-honest ${rep(v, slowId)}`,
  });
  const counts = (r: GetReputationResponse) => `valid ${r.totals!.valid} / invalid ${r.totals!.invalid} / unreachable ${r.totals!.unreachable}`;
  // The verifier's own count: the late storer's file answers invalid (after containment), the slow honest storer's valid.
  const reputationOf = (id: string) => unary<GetReputationResponse>((md, o, cb) => rewards.getReputation({ storerId: Buffer.from(id, 'hex') }, md, o, cb));
  const lateRep = await reputationOf(lateId);
  t.true(lateRep.totals!.invalid > 0, `the verifier counted invalid answers of the late storer (valid ${lateRep.totals!.valid}, invalid ${lateRep.totals!.invalid}, unreachable ${lateRep.totals!.unreachable})`);
  const slowRep = await pollUntil(() => reputationOf(slowId), {
    what: 'the slow honest storer to be audited',
    deadlineMs: 300_000,
    intervalMs: 2000,
    until: (r) => r.totals!.valid > 0,
    describe: (r) => JSON.stringify(r.totals),
  });
  t.is(slowRep.totals!.invalid, 0, 'no answer of the slow honest storer was counted invalid');
  t.is(slowRep.reputationPpm, 1_000_000, 'the slow honest storer keeps full reputation in the verifier\'s view');

  // The verifier's log: the late storer was contained, re-audited RETRIES times, then failed.
  const log = readFileSync(join(devnet.dir, 'logs', 'rewards-0.log'), 'utf8')
    .split('\n')
    .flatMap((l): Record<string, unknown>[] => {
      try {
        return l.startsWith('{') ? [JSON.parse(l) as Record<string, unknown>] : [];
      } catch {
        return []; // a line cut by a write in progress
      }
    });
  const late16 = lateId.slice(0, 16);
  const contained = log.filter((l) => l['msg'] === 'audit contained' && l['storer'] === late16);
  const failed = log.filter((l) => l['msg'] === 'audit failed after containment' && l['storer'] === late16);
  t.true(contained.length >= RETRIES, `the late storer was contained and re-audited (${contained.length} misses logged)`);
  t.true(failed.length > 0, 'and its misses then counted as a failure');
  t.true(failed.every((l) => l['retries'] === RETRIES && l['outcome'] === 'invalid'), 'after exactly the configured re-audits, as invalid');
  t.false(log.some((l) => l['msg'] === 'audit failed after containment' && l['storer'] === slowId.slice(0, 16)), 'the slow honest storer never failed');
  t.log(`reputation on chain: late ${rep(view, lateId)} ppm, slow-honest ${rep(view, slowId)} ppm; verifier: late ${counts(lateRep)}, slow-honest ${counts(slowRep)}`);
});
