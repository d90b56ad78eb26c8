// Repair on the devnet (docs/repair.md, issue #19), with the rewards service's repairer on (WOLK_INDEXER
// given to the launcher, so every process has it; only the rewards service and the gateway read it):
// storer-1 drops what it commits to (WOLK_DEVNET_FAULTS=storer-1:drop-after-commit), the audits fail it
// after containment and its reputation falls below the genesis threshold; every key it held is then
// repaired on chain (?proof names N distinct storers, none of them storer-1) and every file's GET stays
// byte-identical.
// Then a storer killed and wiped for good (storer-4, SIGKILL and its data directory removed) after the
// audits of its upload blocks are over: its files are audited only by the standing audits of current
// (storer, key) pairs (docs/rewards.md "Standing audits", genesis params.standingAudits = 2 on the
// devnet), and a finalized Reward carries one of them finding it down. (On this 6-storer devnet it also
// committed to the chunk sets of the blocks just before its death, whose audits find it down too; each
// Reward is a transaction, so every block has a chunk set.) Its reputation falls below the threshold and
// every key it held is repaired to N on other storers, every GET byte-identical throughout (every file is
// read on every poll while the repair is under way), and each new storer proves its replica in the next
// audit: the audit of its Repair's block tallies it valid on every object it has there.
//
// Opt-in (WOLK_E2E_REPAIR=1), not in CI (its time): green in 4 of 5 runs of 2026-12-06 (20-33 s each at
// load 4-9, seeds 1, 7, 1234), and in 7 of 7 of 2026-12-08 (seeds 1, 7, 11-14, 5); in the failed one
// (seed 1) the rewards service audited nothing for 3 minutes (no audit line at all, so storer-1's
// reputation never fell and nothing needed repair), cause not found and not seen since.
import test from 'ava';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateNodeKey } from '../../lib/identity/node-key.js';
import { StandingOutcome } from '../../gen/wolk/common/v1/tx.js';
import { RewardsServiceClient, type GetTallyResponse } from '../../gen/wolk/rewards/v1/rewards.js';
import { ConsensusServiceClient } from '../../gen/wolk/consensus/v1/consensus.js';
import { IndexerServiceClient } from '../../gen/wolk/indexer/v1/indexer.js';
import { unaryCall } from '../../lib/grpc/client.js';
import { auditOfBlock } from '../helpers/block-audit.js';
import { DEVNET_PARAMS } from '../../scripts/devnet-plan.js';
import { devnetCli, putFinal } from '../helpers/cli.js';
import { startRepairDevnet, type Devnet } from '../helpers/devnet.js';
import { pollUntil } from '../helpers/poll.js';
import { logSeedOnFailure, testRandom } from '../helpers/seed.js';

const seeded = testRandom('e2e/repair-devnet.test.ts');
logSeedOnFailure(test);

const enabled = process.env['WOLK_E2E_REPAIR'] === '1';
const maybe = enabled ? test.serial : test.serial.skip;
const LAZY = 'storer-1';
const DEAD = 'storer-4';
let devnet: Devnet;
/** Every key uploaded (alice/rep/KEY) and its bytes, over both tests. */
const uploaded = new Map<string, Buffer>();
const storersOf = async (key: string): Promise<string[]> => {
  const res = await fetch(`${devnet.endpoints().gateway}/wolk/alice/rep/${key}?proof`);
  if (res.status !== 200) throw new Error(`?proof of ${key}: HTTP ${res.status}`);
  return ((await res.json()) as { record: { storers: string[] } }).record.storers;
};
const work = mkdtempSync(join(tmpdir(), 'wolk-repair-'));
const cli = devnetCli(work, () => devnet.endpoints().gateway);

test.before(async () => {
  if (!enabled) return;
  devnet = await startRepairDevnet({ WOLK_DEVNET_FAULTS: `${LAZY}:drop-after-commit` });
});

test.after.always(async () => {
  await devnet?.stop();
});

