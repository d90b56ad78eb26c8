// The product as a user meets it, on the real devnet (13 processes): keygen, claim a name, upload a
// 10 MB file with the CLI, read it back byte-identical, verify its proof offline; with one storer down
// uploads still complete with N commitments from the others; with fewer than N storers alive the
// upload fails fast with 503 and nothing reaches the chain; a storer that the genesis does not list
// (funded by a genesis `accounts` balance) starts, registers itself on chain, and with it N storers are
// alive again: uploads complete with it among the committed storers, and read back byte-identical.
// 20 concurrent SDK puts from one key, and two `wolk put` processes at once, all become final (issue 24.1).
import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vrfKeyFromSeed } from '../../lib/crypto/vrf.js';
import { startDevnet, type Devnet } from '../helpers/devnet.js';
import { WolkClient } from '../../lib/client/client.js';
import { readKey } from '../../lib/client/keys.js';
import { devnetCli } from '../helpers/cli.js';
import { spawnService, waitForExit, waitForLog } from '../helpers/process.js';
import { freePort } from '../helpers/ports.js';
import { logSeedOnFailure, testRandom } from '../helpers/seed.js';

/** Test data and keys, seeded (test/helpers/seed.ts): the same on every run with the same WOLK_TEST_SEED. */
const seeded = testRandom('e2e/gateway-devnet.test.ts');
logSeedOnFailure(test);

let devnet: Devnet;
const work = mkdtempSync(join(tmpdir(), 'wolk-cli-'));
const genesisOf = () => ({ WOLK_GENESIS: join(devnet.dir, 'genesis.json') });
const cli = devnetCli(work, () => devnet.endpoints().gateway, 180_000, genesisOf);

// A storer outside the genesis, with a starting balance to lock its stake from.
const joinerDir = mkdtempSync(join(tmpdir(), 'wolk-joiner-'));
const joiner = seeded.provisionNodeKey(joinerDir);

test.before(async () => {
  devnet = await startDevnet(undefined, { WOLK_DEVNET_ACCOUNTS: `${joiner.id}=5000` });
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
  writeFileSync(file, seeded.bytes(10 * 1024 * 1024));
  const put = JSON.parse((await cli('put', file, 'wolk://alice/videos/bday.mp4')).stdout) as { filehash: string; storers: string[]; round: string };
  t.regex(put.filehash, /^[0-9a-f]{64}$/);
  t.is(new Set(put.storers).size, 3, 'N = 3 distinct storers committed');

  const out = join(work, 'bday.out');
  await cli('get', 'wolk://alice/videos/bday.mp4', out);
  t.true(readFileSync(out).equals(readFileSync(file)), 'the bytes read back are the bytes uploaded');

  const proof = await cli('proof', 'wolk://alice/videos/bday.mp4');
  t.regex(proof.stdout + proof.stderr, /verified offline/);
  t.regex(proof.stderr, /a cert quorum of the genesis committee/);
  t.is((JSON.parse(proof.stdout) as { quorum: boolean }).quorum, true, 'the cert votes reach the quorum of the genesis committee');
  // Against another network's committee (same ids, other VRF keys) the same certificate is no quorum.
  const genesis = JSON.parse(readFileSync(join(devnet.dir, 'genesis.json'), 'utf8')) as { nodes: { roles: string[]; vrfPublicKey: string }[] };
  for (const n of genesis.nodes) if (n.roles.includes('consensus')) n.vrfPublicKey = Buffer.from(vrfKeyFromSeed(seeded.bytes(32)).publicKey).toString('hex');
  const forged = join(work, 'other-genesis.json');
  writeFileSync(forged, JSON.stringify(genesis));
  const refused = await devnetCli(work, () => devnet.endpoints().gateway, 180_000, () => ({ WOLK_GENESIS: forged }))('proof', 'wolk://alice/videos/bday.mp4').then(
    () => null,
    (err: { code?: number; stderr?: string }) => err,
  );
  t.is(refused?.code, 1, 'a proof against another committee fails');
  t.regex(refused?.stderr ?? '', /NOT verified: not a cert quorum of the genesis committee/);

  const ls = await cli('ls', 'wolk://alice/videos/');
  t.regex(ls.stdout, /bday\.mp4/);
});

