// Proof of replication under audit, on the real devnet with sealing on (issue #15 "Attackers as real
// processes"; docs/porep.md "Attackers on the devnet"). The devnet's genesis has params.porep with
// SECTOR-byte sectors (WOLK_DEVNET_POREP_SECTOR), so every storer seals each file into a pre-labelled
// sector, consensus checks a seal proof before its cert vote, and the rewards verifier audits every
// sealed file with VerifyFile and ProveReplica under a 2 s deadline (DEADLINE_MS) with containment. Four storers run
// test-only faults (services/storer/faults.ts):
//   storer-1 slow-honest   answers every audit 300 ms late, inside the deadline: must keep full reputation;
//   storer-2 late-answers  answers file audits 4 s late: contained, re-audited, failed;
//   storer-3 outsourcer    keeps only commitment data; fetches the plain file from a peer and re-seals its
//                          range on demand: the re-seal takes longer than the deadline, so it is contained,
//                          re-audited on fresh challenges and failed;
//   storer-4 sybil         answers its audits from another identity's replica: the nodes do not open its
//                          comm_r (replicas are bound to the storer id), so its answers are invalid at once;
//   storer-5 wrong-sealer  commits comm_r over its plain data (no labels): its replica audits would pass,
//                          its seal proofs cannot, so the gateway's spot check refuses each of its
//                          commitments before a SetKey, and consensus verifiers refuse its chunk-set
//                          commitments before their cert vote: it never holds a commitment on chain.
// storer-0 stays honest.
// The test first waits for every storer's sector to be labelled (the seal's fixed cost: 6 × 4 × 2^20
// labels before the first commitment, minutes on a loaded 2-core machine), then uploads files with the
// CLI, UPLOADERS at a time from as many accounts into collections of replication REPLICATION, until
// each other attacker committed to one and has lost reputation on chain, and the gateway has refused the
// wrong sealer's seal proof. An attacker is caught by the audit of its file's block or by a
// standing audit of a file it holds (lib/chain/standing.ts): one rewards node with expectedVerifiers = 1
// audits a round with probability 1 − e^−1 ≈ 0.63, and every round's standing audits sample held files
// anew, so the wait ends within a few rounds of the last attacker's first file. It times ProveReplica
// on each storer and prints the honest, outsourcer and sybil answers against the deadline, and the
// verifier's counts.
import test from 'ava';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeRole, type NodeRecord } from '../../gen/wolk/common/v1/node.js';
import { IndexerServiceClient, type ListNodesResponse } from '../../gen/wolk/indexer/v1/indexer.js';
import { RewardsServiceClient, type GetReputationResponse } from '../../gen/wolk/rewards/v1/rewards.js';
import { StorerServiceClient, type ProveReplicaResponse, type VerifyFileResponse } from '../../gen/wolk/storer/v1/storer.js';
import { nodesFor, verifyAudit } from '../../lib/porep/index.js';
import { LATE_ANSWER_LATENCY_MS, SLOW_HONEST_LATENCY_MS } from '../../services/storer/faults.js';
import { RESEAL_NICE } from '../../services/storer/porep/regenerate.js';
import { devnetCli, putFinal } from '../helpers/cli.js';
import { startDevnet, type Devnet } from '../helpers/devnet.js';
import { pollUntil } from '../helpers/poll.js';
import { logSeedOnFailure, testRandom } from '../helpers/seed.js';

const seeded = testRandom('e2e/porep-attackers.test.ts');
logSeedOnFailure(test);

const HONEST = ['storer-0'];
const SLOW = 'storer-1';
const LATE = 'storer-2';
const OUTSOURCER = 'storer-3';
const SYBIL = 'storer-4';
const WRONG_SEALER = 'storer-5';
/**
 * The verifier's deadline and 2 re-audits to keep the run short. 2 s, twice lib/porep's default: CI runs
 * this devnet beside other devnets on 2 cores (load ~20), where the slow-honest storer's 300 ms answers
 * missed a 1 s deadline three times in a row (25 chunk answers counted invalid in the clean-clone CI of
 * 2026-12-07 00:32). The outsourcer's re-seal still takes many times it (printed below).
 */