maybe('a storer that drops what it committed to is replaced in every key it held; every GET stays byte-identical', async (t) => {
  t.timeout(600_000);
  const lazy = loadOrCreateNodeKey(join(devnet.dir, LAZY)).key.id;
  const http = devnet.endpoints().gateway;
  await cli('keygen');
  await cli('claim', 'alice');
  const files = new Map<string, Buffer>();
  const held: string[] = [];
  // Upload until storer-1 holds two keys (sortition picks 3 of 6 per file), at most 10 files.
  for (let i = 0; i < 10 && held.length < 2; i++) {
    const bytes = Buffer.from(seeded.bytes(20_000 + 1000 * i));
    const file = join(work, `f${i}.bin`);
    writeFileSync(file, bytes);
    const key = `f${i}.bin`;
    const put = await putFinal(cli, file, `wolk://alice/rep/${key}`);
    files.set(key, bytes);
    uploaded.set(key, bytes);
    if (put.storers.includes(lazy)) held.push(key);
  }
  t.true(held.length >= 1, `storer-1 committed to none of ${files.size} uploads`);
  const started = Date.now();

  const still = await pollUntil(async () => (await Promise.all(held.map(storersOf))).filter((s) => s.includes(lazy)).length, {
    what: `every key storer-1 held (${held.join(', ')}) repaired on chain`,
    deadlineMs: 180_000,
    intervalMs: 1000,
    until: (n) => n === 0,
    describe: (n) => `${n} still name storer-1; rewards log:\n${readFileSync(join(devnet.dir, 'logs', 'rewards-0.log'), 'utf8').split('\n').filter((l) => /repair|reward submitted/.test(l)).slice(-10).join('\n')}`,
  });
  t.is(still, 0);
  t.log(`${held.length} key(s) held by storer-1 repaired ${((Date.now() - started) / 1000).toFixed(1)} s after the last upload was final`);
  for (const key of files.keys()) {
    const ids = await storersOf(key);
    t.is(ids.length, 3, `${key}: N = 3 commitments`);
    t.is(new Set(ids).size, 3, `${key}: distinct storers`);
    t.false(ids.includes(lazy), `${key}: storer-1 no longer named`);
    const got = Buffer.from(await (await fetch(`${http}/wolk/alice/rep/${key}`)).arrayBuffer());
    t.true(got.equals(files.get(key)!), `${key}: GET byte-identical`);
  }
  const log = readFileSync(join(devnet.dir, 'logs', 'rewards-0.log'), 'utf8');
  t.true(/"msg":"repair submitted"/.test(log), 'the rewards service says it submitted repairs');
  t.true(/"msg":"reward submitted"/.test(log), 'and it still submits Rewards');
});

