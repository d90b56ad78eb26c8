// Issue #7: the indexer is SIGKILLed mid-stream on the real devnet (13 processes) while writers keep
// putting keys through the gateway, stays down while more blocks with entries finalize, and is
// restarted on the same data directory with the environment the devnet gave it; it is SIGKILLed once
// more while it catches up, and restarted again. It must catch up to
// the consensus tip and list every key exactly once, each with the record the chain holds (txid and
// round from the gateway's proven ?proof answer, i.e. consensus GetStateProof checked against the
// header's state root).
import test from 'ava';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IndexerServiceClient, type ListKeysResponse } from '../../gen/wolk/indexer/v1/indexer.js';
import { WolkClient } from '../../lib/client/client.js';
import { keyFromSeed } from '../../lib/client/keys.js';
import { DEFAULT_SHAPE, environmentFor, planProcesses, type PortMap } from '../../scripts/devnet-plan.js';
import { startDevnet, type Devnet } from '../helpers/devnet.js';
import { pollUntil } from '../helpers/poll.js';
import { isAlive, spawnService, stopChild } from '../helpers/process.js';
import { logSeedOnFailure, testRandom } from '../helpers/seed.js';

/** Test data and keys, seeded (test/helpers/seed.ts): the same on every run with the same WOLK_TEST_SEED. */
const seeded = testRandom('e2e/indexer-restart.test.ts');
logSeedOnFailure(test);

const WRITERS = 3;
const COLLECTION = 'docs';

let devnet: Devnet | undefined;
let restarted: ChildProcess | undefined;

test.after.always(async () => {
  await stopChild(restarted);
  await devnet?.stop();
});

function listPage(client: IndexerServiceClient, owner: string, pageSize: number, pageToken: string): Promise<ListKeysResponse> {
  return new Promise((resolve, reject) =>
    client.listKeys({ owner, collection: COLLECTION, prefix: '', pageSize, pageToken }, new Metadata(), { deadline: Date.now() + 10_000 }, (err: ServiceError | null, res) => (err ? reject(err) : resolve(res))),
  );
}

/** Every key of the collection through small pages, and the smallest round among the pages. */
async function listAll(client: IndexerServiceClient, owner: string): Promise<{ keys: { key: string; txid: string; round: bigint }[]; round: bigint }> {
  const keys: { key: string; txid: string; round: bigint }[] = [];
  let token = '';
  let round: bigint | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await listPage(client, owner, 4, token);
    round = round === undefined || page.round < round ? page.round : round;
    for (const r of page.keys) keys.push({ key: r.key, txid: Buffer.from(r.txId).toString('hex'), round: r.round });
    token = page.nextPageToken;
    if (token === '') break;
  }
  return { keys, round: round ?? 0n };
}

interface Written {
  readonly owner: string;
  readonly key: string;
  readonly txid?: string;
  readonly round?: string;
  readonly file: string;
  /** Phase the put finished in: before the kill, while the indexer was down, after the restart. */
  readonly phase: 'before' | 'down' | 'after';
}

