// The product as a user meets it, on the real devnet (13 processes): keygen, claim a name, upload a
// 10 MB file with the CLI, read it back byte-identical, verify its proof offline; with one storer down
// uploads still complete with N commitments from the others; with fewer than N storers alive the
// upload fails fast with 503 and nothing reaches the chain.
import test from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startDevnet, type Devnet } from '../helpers/devnet.js';
import { ROOT } from '../helpers/process.js';

const run = promisify(execFile);
let devnet: Devnet;
const work = mkdtempSync(join(tmpdir(), 'wolk-cli-'));

function cli(...args: string[]) {
  return run(process.execPath, [join(ROOT, 'bin/wolk.mjs'), ...args], {
    cwd: work,
    env: { ...process.env, WOLK_GATEWAY: devnet.endpoints().gateway, WOLK_KEY: join(work, 'key.json') },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 180_000,
  });
}

test.before(async () => {
  devnet = await startDevnet();
});

test.after.always(async () => {
  await devnet?.stop();
});

test.serial('keygen, claim, put 10 MB, get it byte-identical, verify the proof offline, list', async (t) => {
  t.timeout(400_000);
  const key = JSON.parse((await cli('keygen')).stdout) as { owner: string; publicKey: string };
  t.regex(key.publicKey, /^[0-9a-f]{64}$/);
  await cli('claim', 'alice');

  const file = join(work, 'bday.mp4');
  writeFileSync(file, randomBytes(10 * 1024 * 1024));
  const put = JSON.parse((await cli('put', file, 'wolk://alice/videos/bday.mp4')).stdout) as { filehash: string; storers: string[]; round: string };
  t.regex(put.filehash, /^[0-9a-f]{64}$/);
  t.is(new Set(put.storers).size, 3, 'N = 3 distinct storers committed');

  const out = join(work, 'bday.out');
  await cli('get', 'wolk://alice/videos/bday.mp4', out);
  t.true(readFileSync(out).equals(readFileSync(file)), 'the bytes read back are the bytes uploaded');

  const proof = await cli('proof', 'wolk://alice/videos/bday.mp4');
  t.regex(proof.stdout + proof.stderr, /verified offline/);

  const ls = await cli('ls', 'wolk://alice/videos/');
  t.regex(ls.stdout, /bday\.mp4/);
});

test.serial('one storer down: the upload still completes with N commitments from the others', async (t) => {
  t.timeout(300_000);
  const victim = devnet.processes().find((p) => p.name === 'storer-0')!;
  process.kill(victim.pid, 'SIGKILL');
  const file = join(work, 'second.bin');
  writeFileSync(file, randomBytes(256 * 1024));
  const put = JSON.parse((await cli('put', file, 'wolk://alice/videos/second.bin')).stdout) as { storers: string[] };
  t.is(new Set(put.storers).size, 3);
  const out = join(work, 'second.out');
  await cli('get', 'wolk://alice/videos/second.bin', out);
  t.true(readFileSync(out).equals(readFileSync(file)));
});

test.serial('fewer than N storers alive: 503 quickly and nothing on chain', async (t) => {
  t.timeout(300_000);
  for (const name of ['storer-1', 'storer-2', 'storer-3']) {
    const p = devnet.processes().find((q) => q.name === name)!;
    process.kill(p.pid, 'SIGKILL');
  }
  const file = join(work, 'third.bin');
  writeFileSync(file, randomBytes(64 * 1024));
  const started = Date.now();
  const err = (await cli('put', file, 'wolk://alice/videos/third.bin').then(
    () => null,
    (e: { stdout: string; stderr: string }) => e,
  )) as { stdout: string; stderr: string } | null;
  t.truthy(err, 'the upload must fail');
  t.regex(`${err?.stdout}${err?.stderr}`, /503/);
  t.true(Date.now() - started < 120_000, 'it fails within the commitment deadline, not after a hang');
  const ls = await cli('ls', 'wolk://alice/videos/');
  t.notRegex(ls.stdout, /third\.bin/);
});