maybe('a storer killed and wiped for good, after its blocks were audited, is found by standing audits and replaced in every key it held', async (t) => {
  t.timeout(600_000);
  const dead = loadOrCreateNodeKey(join(devnet.dir, DEAD)).key.id;
  const http = devnet.endpoints().gateway;
  const tip = async () => Number(((await (await fetch(`${http}/chain`)).json()) as { finalizedRound: string }).finalizedRound);
  // Upload until storer-4 holds two keys of this test, at most 10 files.
  const mine: string[] = [];
  let lastRound = 0;
  for (let i = 0; i < 10 && mine.length < 2; i++) {
    const bytes = Buffer.from(seeded.bytes(15_000 + 1000 * i));
    const key = `k${i}.bin`;
    const file = join(work, key);
    writeFileSync(file, bytes);
    const put = await putFinal(cli, file, `wolk://alice/rep/${key}`);
    uploaded.set(key, bytes);
    lastRound = Math.max(lastRound, Number(put.round));
    if (put.storers.includes(dead)) mine.push(key);
  }
  t.true(mine.length >= 1, `${DEAD} committed to none of the uploads`);
  // Its upload blocks' audits are over once their Rewards can no longer be included (A + Q + maxDelay):
  // from then on only standing audits can reach it.
  const quiet = lastRound + DEVNET_PARAMS.auditDepth + DEVNET_PARAMS.rewardMaxDelay + 1;
  await pollUntil(tip, { what: `the chain past round ${quiet}`, deadlineMs: 120_000, intervalMs: 500, until: (r) => r >= quiet, describe: (r) => `tip ${r}` });
  const heldNow: string[] = [];
  /** Each key's storers before the kill. */
  const before = new Map<string, string[]>();
  for (const key of uploaded.keys()) {
    const ids = await storersOf(key);
    before.set(key, ids);
    if (ids.includes(dead)) heldNow.push(key);
  }
  t.true(heldNow.length >= 1, `${DEAD} holds a key when it dies`);
  const proc = devnet.processes().find((p) => p.name === DEAD)!;
  process.kill(proc.pid, 'SIGKILL');
  await pollUntil(() => { try { process.kill(proc.pid, 0); return false; } catch { return true; } }, { what: `${DEAD} gone`, deadlineMs: 10_000, until: (g) => g });
  rmSync(join(devnet.dir, DEAD), { recursive: true, force: true });
  const killedAt = Date.now();
  const killRound = await tip();
  t.log(`${DEAD} killed and wiped at round ${await tip()}, holding ${heldNow.length} key(s): ${heldNow.join(', ')}`);

  const rewardsLog = () => readFileSync(join(devnet.dir, 'logs', 'rewards-0.log'), 'utf8');
  // Every file's GET stays byte-identical while the repair is under way: read on every poll.
  const badReads: string[] = [];
  const readAll = async () => {
    for (const [key, bytes] of uploaded) {
      const res = await fetch(`${http}/wolk/alice/rep/${key}`).catch((err: unknown) => err as Error);
      if (res instanceof Error) badReads.push(`${key}: ${res.message}`);
      else if (res.status !== 200) badReads.push(`${key}: HTTP ${res.status}`);
      else if (!Buffer.from(await res.arrayBuffer()).equals(bytes)) badReads.push(`${key}: bytes differ`);
    }
  };
  let reads = 0;
  const still = await pollUntil(async () => (await readAll(), reads++, (await Promise.all(heldNow.map(storersOf))).filter((s) => s.includes(dead)).length), {
    what: `every key ${DEAD} held (${heldNow.join(', ')}) repaired on chain`,
    deadlineMs: 420_000,
    intervalMs: 2000,
    until: (n) => n === 0,
    describe: (n) => `${n} still name ${DEAD}; rewards log:\n${rewardsLog().split('\n').filter((l) => /repair|standing|reward submitted/.test(l)).slice(-12).join('\n')}`,
  });
  t.is(still, 0);
  t.log(`${heldNow.length} key(s) held by ${DEAD} repaired ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill; every file read ${reads} times meanwhile`);
  t.deepEqual(badReads, [], 'every GET during the repair was byte-identical');
  // Each new storer proves its replica in the next audit: the audit of its Repair's block (the key's
  // repaired_round, from the indexer) tallies it valid on every object it has in that block.
  const indexer = new IndexerServiceClient(devnet.endpoints().indexer[0]!, credentials.createInsecure());
  const consensus = new ConsensusServiceClient(devnet.endpoints().consensus[0]!, credentials.createInsecure());
  const auditors = new RewardsServiceClient(devnet.endpoints().rewards[0]!, credentials.createInsecure());
  t.teardown(() => [indexer, consensus, auditors].forEach((c) => c.close()));
  // Keys that also name the lazy storer of the first test may have had a second Repair since; their
  // last Repair's block need not be the one that replaced the dead storer, so they are left out here.
  const lazy = loadOrCreateNodeKey(join(devnet.dir, LAZY)).key.id;
  const checked = heldNow.filter((key) => !before.get(key)!.includes(lazy));
  t.true(checked.length >= 1, `a key ${DEAD} held without ${LAZY}`);
  const audits = await Promise.all(
    checked.map(async (key) => {
      const rec = (await unaryCall(indexer.getKey.bind(indexer), { owner: 'alice', collection: 'rep', key }, { timeoutMs: 15_000 })).record!;
      // A Repair substitutes in place: the new storer is at the dead one's position.
      const newcomer = Buffer.from(rec.commitments[before.get(key)!.indexOf(dead)]!.storerId).toString('hex');
      const round = Number(rec.repairedRound ?? 0n);
      return { key, newcomer, round, audit: await auditOfBlock(consensus, auditors, round, newcomer) };
    }),
  );
  for (const { key, newcomer, round, audit } of audits) {
    t.true(round > killRound, `${key}: repaired in round ${round}, after the kill`);
    t.truthy(audit.tally, `${key}: its new storer ${newcomer.slice(0, 16)} is tallied in the audit of block ${round}`);
    t.true(audit.objects >= 1);
    t.is(audit.tally?.valid, audit.objects, `${key}: the new storer proved all ${audit.objects} of its objects of block ${round} (${audit.finalized ? 'the finalized Reward' : 'the audit run on demand: the verifier was not selected'})`);
  }
  t.log(`the audits of the repair blocks (${[...new Set(audits.map((a) => a.round))].join(', ')}) tallied every new storer valid on all its objects (${audits.filter((a) => a.audit.finalized).length} of ${audits.length} from finalized Rewards)`);
  // A finalized Reward after the kill carries a standing audit that found it down (GetTally scanned from the kill on).
  const rewards = new RewardsServiceClient(devnet.endpoints().rewards[0]!, credentials.createInsecure());
  t.teardown(() => rewards.close());
  const getTally = (auditedRound: number) =>
    new Promise<GetTallyResponse>((resolve, reject) => rewards.getTally({ auditedRound: BigInt(auditedRound) }, new Metadata(), { deadline: Date.now() + 15_000 }, (err: ServiceError | null, res: GetTallyResponse) => (err ? reject(err) : resolve(res))));
  const seen = new Set<number>();
  const standingDown = await pollUntil(
    async () => {
      const top = await tip();
      for (let a = killRound - DEVNET_PARAMS.auditDepth; a <= top - DEVNET_PARAMS.auditDepth; a++) {
        if (seen.has(a)) continue;
        const x = await getTally(a).catch(() => null);
        if (x?.finalized) {
          seen.add(a);
          if (x.reward!.standing.some((e) => Buffer.from(e.storerId).toString('hex') === dead && e.outcome !== StandingOutcome.STANDING_OUTCOME_VALID)) return a;
        }
      }
      return null;
    },
    { what: `a finalized Reward whose standing audits found ${DEAD} down`, deadlineMs: 120_000, intervalMs: 2000, until: (a) => a !== null, describe: () => `finalized Rewards for audited rounds ${[...seen].join(', ') || 'none'} since the kill` },
  );
  t.log(`the finalized Reward of audited round ${standingDown} has a standing audit of ${DEAD} that found it down`);
  const standingFailures = rewardsLog().split('\n').filter((l) => l.includes('"msg":"standing audit failure"') && l.includes(dead.slice(0, 16)));
  t.true(standingFailures.length >= 1, `the rewards service logged standing audit failures of ${DEAD}`);
  for (const [key, bytes] of uploaded) {
    const ids = await storersOf(key);
    t.is(ids.length, DEVNET_PARAMS.replication, `${key}: N commitments`);
    t.is(new Set(ids).size, ids.length, `${key}: distinct storers`);
    t.false(ids.includes(dead), `${key}: ${DEAD} no longer named`);
    const got = Buffer.from(await (await fetch(`${http}/wolk/alice/rep/${key}`)).arrayBuffer());
    t.true(got.equals(bytes), `${key}: GET byte-identical`);
  }
});
