// Resumable uploads end to end on the devnet (issue #22 part 2), with the real `wolk` CLI process:
//   1. `wolk put` of a ~50 MB file is SIGKILLed at a seeded point of its progress; the same command run
//      again resumes from the gateway's offset: it sends the rest and only a bounded overlap more;
//   2. the gateway process is SIGKILLed mid-upload and started again (same environment, data directory
//      and ports); the `wolk put` still running retries and continues from the gateway's durable offset
//      (its last checkpoint), sending at most a checkpoint and what was in flight twice;
//   both files read back byte-identical. The 500 MB version is `npm run soak -- resume`.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { WolkClient } from '../../lib/client/client.js';
import { keyFromSeed } from '../../lib/client/keys.js';
import { TUS_VERSION } from '../../lib/client/resumable.js';
import { CHECKPOINT_BYTES } from '../../services/gateway/resumable/tus.js';
import { startDevnet, type Devnet } from '../helpers/devnet.js';
import { pollUntil } from '../helpers/poll.js';
import { isAlive, ROOT } from '../helpers/process.js';
import { logSeedOnFailure, testRandom } from '../helpers/seed.js';

const seeded = testRandom('e2e/resume.test.ts');
logSeedOnFailure(test);

const SIZE = 50_000_000;
/** What a cut may cost beyond the missing bytes: a gateway's last checkpoint interval plus what was in flight (socket buffers). */
const OVERLAP_BOUND = CHECKPOINT_BYTES + 8 * 1024 * 1024;

const work = mkdtempSync(join(tmpdir(), 'wolk-resume-'));
const home = join(work, 'home');
const keyFile = join(work, 'alice.json');
const alice = keyFromSeed(seeded.bytes(32));
let devnet: Devnet;
let gateway = '';
/** The gateway started again by the test (the launcher does not restart processes); stopped in after. */
let restarted: ChildProcess | undefined;

test.before(async () => {
  mkdirSync(home, { recursive: true });
  devnet = await startDevnet();
  gateway = devnet.endpoints().gateway;
  writeFileSync(keyFile, JSON.stringify({ version: 1, publicKey: Buffer.from(alice.publicKey).toString('hex'), secretKey: Buffer.from(alice.secretKey).toString('hex') }));
  await new WolkClient(gateway, alice).claim('alice');
});

test.after.always(async () => {
  if (restarted && restarted.exitCode === null) {
    const gone = new Promise((r) => restarted!.once('exit', r));
    restarted.kill('SIGTERM');
    await gone;
  }
  await devnet?.stop();
});

/** `wolk put` as a user runs it (bin/wolk.mjs), with its state under HOME/.wolk/uploads. */
function wolkPut(file: string, uri: string): { child: ChildProcess; stderr: () => string; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> } {
  const child = spawn(process.execPath, [join(ROOT, 'bin/wolk.mjs'), 'put', file, uri], {
    cwd: work,
    env: { ...process.env, HOME: home, WOLK_GATEWAY: gateway, WOLK_KEY: keyFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, stdout: out })));
  return { child, stderr: () => err, done };
}

/** The last "uploading N% (… of …)" progress line's percentage (non-TTY progress: a line per 10%). */
const uploadedPct = (stderr: string) => Math.max(-1, ...[...stderr.matchAll(/^uploading (\d+)%/gm)].map((m) => Number(m[1])));