test.serial('indexer SIGKILLed mid-stream resumes on its data and lists every key exactly once', async (t) => {
  t.timeout(1_200_000);
  devnet = await startDevnet();
  const dn = devnet;
  const gateway = dn.endpoints().gateway;
  const indexerEndpoint = dn.endpoints().indexer[0]!;
  const indexer = new IndexerServiceClient(indexerEndpoint, credentials.createInsecure());
  const work = mkdtempSync(join(tmpdir(), 'wolk-indexer-restart-'));

  const suffix = seeded.hex(3);
  const writers = Array.from({ length: WRITERS }, (_, i) => ({ owner: `ix${i}-${suffix}`, client: new WolkClient(gateway, keyFromSeed(new Uint8Array(seeded.bytes(32)))) }));
  await Promise.all(writers.map((w) => w.client.claim(w.owner)));

  let phase: Written['phase'] = 'before';
  let stop = false;
  const written: Written[] = [];
  const failures: string[] = [];
  const loops = writers.map(async (w, wi) => {
    for (let n = 0; !stop; n++) {
      const key = `k-${String(n).padStart(4, '0')}`;
      const file = join(work, `${wi}-${n}.bin`);
      writeFileSync(file, seeded.bytes(seeded.int(1, 6000)));
      try {
        const r = await w.client.put(file, `wolk://${w.owner}/${COLLECTION}/${key}`);
        written.push({ owner: w.owner, key, file, ...(r.txid ? { txid: r.txid } : {}), ...(r.round ? { round: r.round } : {}), phase });
      } catch (err) {
        // Recorded; the chain (not this list) is the ground truth below.
        failures.push(`${w.owner}/${key}: ${(err as Error).message}`);
        written.push({ owner: w.owner, key, file, phase });
      }
    }
  });
  const finalIn = (p: Written['phase']) => written.filter((w) => w.phase === p && w.round !== undefined).length;

  // Mid-stream: the indexer has applied blocks with keys and keeps following new ones.
  await pollUntil(async () => {
    for (const w of writers) if ((await listPage(indexer, w.owner, 1, '')).keys.length === 0) return undefined;
    return true;
  }, { what: 'the indexer to list keys of every writer', deadlineMs: 600_000, intervalMs: 250 });
  await pollUntil(async () => (finalIn('before') >= WRITERS * 2 ? true : undefined), { what: 'more keys to finalize', deadlineMs: 600_000, intervalMs: 250 });
  const before = await listAll(indexer, writers[0]!.owner);
  const victim = dn.processes().find((p) => p.name === 'indexer-0')!;
  process.kill(victim.pid, 'SIGKILL');
  phase = 'down';
  await pollUntil(async () => (isAlive(victim.pid) ? undefined : true), { what: 'the indexer process to die', deadlineMs: 30_000, intervalMs: 250 });
  t.log(`indexer SIGKILLed at round ≥ ${before.round} with ${written.length} puts done`);

  // Blocks with entries keep finalizing while it is down.
  await pollUntil(async () => (finalIn('down') >= WRITERS * 2 ? true : undefined), { what: 'keys to finalize while the indexer is down', deadlineMs: 600_000, intervalMs: 250 });

  // Restart on the same data directory with the devnet's environment for it.
  const ports = JSON.parse(readFileSync(join(dn.dir, 'ports.json'), 'utf8')) as PortMap;
  const plan = planProcesses(dn.dir, DEFAULT_SHAPE, ports);
  const me = plan.find((p) => p.name === 'indexer-0')!;
  /** Starts the indexer; resolves with the cursor it logs on opening its read model. */
  const restart = async (): Promise<bigint> => {
    let log = '';
    restarted = spawnService('indexer', environmentFor(me, plan, join(dn.dir, 'genesis.json'), process.pid));
    restarted.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
    restarted.stdout!.resume();
    const opened = await pollUntil(async () => {
      const m = /"msg":"read model opened"[^\n]*"cursor":(\d+|null)/.exec(log);
      return m ? m[1]! : undefined;
    }, { what: 'the restarted indexer to log its cursor', deadlineMs: 300_000, intervalMs: 250 });
    t.not(opened, 'null', 'the restarted indexer resumes from its stored cursor, not from genesis');
    return BigInt(opened === 'null' ? -1 : opened);
  };
  const chainTip = async () => BigInt(((await (await fetch(new URL('/chain', gateway))).json()) as { finalizedRound: string }).finalizedRound);
  const opened = await restart();
  t.true(opened >= before.round, `resumes at ${opened}, at or after the round it had listed (${before.round})`);

  // Killed again while catching up: as soon as it has applied a block past its cursor.
  const caughtUpTo = await pollUntil(async () => {
    const r = (await listPage(indexer, writers[0]!.owner, 1, '')).round;
    return r > opened ? r : undefined;
  }, { what: 'the restarted indexer to apply blocks', deadlineMs: 300_000, intervalMs: 250 });
  const tipAtKill = await chainTip();
  const second = restarted!;
  const gone = new Promise((r) => second.once('exit', r));
  second.kill('SIGKILL');
  await gone;
  t.log(`restarted at ${opened}, SIGKILLed again at round ≥ ${caughtUpTo} (tip ${tipAtKill})`);
  phase = 'after';
  const reopened = await restart();
  t.true(reopened >= caughtUpTo, `resumes at ${reopened}, at or after the round it had applied (${caughtUpTo})`);

  await pollUntil(async () => (finalIn('after') >= WRITERS ? true : undefined), { what: 'keys to finalize after the restart', deadlineMs: 600_000, intervalMs: 250 });
  stop = true;
  await Promise.all(loops);

  // Ground truth: the chain's proven record of every key attempted.
  const truth = new Map<string, { txid: string; round: string }>();
  for (const w of written) {
    // A put answered 201 is final: if the consensus node asked lags, ask again until it has the block.
    const j = await pollUntil(async () => {
      const res = await fetch(new URL(`/wolk/${w.owner}/${COLLECTION}/${w.key}?proof`, gateway));
      if (res.status === 404 && w.round === undefined) return null;
      if (res.status !== 200) throw new Error(`${res.status}: ${await res.text()}`);
      return (await res.json()) as { record: { txid: string; round: string } };
    }, { what: `?proof of ${w.owner}/${w.key}`, deadlineMs: w.round !== undefined ? 120_000 : 0, intervalMs: 250, until: () => true }).catch((err: Error) => (t.fail(`${w.owner}/${w.key} (put answered ${JSON.stringify(w)}) is not readable on chain: ${err.message}`), null));
    if (j) truth.set(`${w.owner}/${w.key}`, { txid: j.record.txid, round: j.record.round });
  }
  for (const w of written) if (w.round !== undefined) t.deepEqual(truth.get(`${w.owner}/${w.key}`), { txid: w.txid, round: w.round }, `${w.owner}/${w.key} was answered 201 and is on chain as answered`);
  t.true(truth.size >= WRITERS * 5, `enough keys on chain (${truth.size})`);
  const tip = await chainTip();

  // The indexer catches up to (at least) the tip the writers left behind, then lists exactly the truth.
  await pollUntil(async () => ((await listPage(indexer, writers[0]!.owner, 1, '')).round >= tip ? true : undefined), { what: `the indexer to reach round ${tip}`, deadlineMs: 600_000, intervalMs: 250 });
  let listed = 0;
  for (const w of writers) {
    const { keys, round } = await listAll(indexer, w.owner);
    t.true(round >= tip, `listing of ${w.owner} is as of round ${round} ≥ tip ${tip}`);
    const names = keys.map((k) => k.key);
    t.is(new Set(names).size, names.length, `no key of ${w.owner} listed twice`);
    t.deepEqual(names, [...names].sort(), 'ascending order across pages');
    const expected = [...truth.keys()].filter((k) => k.startsWith(`${w.owner}/`)).map((k) => k.slice(w.owner.length + 1)).sort();
    t.deepEqual(names, expected, `${w.owner}: the indexer lists exactly the keys on chain`);
    for (const k of keys) {
      const want = truth.get(`${w.owner}/${k.key}`);
      t.deepEqual({ txid: k.txid, round: k.round.toString() }, want, `${w.owner}/${k.key}: the record the chain holds`);
    }
    listed += keys.length;

    // The gateway's listing goes through the indexer and pages the same keys.
    const viaGateway: string[] = [];
    let next: string | undefined;
    do {
      const res = await fetch(new URL(`/wolk/${w.owner}/${COLLECTION}/?limit=5${next ? `&page=${next}` : ''}`, gateway));
      t.is(res.status, 200);
      const j = (await res.json()) as { keys: { key: string }[]; next?: string; source: string };
      t.is(j.source, 'indexer');
      viaGateway.push(...j.keys.map((k) => k.key));
      next = j.next;
    } while (next);
    t.deepEqual(viaGateway, expected, `${w.owner}: the gateway lists what the indexer lists`);
  }

  // A GET, with the indexer ranking the storers, still returns the uploaded bytes.
  const sample = written.find((w) => w.phase === 'down' && truth.has(`${w.owner}/${w.key}`))!;
  const got = await fetch(new URL(`/wolk/${sample.owner}/${COLLECTION}/${sample.key}`, gateway));
  t.is(got.status, 200);
  t.true(Buffer.from(await got.arrayBuffer()).equals(readFileSync(sample.file)), 'GET returns the bytes put');
  const byPhase = (p: Written['phase']) => written.filter((w) => w.phase === p && truth.has(`${w.owner}/${w.key}`)).length;
  t.log(`${listed} keys listed once each (${byPhase('before')} before the kill, ${byPhase('down')} while down, ${byPhase('after')} after); tip ${tip}; ${failures.length} puts failed${failures.length ? `: ${failures.slice(0, 3).join(' | ')}` : ''}`);
  t.true(byPhase('down') >= WRITERS * 2, 'keys were written while the indexer was down');
  indexer.close();
});
