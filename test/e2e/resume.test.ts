// Resumable uploads end to end on the devnet (issue #22 part 2), with the real `wolk` CLI process:
//   1. `wolk put` of a ~50 MB file is SIGKILLed at a seeded point of its progress; the same command run
//      again resumes from the gateway's offset: it sends the rest and only a bounded overlap more;
//   2. the gateway process is SIGKILLed mid-upload and started again (same environment, data directory
//      and ports); the `wolk put` still running retries and continues from the gateway's durable offset
//      (its last checkpoint), sending at most a checkpoint and what was in flight twice;
//   both files read back byte-identical. The 500 MB version is `npm run soak -- resume`
//   (scripts/soak/resume.ts); both take their steps from test/helpers/resume.ts.
import test from 'ava';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WolkClient } from '../../lib/client/client.js';
import { keyFromSeed } from '../../lib/client/keys.js';
import { startDevnet, type Devnet } from '../helpers/devnet.js';
import { pollUntil } from '../helpers/poll.js';
import { heldOffset, killAndRestartGateway, OVERLAP_BOUND, sha256OfKey, stopProcess, uploadedPct, uploadUrlOf, wolkPut, writeKeyFile, writeSeededFile, type PutEnv } from '../helpers/resume.js';
import { logSeedOnFailure, testRandom } from '../helpers/seed.js';

const seeded = testRandom('e2e/resume.test.ts');
logSeedOnFailure(test);

const SIZE = 50_000_000;

const work = mkdtempSync(join(tmpdir(), 'wolk-resume-'));
const home = join(work, 'home');
const keyFile = join(work, 'alice.json');
const alice = keyFromSeed(seeded.bytes(32));
let devnet: Devnet;
let gateway = '';
let env: PutEnv;
/** The gateway started again by the test (the launcher does not restart processes); stopped in after. */
let restarted: ChildProcess | undefined;

test.before(async () => {
  mkdirSync(home, { recursive: true });
  devnet = await startDevnet();
  gateway = devnet.endpoints().gateway;
  env = { work, home, keyFile, gateway };
  writeKeyFile(keyFile, alice);
  await new WolkClient(gateway, alice).claim('alice');
});

test.after.always(async () => {
  await stopProcess(restarted);
  await devnet?.stop();
});

test.serial('wolk put killed at a seeded point resumes from the gateway offset; a gateway killed mid-upload and restarted is resumed too; both byte-identical', async (t) => {
  t.timeout(300_000);
  // ---- 1. the client is killed ----
  const fileA = join(work, 'a.bin');
  const shaA = writeSeededFile(fileA, SIZE, seeded);
  const killAt = seeded.int(2, 7) * 10; // percent of the file read into the request
  const first = wolkPut(env, fileA, 'wolk://alice/r/a.bin');
  await pollUntil(() => uploadedPct(first.stderr()), { what: `the first wolk put to reach ${killAt}%`, deadlineMs: 120_000, intervalMs: 10, until: (p) => p >= killAt, describe: () => first.stderr() });
  first.child.kill('SIGKILL');
  await first.done;
  const uploadUrl = uploadUrlOf(home);
  const sentBeforeKill = Math.floor((uploadedPct(first.stderr()) * SIZE) / 100);
  const held = await heldOffset(gateway, uploadUrl);
  t.log(`client killed at ≥${sentBeforeKill} bytes read (${killAt}% asked); gateway offset ${held}`);

  const rerun = wolkPut(env, fileA, 'wolk://alice/r/a.bin');
  const r1 = await rerun.done;
  t.is(r1.code, 0, rerun.stderr());
  const res1 = JSON.parse(r1.stdout) as { state: string; filehash: string; resumable?: { resumedAt: number; sent: number; retries: number } };
  t.is(res1.state, 'final');
  t.truthy(res1.resumable, 'the rerun went through the resumable path');
  const { resumedAt, sent } = res1.resumable!;
  t.regex(rerun.stderr(), /resuming at /);
  t.true(resumedAt >= held, `resumed at ${resumedAt}, the gateway held ${held}`);
  const missing = SIZE - sentBeforeKill;
  t.log(`rerun: resumed at ${resumedAt}, sent ${sent}; missing after the cut ${missing}; overlap ${sent - missing} (bound ${OVERLAP_BOUND})`);
  t.true(sent <= SIZE - resumedAt + OVERLAP_BOUND && sent - missing <= OVERLAP_BOUND, `sent ${sent}, missing ${missing}`);
  t.is(await sha256OfKey(gateway, 'wolk://alice/r/a.bin'), shaA, 'byte-identical on GET');

  // ---- 2. the gateway is killed and started again ----
  const gw = devnet.processes().find((p) => p.name.startsWith('gateway'))!;
  const fileB = join(work, 'b.bin');
  const shaB = writeSeededFile(fileB, SIZE, seeded);
  const cutAt = seeded.int(3, 7) * 10;
  const put = wolkPut(env, fileB, 'wolk://alice/r/b.bin');
  await pollUntil(() => uploadedPct(put.stderr()), { what: `wolk put to reach ${cutAt}%`, deadlineMs: 120_000, intervalMs: 10, until: (p) => p >= cutAt, describe: () => put.stderr() });
  restarted = await killAndRestartGateway(gateway, gw.pid);
  const r2 = await put.done;
  t.is(r2.code, 0, put.stderr());
  const res2 = JSON.parse(r2.stdout) as { state: string; resumable?: { resumedAt: number; sent: number; retries: number } };
  t.is(res2.state, 'final');
  t.true((res2.resumable?.retries ?? 0) >= 1, `the cut was retried: ${put.stderr()}`);
  const overlap = res2.resumable!.sent - SIZE;
  t.log(`gateway killed at ≥${cutAt}% read: the run sent ${res2.resumable!.sent} bytes for ${SIZE} (overlap ${overlap}, bound ${OVERLAP_BOUND}), ${res2.resumable!.retries} retries`);
  t.true(overlap >= 0 && overlap <= OVERLAP_BOUND, `overlap ${overlap}`);
  t.is(await sha256OfKey(gateway, 'wolk://alice/r/b.bin'), shaB, 'byte-identical on GET');
});