const DEADLINE_MS = 2000;
const RETRIES = 2;
/** docs/porep.md "Devnet parameters": re-sealing a range costs ~3 × 2^20 labels, several times the deadline. */
const SECTOR = '32MiB';
const AUDIT_K = 16;
const FULL = 1_000_000;
/** The test's timeout. */
const TEST_BUDGET_MS = 1_080_000;
/** What the test does after the outsourcer's answer: the other probes, the verifier's counts, the logs. */
const AFTER_THE_PROBES_MS = 90_000;
/**
 * N of each upload: 4. The gateway keeps the first N valid commitments and cancels the rest
 * (services/gateway/upload.ts), so at N = 3 a storer that is a little slower than the others on a
 * loaded machine can lose every race: in the clean-clone CI of 2026-12-07 01:10 the sybil committed to 4
 * of 21 files and was kept for none, and the run timed out. The wrong sealer's commitments are refused,
 * so 5 storers can be kept: at N = 4 only the slowest of them is left out of a file, and any storer is
 * kept for most of them (N = 5 would leave no slack: every upload would wait on all five being selected).
 */
const REPLICATION = 4;
/** Uploads at a time, each from its own account (no nonce races between the CLI processes). */
const UPLOADERS = ['alice', 'bob', 'carol'];
let devnet: Devnet;
const work = mkdtempSync(join(tmpdir(), 'wolk-attackers-'));
const clis = UPLOADERS.map((name) => {
  const dir = join(work, name);
  mkdirSync(dir);
  return { name, dir, cli: devnetCli(dir, () => devnet.endpoints().gateway, 120_000) };
});

function unary<Res>(f: (md: Metadata, o: { deadline: number }, cb: (err: ServiceError | null, res: Res) => void) => unknown, timeoutMs = 30_000): Promise<Res> {
  return new Promise((resolve, reject) => f(new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res))));
}

test.before(async () => {
  devnet = await startDevnet(undefined, {
    WOLK_DEVNET_FAULTS: `${SLOW}:slow-honest,${LATE}:late-answers,${OUTSOURCER}:outsourcer,${SYBIL}:sybil,${WRONG_SEALER}:wrong-sealer`,
    WOLK_DEVNET_POREP_SECTOR: SECTOR,
    WOLK_AUDIT_DEADLINE_MS: String(DEADLINE_MS),
    WOLK_AUDIT_RETRIES: String(RETRIES),
  });
});

test.after.always(async () => {
  await devnet?.stop();
});