test.serial('20 concurrent SDK puts from one key all become final, and so do two `wolk put` processes at once', async (t) => {
  // Issue 24 item 1: they all read the same account nonce and all but one were refused (1 × 201, 4 × 503, 15 × 202).
  t.timeout(300_000);
  const key = readKey(join(work, 'key.json'));
  const client = new WolkClient(devnet.endpoints().gateway, key);
  const before = await client.nonce();
  const files = Array.from({ length: 20 }, (_, i) => {
    const f = join(work, `many-${i}.bin`);
    writeFileSync(f, seeded.bytes(4096 + i));
    return f;
  });
  const results = await Promise.allSettled(files.map((f, i) => client.put(f, `wolk://alice/many/k${i}`)));
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`k${i}: ${(r.reason as Error).message}`] : []));
  t.deepEqual(failed, [], 'every put answered');
  const states = results.map((r) => (r.status === 'fulfilled' ? r.value.state : 'error'));
  t.deepEqual(states, Array<string>(20).fill('final'), 'every put is final (201)');
  // The key's nonce moved by exactly 20: one transaction each, none lost, none twice.
  t.is((await client.nonce()) - before, 20n);
  const listed = await client.list('wolk://alice/many/');
  t.is(listed.keys.length, 20);

  // Two CLI processes, no shared state: both sign the same nonce, one is refused for it and signs again.
  const [a, b] = ['cli-a.bin', 'cli-b.bin'].map((n, i) => {
    const f = join(work, n);
    writeFileSync(f, seeded.bytes(8192 + i));
    return f;
  });
  const n0 = await client.nonce();
  const both = await Promise.allSettled([cli('put', a!, 'wolk://alice/many/cli-a'), cli('put', b!, 'wolk://alice/many/cli-b')]);
  for (const r of both) t.is(r.status, 'fulfilled', r.status === 'rejected' ? String((r.reason as { stderr?: string }).stderr ?? r.reason) : '');
  for (const r of both) if (r.status === 'fulfilled') t.is((JSON.parse(r.value.stdout) as { state: string }).state, 'final');
  t.is((await client.nonce()) - n0, 2n);
});

test.serial('one storer down: the upload still completes with N commitments from the others', async (t) => {
  t.timeout(300_000);
  const victim = devnet.processes().find((p) => p.name === 'storer-0')!;
  process.kill(victim.pid, 'SIGKILL');
  const file = join(work, 'second.bin');
  writeFileSync(file, seeded.bytes(256 * 1024));
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
  writeFileSync(file, seeded.bytes(64 * 1024));
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

test.serial('a storer registered after genesis: it registers itself, is weighed and solicited, and holds uploads', async (t) => {
  t.timeout(600_000);
  // Storers 0–3 are down (the tests above): 2 of the 6 genesis storers are alive, fewer than N = 3.
  const port = await freePort();
  const endpoint = `127.0.0.1:${port}`;
  const child = spawnService('storer', {
    WOLK_GENESIS: join(devnet.dir, 'genesis.json'),
    WOLK_DATA_DIR: joinerDir,
    WOLK_LISTEN: endpoint,
    WOLK_ADVERTISE: endpoint,
    WOLK_CONSENSUS: devnet.endpoints().consensus.join(','),
    WOLK_STAKE: '2000',
    WOLK_REPLICATION: '3',
    WOLK_LOG_LEVEL: 'info',
  });
  const exited = waitForExit(child, 600_000);
  t.teardown(async () => {
    child.kill('SIGTERM');
    const e = await exited.catch(() => undefined);
    if (e && e.code !== 0) t.log(`joiner stderr (tail):\n${e.stderr.split('\n').slice(-20).join('\n')}`);
  });
  const registered = await waitForLog(child, 'registered on chain as a storer', 180_000);
  t.is(registered['endpoint'], endpoint);
  t.is(registered['stake'], '2000');

  // Sortition may leave one of the three out of a given file's committee (each is selected with
  // probability 0.9–0.99 here): an upload that gets 503 is tried again on a later seed.
  const file = join(work, 'joined.bin');
  writeFileSync(file, seeded.bytes(128 * 1024));
  let put: { storers: string[] } | null = null;
  const failures: string[] = [];
  for (let attempt = 0; attempt < 6 && put === null; attempt++) {
    try {
      put = JSON.parse((await cli('put', file, 'wolk://alice/videos/joined.bin')).stdout) as { storers: string[] };
    } catch (err) {
      const e = err as { stdout: string; stderr: string };
      failures.push(`${e.stdout}${e.stderr}`.slice(-2000));
      if (!/503/.test(`${e.stdout}${e.stderr}`)) break;
      await new Promise((r) => setTimeout(r, 3000));
    }
  }
  t.truthy(put, `the upload completes with the joiner (failures: ${failures.join(' | ')})`);
  t.true(put!.storers.includes(joiner.id), `the joiner ${joiner.id.slice(0, 12)} is among the storers ${put!.storers.map((s) => s.slice(0, 12)).join(', ')}`);
  const out = join(work, 'joined.out');
  await cli('get', 'wolk://alice/videos/joined.bin', out);
  t.true(readFileSync(out).equals(readFileSync(file)));
});
