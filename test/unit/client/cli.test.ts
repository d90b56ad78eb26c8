// The `wolk` CLI as a user runs it (bin/wolk.mjs, a real process) against a gateway backed by the
// contract stand-ins: keygen (0600, no overwrite), claim, put, get byte-identical, ls, proof; one JSON
// shape for a key in every command's output; keys with dot segments; a download to a missing
// directory; an upload accepted but not final (exit 3) followed with `wolk status`; the devnet found
// from another directory.
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createGatewayNode } from '../../../services/gateway/node.js';
import { startInProcess } from '../../helpers/service.js';
import { logSeedOnFailure, randomFor } from '../../helpers/seed.js';
import { startFakeConsensus, startFakeStorer } from '../gateway/fakes.js';

const run = promisify(execFile);
const BIN = resolve('bin/wolk.mjs');

logSeedOnFailure(test);

interface World {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly gateway: string;
  /** A gateway over the same chain that waits 0 ms for finality: every synchronous PUT ends in 202. */
  readonly impatientGateway: string;
  wolk(...args: string[]): Promise<{ stdout: string; stderr: string }>;
  /** Runs and resolves with the exit code and output whatever the code. */
  attempt(args: string[], o?: { cwd?: string; env?: NodeJS.ProcessEnv }): Promise<{ code: number; stdout: string; stderr: string }>;
  close(): Promise<void>;
}

let world: World;