test.serial('sealed replicas on the devnet: late, outsourcing and sybil storers are caught and lose reputation; a wrong sealer is kept off the chain; slow and fast honest storers pass', async (t) => {
  t.timeout(TEST_BUDGET_MS);
  const started = Date.now();
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
  const nameOf = new Map(procs.filter((p) => p.name.startsWith('storer-')).map((p) => [idOf(p.name), p.name] as const));
  const rep = (view: NodeRecord[], name: string) => view.find((n) => Buffer.from(n.id).toString('hex') === idOf(name))?.reputationPpm ?? FULL;
  const caught = [LATE, OUTSOURCER, SYBIL];
  const log = (name: string) =>
    readFileSync(join(devnet.dir, 'logs', `${name}.log`), 'utf8')
      .split('\n')
      .flatMap((l): Record<string, unknown>[] => {
        try {
          return l.startsWith('{') ? [JSON.parse(l) as Record<string, unknown>] : [];
        } catch {
          return []; // a line cut by a write in progress
        }
      });
  const short = (name: string) => idOf(name).slice(0, 16);
  // The wrong sealer's commitments are refused by the gateway's seal spot check (services/gateway/upload.ts).
  const gatewayRefusalsOf = (name: string) =>
    log('gateway-0').filter((l) => l['msg'] === 'invalid storage commitment' && l['storer'] === idOf(name) && String(l['problem']).startsWith('seal proof refused'));
  // An audit failure of a block's object or of a standing audit (services/rewards/rewarder.ts logs both).
  const failuresOf = (lines: Record<string, unknown>[], name: string) =>
    lines.filter((l) => (l['msg'] === 'audit failure' || l['msg'] === 'standing audit failure') && l['storer'] === short(name));

  // Every storer labels its first sector before it can commit to a file (docs/porep.md "Devnet
  // parameters"): waited for on its own, so the attack phase below is timed without it.
  const labelled = await pollUntil(
    async () => procs.filter((p) => p.name.startsWith('storer-')).filter((p) => log(p.name).some((l) => l['msg'] === 'sector labelled')).map((p) => p.name),
    { what: 'every storer to label its first sector', deadlineMs: 420_000, intervalMs: 2000, until: (names) => names.length === 6, describe: (names) => `labelled: ${names.join(',') || 'none'}` },
  );
  t.log(`${labelled.length} sectors of ${SECTOR} labelled ${((Date.now() - started) / 1000).toFixed(0)} s after the devnet was ready`);
  const attackStarted = Date.now();

  await Promise.all(clis.map(async ({ name, cli }) => {
    await cli('keygen');
    await cli('claim', name);
    await cli('mb', `wolk://${name}/attack/`, '--replication', String(REPLICATION));
  }));
  const held = new Map<string, { filehash: string; size: number }>();
  let outsourcedAnswer: Promise<{ ms: number; opens: boolean }> | undefined;
  // What an auditor sees, measured by hand: ProveReplica on each storer's file, timed and checked.
  // The outsourcer's re-seal runs at a low priority (docs/porep.md "Attackers on the devnet"): on a loaded
  // machine its answer may take a minute or more; it is waited for, to show the answer is correct, and
  // asked as soon as the outsourcer holds a file, so the wait overlaps the uploads below.
  const proveReplica = async (name: string, timeoutMs = 30_000) => {
    const f = held.get(name)!;
    const c = new StorerServiceClient(endpointOf(name), credentials.createInsecure());
    const challenge = Buffer.from(seeded.bytes(32));
    try {
      const t0 = performance.now();
      const res = await unary<ProveReplicaResponse>((md, o, cb) => c.proveReplica({ filehash: Buffer.from(f.filehash, 'hex'), challenge, k: AUDIT_K }, md, o, cb), timeoutMs);
      const ms = performance.now() - t0;
      const a = res.audit!;
      const opens = verifyAudit({ commR: a.commR, nodes: nodesFor(f.size), auditSeed: challenge, challenges: AUDIT_K }, a.proof!);
      return { ms, opens };
    } finally {
      c.close();
    }
  };
  // Upload until every faulty storer committed to a file and every attacker's reputation on chain fell
  // below full (header).
  let i = 0;
  const view = await pollUntil(
    async () => {
      const puts = await Promise.all(clis.map(async ({ name, dir, cli }, j) => {
        const n = i + j;
        const size = 9000 + (n % 8) * 512;
        const file = join(dir, `f${n}.bin`);
        writeFileSync(file, seeded.bytes(size));
        return { n, size, put: await putFinal(cli, file, `wolk://${name}/attack/f${n}.bin`, 100) };
      }));
      i += clis.length;
      const v = await storers();
      for (const { n, size, put } of puts) {
        for (const s of put.storers) if (!held.has(nameOf.get(s)!)) held.set(nameOf.get(s)!, { filehash: put.filehash, size });
        if (!outsourcedAnswer && held.has(OUTSOURCER)) {
          // Waited for until the test's own budget ends, less what the checks after it take: the re-seal's
          // wall time is its CPU time (15.6 s on an idle core, docs/porep.md) divided by the share a nice-10
          // thread gets, which the load beside it decides (89.7 s with this devnet alone, over 240 s in a
          // clean-clone CI run of 2026-12-07 with another devnet test file running beside it).
          outsourcedAnswer = proveReplica(OUTSOURCER, Math.max(60_000, started + TEST_BUDGET_MS - AFTER_THE_PROBES_MS - Date.now()));
          outsourcedAnswer.catch(() => undefined); // awaited after the uploads
        }
        t.log(`upload ${n} (${((Date.now() - attackStarted) / 1000).toFixed(0)} s): round ${put.round}, storers ${put.storers.map((s) => nameOf.get(s)).join(',')}; reputation ${caught.map((c) => `${c} ${rep(v, c)}`).join(', ')}`);
      }
      return v;
    },
    {
      what: 'every attacker to have committed to a file and lost reputation on chain',
      deadlineMs: 300_000,
      intervalMs: 0,
      until: (v) =>
        [SLOW, ...caught].every((n) => held.has(n)) &&
        caught.every((n) => rep(v, n) < FULL) &&
        gatewayRefusalsOf(WRONG_SEALER).length > 0 &&
        // what is asserted below of the late storer and the outsourcer: a miss counted after containment
        [LATE, OUTSOURCER].every((n) => log('rewards-0').some((l) => l['msg'] === 'audit failed after containment' && l['storer'] === short(n))),
      describe: (v) => `held by ${[...held.keys()].join(',')}; reputation ${caught.map((n) => `${n} ${rep(v, n)}`).join(', ')}; the gateway's seal refusals of the wrong sealer ${gatewayRefusalsOf(WRONG_SEALER).length}`,
    },
  );

  const honestName = HONEST.find((n) => held.has(n));
  const honest = honestName ? await proveReplica(honestName) : null;
  const slow = await proveReplica(SLOW);
  const outsourced = await outsourcedAnswer!;
  const sybil = await proveReplica(SYBIL);
  const fmt = (ms: number) => `${ms.toFixed(0)} ms`;
  t.log(
    `ProveReplica (k ${AUDIT_K}, sector ${SECTOR}) vs the ${DEADLINE_MS} ms deadline: honest ${honest ? fmt(honest.ms) : 'n/a'}; slow-honest ${fmt(slow.ms)} (${(DEADLINE_MS / slow.ms).toFixed(2)}x under); ` +
      `outsourcer ${fmt(outsourced.ms)} (${(outsourced.ms / DEADLINE_MS).toFixed(2)}x the deadline, margin ${fmt(outsourced.ms - DEADLINE_MS)}); sybil ${fmt(sybil.ms)}, opens its comm_r: ${sybil.opens}`,
  );
  if (honest) t.true(honest.opens && honest.ms < DEADLINE_MS, 'an honest storer answers a correct replica audit inside the deadline');
  t.true(slow.opens && slow.ms >= SLOW_HONEST_LATENCY_MS && slow.ms < DEADLINE_MS, 'the slow honest storer answers correctly inside the deadline');
  t.true(outsourced.opens, 'the outsourcer\'s re-sealed answer is correct');
  t.true(outsourced.ms > DEADLINE_MS, 'but comes after the deadline');
  t.false(sybil.opens, 'the sybil\'s answer from another identity\'s replica does not open its comm_r');
  const late = await (async () => {
    const c = new StorerServiceClient(endpointOf(LATE), credentials.createInsecure());
    try {
      const t0 = performance.now();
      await unary<VerifyFileResponse>((md, o, cb) => c.verifyFile({ filehash: Buffer.from(held.get(LATE)!.filehash, 'hex'), challenge: Buffer.from(seeded.bytes(32)), k: 4 }, md, o, cb));
      return performance.now() - t0;
    } finally {
      c.close();
    }
  })();
  t.true(late >= LATE_ANSWER_LATENCY_MS, `the late storer answers VerifyFile after ${fmt(late)}`);

  // The verifier's own counts and its log.
  const reputationOf = (name: string) => unary<GetReputationResponse>((md, o, cb) => rewards.getReputation({ storerId: Buffer.from(idOf(name), 'hex') }, md, o, cb));
  const counts = (r: GetReputationResponse) => `valid ${r.totals!.valid} / invalid ${r.totals!.invalid} / unreachable ${r.totals!.unreachable}`;
  const verdicts = new Map<string, GetReputationResponse>();
  for (const n of caught) {
    const r = await reputationOf(n);
    verdicts.set(n, r);
    t.true(r.totals!.invalid > 0, `the verifier counted invalid answers of ${n} (${counts(r)})`);
  }
  const slowRep = await reputationOf(SLOW);
  t.is(slowRep.totals!.invalid, 0, 'no answer of the slow honest storer was counted invalid');
  for (const n of [SLOW, ...HONEST]) t.is(rep(view, n), FULL, `${n} keeps full reputation on chain`);

  const rewardsLog = log('rewards-0');
  for (const n of [LATE, OUTSOURCER]) {
    const contained = rewardsLog.filter((l) => l['msg'] === 'audit contained' && l['storer'] === short(n));
    const failed = rewardsLog.filter((l) => l['msg'] === 'audit failed after containment' && l['storer'] === short(n));
    t.true(contained.length >= RETRIES, `${n} was contained and re-audited (${contained.length} misses logged)`);
    t.true(failed.length > 0 && failed.every((l) => l['retries'] === RETRIES && l['outcome'] === 'invalid'), `${n}'s misses then counted as a failure after exactly ${RETRIES} re-audits`);
  }
  const sybilFailures = failuresOf(rewardsLog, SYBIL);
  t.true(
    sybilFailures.some((l) => String(l['reason']).includes('replica audit: the replica nodes do not open comm_r')),
    `the sybil failed its replica audit at once: ${sybilFailures.map((l) => String(l['reason'])).join(' | ')}`,
  );
  // The wrong sealer: refused at commit time, never on chain. Every finalized upload's storers are in
  // `held`; the chunk sets it offered to proposers were refused by the validators that asked it.
  const refused = gatewayRefusalsOf(WRONG_SEALER);
  t.true(refused.length > 0, 'the gateway refused the wrong sealer\'s seal proof');
  t.false(held.has(WRONG_SEALER), `no finalized upload names the wrong sealer (its ${refused.length} commitments were refused: ${String(refused[0]!['problem'])})`);
  const consensusLogs = procs.filter((p) => p.name.startsWith('consensus-')).flatMap((p) => log(p.name));
  const chunkSetRefusals = consensusLogs.filter((l) => l['msg'] === 'block storage not verified: no vote for it' && String(l['reason']).includes(`storer ${short(WRONG_SEALER)}: seal proof refused`)).length;
  const leftOut = consensusLogs.filter((l) => l['msg'] === 'chunk-set commitments of storers whose seal proofs were refused left out').length;
  t.log(`wrong sealer: ${refused.length} commitments refused by the gateway; blocks carrying its chunk-set commitment refused by a validator ${chunkSetRefusals}; proposals that left it out afterwards ${leftOut}`);
  // What the validators' seal checks cost: full (the network's sealChallenges) and spot proofs, verify time each.
  const verified = consensusLogs.filter((l) => l['msg'] === 'seal proof verified');
  const median = (xs: number[]) => (xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!);
  const costOf = (full: boolean) => {
    const ls = verified.filter((l) => (Number(l['challenges']) > 16) === full);
    return `${ls.length} proofs, median ${median(ls.map((l) => Number(l['proofBytes'])))} bytes, answer ${median(ls.map((l) => Number(l['answerMs'])))} ms, verify ${median(ls.map((l) => Number(l['verifyMs'])))} ms`;
  };
  t.log(`validators' seal checks: full ${costOf(true)}; spot ${costOf(false)}`);
  for (const n of [SLOW, ...HONEST]) t.false(rewardsLog.some((l) => String(l['msg']).startsWith('audit failed') && l['storer'] === short(n)), `${n} never failed an audit`);
  const reseals = log(OUTSOURCER).filter((l) => l['msg'] === 'outsourcer answered ProveReplica');
  t.true(reseals.length > 0, 'the outsourcer re-sealed on demand');
  const resealMs = reseals.map((l) => Number(l['resealMs']));
  t.log(
    `outsourcer re-seals: ${reseals.length}, ${Number(reseals[0]!['labels'])} labels each (sector ${Number(reseals[0]!['sectorNodes'])} nodes), wall ${Math.min(...resealMs)}–${Math.max(...resealMs)} ms ` +
      `(a worker thread at nice ${RESEAL_NICE}), fetch ${reseals.map((l) => Number(l['fetchMs'])).join('/')} ms`,
  );
  t.log(
    `reputation on chain: ${[...caught, SLOW, ...HONEST, WRONG_SEALER].map((n) => `${n} ${rep(view, n)}`).join(', ')}; verifier: ${caught.map((n) => `${n} ${counts(verdicts.get(n)!)}`).join('; ')}; slow-honest ${counts(slowRep)}; ${((Date.now() - started) / 1000).toFixed(0)} s after the devnet was ready`,
  );
});