function uploadUrlOf(): string {
  const dir = join(home, '.wolk', 'uploads');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  if (files.length !== 1) throw new Error(`expected one upload state file in ${dir}, found ${files.join(', ') || 'none'}`);
  return (JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')) as { uploadUrl: string }).uploadUrl;
}

async function gatewayOffset(uploadUrl: string): Promise<number> {
  const h = await fetch(new URL(uploadUrl, gateway), { method: 'HEAD', headers: { 'tus-resumable': TUS_VERSION } });
  return Number(h.headers.get('upload-offset'));
}

async function sha256Of(uri: string): Promise<string> {
  const h = createHash('sha256');
  await new WolkClient(gateway).get(uri, new Writable({ write: (c: Buffer, _e, cb) => (h.update(c), cb()) }));
  return h.digest('hex');
}

test.serial('wolk put killed at a seeded point resumes from the gateway offset; a gateway killed mid-upload and restarted is resumed too; both byte-identical', async (t) => {
  t.timeout(300_000);
  // ---- 1. the client is killed ----
  const bytes = seeded.bytes(SIZE);
  const fileA = join(work, 'a.bin');
  writeFileSync(fileA, bytes);
  const killAt = seeded.int(2, 7) * 10; // percent of the file read into the request
  const first = wolkPut(fileA, 'wolk://alice/r/a.bin');
  await pollUntil(() => uploadedPct(first.stderr()), { what: `the first wolk put to reach ${killAt}%`, deadlineMs: 120_000, intervalMs: 10, until: (p) => p >= killAt, describe: () => first.stderr() });
  first.child.kill('SIGKILL');
  await first.done;
  const uploadUrl = uploadUrlOf();
  const sentBeforeKill = Math.floor((uploadedPct(first.stderr()) * SIZE) / 100);
  const held = await pollUntil(() => gatewayOffset(uploadUrl), { what: 'the gateway to record what arrived before the cut', deadlineMs: 20_000, intervalMs: 100, until: (n) => n > 0 });
  t.log(`client killed at ≥${sentBeforeKill} bytes read (${killAt}% asked); gateway offset ${held}`);

  const rerun = wolkPut(fileA, 'wolk://alice/r/a.bin');
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
  t.is(await sha256Of('wolk://alice/r/a.bin'), createHash('sha256').update(bytes).digest('hex'), 'byte-identical on GET');

  // ---- 2. the gateway is killed and started again ----
  const gw = devnet.processes().find((p) => p.name.startsWith('gateway'))!;
  // Its exact environment, to start it again as the launcher did (same data directory, ports, peers).
  const env = Object.fromEntries(
    readFileSync(`/proc/${gw.pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
  const bytesB = seeded.bytes(SIZE);
  const fileB = join(work, 'b.bin');
  writeFileSync(fileB, bytesB);
  const cutAt = seeded.int(3, 7) * 10;
  const put = wolkPut(fileB, 'wolk://alice/r/b.bin');
  await pollUntil(() => uploadedPct(put.stderr()), { what: `wolk put to reach ${cutAt}%`, deadlineMs: 120_000, intervalMs: 10, until: (p) => p >= cutAt, describe: () => put.stderr() });
  process.kill(gw.pid, 'SIGKILL');
  await pollUntil(() => !isAlive(gw.pid), { what: 'the gateway to die', deadlineMs: 10_000, until: (dead) => dead });
  restarted = spawn(process.execPath, ['--import', 'tsx', 'services/gateway/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'ignore'] });
  await pollUntil(async () => (await fetch(`${gateway}/healthz`).catch(() => undefined))?.status, { what: 'the restarted gateway to answer', deadlineMs: 60_000, intervalMs: 200, until: (s) => s === 200 });
  const r2 = await put.done;
  t.is(r2.code, 0, put.stderr());
  const res2 = JSON.parse(r2.stdout) as { state: string; resumable?: { resumedAt: number; sent: number; retries: number } };
  t.is(res2.state, 'final');
  t.true((res2.resumable?.retries ?? 0) >= 1, `the cut was retried: ${put.stderr()}`);
  const overlap = res2.resumable!.sent - SIZE;
  t.log(`gateway killed at ≥${cutAt}% read: the run sent ${res2.resumable!.sent} bytes for ${SIZE} (overlap ${overlap}, bound ${OVERLAP_BOUND}), ${res2.resumable!.retries} retries`);
  t.true(overlap >= 0 && overlap <= OVERLAP_BOUND, `overlap ${overlap}`);
  t.is(await sha256Of('wolk://alice/r/b.bin'), createHash('sha256').update(bytesB).digest('hex'), 'byte-identical on GET');
});