test.before(async () => {
  const consensus = await startFakeConsensus();
  const storers = await Promise.all([1, 2, 3].map(() => startFakeStorer()));
  const gateway = await startInProcess('gateway', createGatewayNode, {
    WOLK_HTTP_LISTEN: '127.0.0.1:0',
    WOLK_CONSENSUS: consensus.endpoint,
    WOLK_STORERS: storers.map((s) => s.endpoint).join(','),
    WOLK_REPLICATION: '2',
  });
  const impatient = await startInProcess('gateway', createGatewayNode, {
    WOLK_HTTP_LISTEN: '127.0.0.1:0',
    WOLK_CONSENSUS: consensus.endpoint,
    WOLK_STORERS: storers.map((s) => s.endpoint).join(','),
    WOLK_REPLICATION: '2',
    WOLK_FINALITY_TIMEOUT_MS: '0',
  });
  const dir = mkdtempSync(join(tmpdir(), 'wolk-cli-'));
  const env = { ...process.env, WOLK_GATEWAY: gateway.endpoints['http']!, WOLK_KEY: join(dir, 'key.json') };
  const attempt: World['attempt'] = (args, o = {}) =>
    run(process.execPath, [BIN, ...args], { env: o.env ?? env, cwd: o.cwd ?? process.cwd(), maxBuffer: 1 << 26 }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
  world = {
    dir,
    env,
    gateway: gateway.endpoints['http']!,
    impatientGateway: impatient.endpoints['http']!,
    wolk: (...args) => run(process.execPath, [BIN, ...args], { env, maxBuffer: 1 << 26 }),
    attempt,
    close: async () => {
      await impatient.close();
      await gateway.close();
      await Promise.all(storers.map((s) => s.close()));
      await consensus.close();
    },
  };
  await world.wolk('keygen');
  await world.wolk('claim', 'bob');
});

test.after.always(async () => {
  await world?.close();
});

function writeRandom(t: ExecutionContext, name: string, n: number): { file: string; bytes: Buffer } {
  const bytes = randomFor(t).bytes(n);
  const file = join(world.dir, name);
  writeFileSync(file, bytes);
  return { file, bytes };
}

test.serial('keygen, claim, put, get, ls, proof through the CLI, with one JSON shape for a key', async (t) => {
  t.timeout(120_000);
  const { wolk, dir } = world;
  const kg = JSON.parse(readFileSync(join(dir, 'key.json'), 'utf8')) as { publicKey: string };
  t.regex(kg.publicKey, /^[0-9a-f]{64}$/);
  t.is(statSync(join(dir, 'key.json')).mode & 0o777, 0o600);
  await t.throwsAsync(wolk('keygen'), undefined, 'an existing key is never overwritten');
  const { file, bytes } = writeRandom(t, 'in.bin', 200_000);
  // --name=value works (node:util parseArgs).
  const put = JSON.parse((await wolk('put', file, 'wolk://bob/docs/a/b.bin', '--type=text/plain')).stdout) as Record<string, unknown>;
  t.is(put['state'], 'final');
  t.is(put['size'], bytes.length);
  t.is((put['storers'] as string[]).length, 2);
  const plain = writeRandom(t, 'plain.bin', 300);
  const put2 = JSON.parse((await wolk('put', plain.file, 'wolk://bob/docs/plain.bin')).stdout) as Record<string, unknown>;
  await wolk('get', 'wolk://bob/docs/a/b.bin', join(dir, 'out.bin'));
  t.true(readFileSync(join(dir, 'out.bin')).equals(bytes));
  const ls = JSON.parse((await wolk('ls', 'wolk://bob/docs/')).stdout) as { keys: Record<string, unknown>[] };
  t.deepEqual(ls.keys.map((k) => k['key']), ['a/b.bin', 'plain.bin']);
  // One shape: the same fields with the same JSON types and values in put, ls and get.
  const shape = (o: Record<string, unknown>) => ({ uri: o['uri'], key: o['key'], filehash: o['filehash'], size: o['size'], contentType: o['contentType'], round: o['round'] });
  t.deepEqual(shape(ls.keys[0]!), shape(put));
  t.deepEqual(shape(ls.keys[1]!), shape(put2));
  t.is(ls.keys[0]!['contentType'], 'text/plain');
  t.is(ls.keys[1]!['contentType'], 'application/octet-stream', 'no --type: what GET answers, not ""');
  t.is(typeof ls.keys[0]!['size'], 'number');
  t.is(typeof ls.keys[0]!['round'], 'string');
  const got = JSON.parse((await wolk('get', 'wolk://bob/docs/plain.bin', join(dir, 'plain.out'))).stdout) as Record<string, unknown>;
  t.deepEqual({ ...shape(got), round: put2['round'] }, shape(put2));
  // The stand-in consensus signs no certificates: the CLI says NOT verified and exits 1.
  const proof = await world.attempt(['proof', 'wolk://bob/docs/a/b.bin']);
  t.is(proof.code, 1);
  t.regex(proof.stderr, /NOT verified/);
  t.is((JSON.parse(proof.stdout) as { size: unknown }).size, bytes.length);
  const err = await world.attempt(['get', 'wolk://bob/docs/missing']);
  t.is(err.code, 1);
  t.regex(err.stdout, /"status":404/);
});

test.serial('keys with "." and ".." segments: each put and get reaches its own key', async (t) => {
  t.timeout(120_000);
  const keys = ['dotdot.bin', 'a/../dotdot.bin', './dot.bin', 'dot.bin'];
  const files = keys.map((k, i) => ({ key: k, ...writeRandom(t, `dots-${i}.bin`, 1000 + i * 777) }));
  for (const f of files) {
    const r = await world.attempt(['put', f.file, `wolk://bob/dots/${f.key}`]);
    t.is(r.code, 0, `put ${f.key}: ${r.stderr}`);
  }
  for (const [i, f] of files.entries()) {
    const out = join(world.dir, `dots-out-${i}`);
    const r = await world.attempt(['get', `wolk://bob/dots/${f.key}`, out]);
    t.is(r.code, 0, `get ${f.key}: ${r.stderr}`);
    t.true(readFileSync(out).equals(f.bytes), `${f.key} gave its own bytes`);
  }
  const ls = JSON.parse((await world.wolk('ls', 'wolk://bob/dots/')).stdout) as { keys: { key: string }[] };
  t.deepEqual(ls.keys.map((k) => k.key).sort(), [...keys].sort());
});

test.serial('get into a missing directory: one line, exit 1, nothing written', async (t) => {
  const r = await world.attempt(['get', 'wolk://bob/docs/plain.bin', '/nonexistent-wolk-dir/x']);
  t.is(r.code, 1);
  t.is(r.stderr, 'wolk: cannot write /nonexistent-wolk-dir/x: the directory /nonexistent-wolk-dir does not exist\n');
});

test.serial('an upload not final yet exits 3 with its status URL; `wolk status` follows it to final', async (t) => {
  t.timeout(120_000);
  const { file } = writeRandom(t, 'async.bin', 5000);
  const r = await world.attempt(['put', '--async', file, 'wolk://bob/docs/async.bin']);
  t.is(r.code, 3, r.stderr);
  const res = JSON.parse(r.stdout) as { state: string; uploadId: string; statusUrl: string; size: number; uri: string };
  t.not(res.state, 'final');
  // An id is typed after `wolk status`: one starting with '-' would be read as an option (base64url ids did, 1 in 64).
  t.regex(res.uploadId, /^[0-9a-f]{24}$/);
  t.is(res.size, 5000);
  t.is(res.statusUrl, `${world.gateway}/status/uploads/${res.uploadId}`);
  t.true(r.stderr.includes(`wolk status ${res.uploadId}`), r.stderr);
  t.true(r.stderr.includes(res.statusUrl));
  const s = await world.attempt(['status', res.statusUrl, '--timeout', '60']);
  t.is(s.code, 0, s.stderr);
  const st = JSON.parse(s.stdout) as { state: string; uri: string; round?: string; size: number };
  t.is(st.state, 'final');
  t.is(st.uri, 'wolk://bob/docs/async.bin');
  t.regex(st.round ?? '', /^\d+$/);
  const unknown = await world.attempt(['status', 'nosuchupload']);
  t.is(unknown.code, 1);
  t.regex(unknown.stdout, /"status":404/);
});

test.serial('a synchronous put answered 202 (finality slower than the gateway waits) exits 3, not 0', async (t) => {
  t.timeout(120_000);
  const { file } = writeRandom(t, 'slow.bin', 7000);
  const env = { ...world.env, WOLK_GATEWAY: world.impatientGateway };
  const r = await world.attempt(['put', file, 'wolk://bob/docs/slow.bin'], { env });
  t.is(r.code, 3, r.stderr);
  const res = JSON.parse(r.stdout) as { state: string; uploadId: string; statusUrl: string };
  t.not(res.state, 'final');
  t.true(r.stderr.includes(res.statusUrl), r.stderr);
  // `wolk status` reports the gateway's state of that upload, and its exit code says whether it is final.
  // (This gateway does not go on following a synchronous upload it answered 202 for, so it may stay
  // `submitted`: the CLI then says so and exits 3 after its timeout.)
  const s = await world.attempt(['status', res.uploadId, '--timeout=2'], { env });
  t.regex(s.stdout, /^\{/, `exit ${s.code}, stderr: ${s.stderr}`);
  const st = JSON.parse(s.stdout) as { state: string; uri: string; uploadId: string };
  t.is(st.uri, 'wolk://bob/docs/slow.bin');
  t.is(st.uploadId, res.uploadId);
  t.is(s.code, st.state === 'final' ? 0 : 3, `${st.state}: ${s.stderr}`);
  if (st.state !== 'final') t.regex(s.stderr, new RegExp(`still not final after 2 s; ask again with \`wolk status ${res.uploadId}\``));
});

test.serial('from another directory, the devnet named by WOLK_DEVNET_DIR is found; without one, every fix is named', async (t) => {
  const elsewhere = mkdtempSync(join(tmpdir(), 'wolk-cwd-'));
  const devnet = join(elsewhere, 'net');
  mkdirSync(devnet);
  writeFileSync(join(devnet, 'endpoints.json'), JSON.stringify({ gateway: world.gateway }));
  const env = { ...world.env, WOLK_GATEWAY: '', WOLK_DEVNET_DIR: devnet };
  const ok = await world.attempt(['ls', 'wolk://bob/docs/'], { cwd: elsewhere, env });
  t.is(ok.code, 0, ok.stderr);
  t.true((JSON.parse(ok.stdout) as { keys: unknown[] }).keys.length >= 2);
  const none = await world.attempt(['ls', 'wolk://bob/docs/'], { cwd: elsewhere, env: { ...env, WOLK_DEVNET_DIR: join(elsewhere, 'none') } });
  t.is(none.code, 1);
  t.is(none.stderr.trim().split('\n').length, 1, 'one line');
  for (const name of ['WOLK_GATEWAY', 'WOLK_DEVNET_DIR', 'npm start']) t.true(none.stderr.includes(name), `names ${name}: ${none.stderr}`);
  t.deepEqual(readdirSync(elsewhere).sort(), ['net'], 'nothing written in the current directory');
});

test.serial('bad usage exits 2 with the reason', async (t) => {
  const size = await world.attempt(['mb', 'wolk://bob/docs/', '--chunk-size=16KB']);
  t.is(size.code, 2);
  t.regex(size.stderr, /--chunk-size: expected a size like 4096, 64KiB/);
  const unknown = await world.attempt(['ls', 'wolk://bob/docs/', '--colour']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /Unknown option '--colour'/);
});
