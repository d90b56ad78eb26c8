// The `wolk` CLI as a user runs it (bin/wolk.mjs, a real process) against a gateway backed by the
// contract stand-ins: keygen (0600, no overwrite), claim, put, get byte-identical, ls, proof.
import test from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createGatewayNode } from '../../../services/gateway/node.js';
import { startInProcess } from '../../helpers/service.js';
import { startFakeConsensus, startFakeStorer } from '../gateway/fakes.js';

const run = promisify(execFile);

test('keygen, claim, put, get, ls, proof through the CLI', async (t) => {
  t.timeout(120_000);
  const consensus = await startFakeConsensus();
  const storers = await Promise.all([1, 2, 3].map(() => startFakeStorer()));
  const gateway = await startInProcess('gateway', createGatewayNode, {
    WOLK_HTTP_LISTEN: '127.0.0.1:0',
    WOLK_CONSENSUS: consensus.endpoint,
    WOLK_STORERS: storers.map((s) => s.endpoint).join(','),
    WOLK_REPLICATION: '2',
  });
  const dir = mkdtempSync(join(tmpdir(), 'wolk-cli-'));
  const env = { ...process.env, WOLK_GATEWAY: gateway.endpoints['http']!, WOLK_KEY: join(dir, 'key.json') };
  const wolk = (...args: string[]) => run(process.execPath, ['bin/wolk.mjs', ...args], { env, maxBuffer: 1 << 26 });
  try {
    const kg = JSON.parse((await wolk('keygen')).stdout) as { owner: string; publicKey: string };
    t.regex(kg.publicKey, /^[0-9a-f]{64}$/);
    t.is(statSync(join(dir, 'key.json')).mode & 0o777, 0o600);
    await t.throwsAsync(wolk('keygen'), undefined, 'an existing key is never overwritten');
    await wolk('claim', 'bob');
    const file = join(dir, 'in.bin');
    const bytes = randomBytes(200_000);
    writeFileSync(file, bytes);
    const put = JSON.parse((await wolk('put', file, 'wolk://bob/docs/a/b.bin')).stdout) as { storers: string[]; size: number };
    t.is(put.size, bytes.length);
    t.is(put.storers.length, 2);
    await wolk('get', 'wolk://bob/docs/a/b.bin', join(dir, 'out.bin'));
    t.true(readFileSync(join(dir, 'out.bin')).equals(bytes));
    const ls = JSON.parse((await wolk('ls', 'wolk://bob/docs/')).stdout) as { keys: { key: string }[] };
    t.deepEqual(ls.keys.map((k) => k.key), ['a/b.bin']);
    // The stand-in consensus signs no certificates: the CLI says NOT verified and exits 1.
    const proof = await wolk('proof', 'wolk://bob/docs/a/b.bin').catch((e: { code: number; stdout: string; stderr: string }) => e);
    t.regex((proof as { stderr: string }).stderr, /NOT verified/);
    const err = await wolk('get', 'wolk://bob/docs/missing').catch((e: { code: number; stdout: string }) => e);
    t.is((err as { code: number }).code, 1);
    t.regex((err as { stdout: string }).stdout, /"status":404/);
  } finally {
    await gateway.close();
    await Promise.all(storers.map((s) => s.close()));
    await consensus.close();
  }
});
