// The repairer's lost list (services/rewards/lost-store.ts, docs/repair.md §7) on a real RocksDB: an
// upsert keeps first_seen and moves last_seen and the evidence; a repaired object is cleared; chunk
// sets list in round order before files, by path, across pages; bad page sizes and tokens are refused;
// the list survives a reopen. RewardsService.ListLost answers from it, INVALID_ARGUMENT for a bad page
// and FAILED_PRECONDITION on a node whose repairer is off (the handler, and a node over gRPC).
import test from 'ava';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RewardsServiceClient, type ListLostResponse, type LostObject } from '../../../gen/wolk/rewards/v1/rewards.js';
import type { CallContext } from '../../../lib/grpc/handlers.js';
import { WolkError } from '../../../lib/grpc/errors.js';
import type { KvStore } from '../../../lib/storage/kv.js';
import { openRocksKv } from '../../../lib/storage/rocksdb.js';
import { chunkSetLabel, kvLostStore, lostChanges, lostLabel, LostQueryError, type LostFinding, type LostStore } from '../../../services/rewards/lost-store.js';
import type { ScanReport } from '../../../services/rewards/repairer.js';
import { createRewardsNode } from '../../../services/rewards/node.js';
import { REPAIRER_OFF, rewardsHandlers } from '../../../services/rewards/server.js';
import { startInProcess } from '../../helpers/service.js';
import { logSeedOnFailure, testRandom, type TestRandom } from '../../helpers/seed.js';

logSeedOnFailure(test);

async function withDb(t: { teardown(f: () => unknown): void }): Promise<{ dir: string; kv: KvStore }> {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-lost-'));
  const kv = await openRocksKv(join(dir, 'db'));
  t.teardown(async () => {
    await kv.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, kv };
}

const evidenceOf = (rnd: TestRandom, standing: string, source: string) => [
  { storerId: rnd.bytes(32), standing, source },
  { storerId: rnd.bytes(32), standing: 'deregistered', source: 'not asked (no endpoint)' },
];
const lostFile = (rnd: TestRandom, path = `wolk://${rnd.hex(8)}/photos/${rnd.hex(6)}`): LostFinding => ({
  path,
  chunkSetRound: 0n,
  hash: rnd.bytes(32),
  evidence: evidenceOf(rnd, 'low reputation', `could not serve the file to 1 storer(s)`),
});
const lostSet = (rnd: TestRandom, round: bigint): LostFinding => ({ path: '', chunkSetRound: round, hash: rnd.bytes(32), evidence: evidenceOf(rnd, 'low reputation', 'served 0 of 3 chunks') });

/** Every page in turn; a page longer than asked for throws. */
async function listAll(store: LostStore, pageSize: number): Promise<{ objects: LostObject[]; pages: number }> {
  const objects: LostObject[] = [];
  let token = '';
  let pages = 0;
  do {
    const page = await store.list(pageSize, token);
    if (page.objects.length > pageSize) throw new Error(`a page of ${page.objects.length} objects, asked for ${pageSize}`);
    objects.push(...page.objects);
    token = page.next;
    pages++;
  } while (token !== '');
  return { objects, pages };
}

test('record: a new entry has first = last seen; again: first_seen kept, last_seen and evidence updated', async (t) => {
  const rnd = testRandom('lost-store:upsert');
  const { kv } = await withDb(t);
  const store = kvLostStore(kv);
  const file = lostFile(rnd);
  const set = lostSet(rnd, BigInt(rnd.int(1, 1_000_000)));
  const t0 = 1_700_000_000_000 + rnd.int(0, 1_000_000);
  await store.record([file, set], t0);
  let { objects } = await store.list(0, '');
  t.is(objects.length, 2);
  for (const o of objects) {
    t.is(o.firstSeenMs, BigInt(t0));
    t.is(o.lastSeenMs, BigInt(t0));
  }
  const [gotSet, gotFile] = objects;
  t.is(gotSet!.chunkSetRound, set.chunkSetRound);
  t.is(gotSet!.path, '');
  t.deepEqual(Buffer.from(gotSet!.hash), Buffer.from(set.hash));
  t.is(gotFile!.path, file.path);
  t.is(gotFile!.chunkSetRound, 0n);
  t.deepEqual(gotFile!.evidence.map((e) => Buffer.from(e.storerId).toString('hex')), file.evidence.map((e) => Buffer.from(e.storerId).toString('hex')));

  // A later scan finds the file lost again with other evidence.
  const again: LostFinding = { ...file, evidence: [{ storerId: rnd.bytes(32), standing: 'deregistered', source: 'could not serve the file to 2 storer(s)' }] };
  const t1 = t0 + rnd.int(1000, 60_000);
  await store.record([again], t1);
  ({ objects } = await store.list(0, ''));
  const f = objects.find((o) => o.path === file.path)!;
  t.is(f.firstSeenMs, BigInt(t0), 'first seen kept');
  t.is(f.lastSeenMs, BigInt(t1), 'last seen moved');
  t.is(f.evidence.length, 1);
  t.deepEqual(Buffer.from(f.evidence[0]!.storerId), Buffer.from(again.evidence[0]!.storerId));
  t.is(f.evidence[0]!.source, 'could not serve the file to 2 storer(s)');
  const s = objects.find((o) => o.chunkSetRound === set.chunkSetRound)!;
  t.is(s.lastSeenMs, BigInt(t0), 'the set not found again keeps its last seen');
});

test('clear removes the repaired entries only; clearing an absent label is harmless', async (t) => {
  const rnd = testRandom('lost-store:clear');
  const { kv } = await withDb(t);
  const store = kvLostStore(kv);
  const files = [lostFile(rnd), lostFile(rnd), lostFile(rnd)];
  const sets = [lostSet(rnd, 7n), lostSet(rnd, 9n)];
  await store.record([...files, ...sets], 1000);
  await store.clear([files[1]!.path, chunkSetLabel(7n), chunkSetLabel(8n), `wolk://${rnd.hex(4)}/never/lost`]);
  const { objects } = await store.list(0, '');
  t.deepEqual(
    objects.map((o) => lostLabel(o)),
    [chunkSetLabel(9n), files[0]!.path, files[2]!.path].sort(),
  );
});

test('list: chunk sets by round, then files by path, across pages; the same after a reopen', async (t) => {
  const rnd = testRandom('lost-store:paging');
  const { dir, kv } = await withDb(t);
  const store = kvLostStore(kv);
  const rounds = new Set<bigint>([1n, 10n, 2n ** 64n - 1n]);
  while (rounds.size < 12) rounds.add(BigInt(rnd.int(1, 2_000_000_000)));
  const paths = new Set<string>();
  while (paths.size < 25) paths.add(`wolk://${rnd.hex(4)}/c${rnd.int(0, 3)}/${rnd.hex(rnd.int(1, 12))}`);
  // Recorded in two calls, in no particular order.
  const all = [...[...rounds].map((r) => lostSet(rnd, r)), ...[...paths].map((p) => lostFile(rnd, p))].sort(() => (rnd.int(0, 1) === 0 ? -1 : 1));
  await store.record(all.slice(0, 17), 5);
  await store.record(all.slice(17), 6);
  const expected = [...[...rounds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((r) => chunkSetLabel(r)), ...[...paths].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))];
  for (const size of [1, 7, 37, 100, 1000]) {
    const { objects, pages } = await listAll(store, size);
    t.deepEqual(objects.map((o) => lostLabel(o)), expected, `page size ${size}`);
    t.is(pages, Math.max(1, Math.ceil(expected.length / size)), `page size ${size}`);
  }
  t.deepEqual(
    (await listAll(store, 7)).objects.filter((o) => o.chunkSetRound > 0n).map((o) => o.chunkSetRound),
    [...rounds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    'sets in round order, whatever their number of digits',
  );
  // A page token still works after its entry was cleared.
  const first = await store.list(5, '');
  await store.clear([lostLabel(first.objects[4]!)]);
  const second = await store.list(5, first.next);
  t.is(lostLabel(second.objects[0]!), expected[5]);

  await kv.close();
  const reopened = kvLostStore(await openRocksKv(join(dir, 'db')).then((k) => (t.teardown(() => k.close()), k)));
  t.deepEqual((await listAll(reopened, 10)).objects.map((o) => lostLabel(o)), expected.filter((l) => l !== expected[4]));
});

test('list refuses a page size out of 0-1000 and a token this store did not issue', async (t) => {
  const rnd = testRandom('lost-store:refused');
  const { kv } = await withDb(t);
  const store = kvLostStore(kv);
  await store.record([lostFile(rnd), lostFile(rnd), lostSet(rnd, 3n)], 1);
  for (const size of [1001, 2 ** 32 - 1, -1, 1.5]) {
    const err = await t.throwsAsync(store.list(size, ''), { instanceOf: LostQueryError });
    t.true(err instanceof RangeError);
    t.regex(err!.message, /page_size must be 1 to 1000 \(0 = 100\), got/);
  }
  const good = (await store.list(1, '')).next;
  t.not(good, '');
  const labelToken = (s: string) => Buffer.from(s).toString('base64url');
  for (const bad of ['not base64!', `${good}=`, labelToken('chunk-set:12'), labelToken('wolk://'), labelToken('http://x/y/z'), Buffer.from([0xff, 0xfe]).toString('base64url'), `${labelToken(rnd.hex(5))}`]) {
    await t.throwsAsync(store.list(10, bad), { instanceOf: LostQueryError, message: 'page_token is not one this node issued' }, bad);
  }
});

test('lostChanges: a scan report → findings (hex to bytes) and the labels it repaired', (t) => {
  const rnd = testRandom('lost-store:changes');
  const storer = rnd.hex(32);
  const filehash = rnd.hex(32);
  const setHash = rnd.hex(32);
  const report: ScanReport = {
    round: 40,
    repaired: [{ path: 'wolk://a/b/repaired', txId: rnd.hex(32), replaced: 1, liveBefore: 2 }],
    lost: [{ path: 'wolk://a/b/gone', filehash, evidence: [{ storer, standing: 'deregistered', source: 'not asked (no endpoint)' }] }],
    deferred: [{ path: 'wolk://a/b/later', reason: 'no storer selected' }],
    chunkSets: {
      repaired: [{ round: '12', txId: rnd.hex(32), replaced: 1, liveBefore: 1 }],
      lost: [{ round: '31', newChunksHash: setHash, evidence: [{ storer, standing: 'low reputation', source: 'served 0 of 4 chunks' }] }],
      deferred: [],
    },
  };
  const { record, clear } = lostChanges(report);
  t.deepEqual(clear, ['wolk://a/b/repaired', chunkSetLabel(12n)]);
  t.is(record.length, 2);
  t.is(record[0]!.path, 'wolk://a/b/gone');
  t.is(record[0]!.chunkSetRound, 0n);
  t.is(Buffer.from(record[0]!.hash).toString('hex'), filehash);
  t.is(Buffer.from(record[0]!.evidence[0]!.storerId).toString('hex'), storer);
  t.is(record[0]!.evidence[0]!.standing, 'deregistered');
  t.is(record[1]!.path, '');
  t.is(record[1]!.chunkSetRound, 31n);
  t.is(Buffer.from(record[1]!.hash).toString('hex'), setHash);
  t.is(record[1]!.evidence[0]!.source, 'served 0 of 4 chunks');
});

const ctx: CallContext = { signal: new AbortController().signal, metadata: undefined as never, peer: 'test', method: 'ListLost' };

test('ListLost handler: pages from the store; a bad page is INVALID_ARGUMENT; no store is FAILED_PRECONDITION', async (t) => {
  const rnd = testRandom('lost-store:server');
  const { kv } = await withDb(t);
  const store = kvLostStore(kv);
  const files = [lostFile(rnd), lostFile(rnd), lostFile(rnd)];
  await store.record([...files, lostSet(rnd, 44n)], 2000);
  const handlers = rewardsHandlers(null, 'no network', store);
  const listLost = handlers.listLost!;
  const first: ListLostResponse = await listLost({ pageSize: 2, pageToken: '' }, ctx);
  t.is(first.objects.length, 2);
  t.is(first.objects[0]!.chunkSetRound, 44n);
  t.not(first.nextPageToken, '');
  const second = await listLost({ pageSize: 2, pageToken: first.nextPageToken }, ctx);
  t.is(second.nextPageToken, '');
  t.deepEqual([...first.objects, ...second.objects].slice(1).map((o) => o.path), files.map((f) => f.path).sort());

  for (const req of [{ pageSize: 1001, pageToken: '' }, { pageSize: 10, pageToken: '%%' }]) {
    const err = await t.throwsAsync(listLost(req, ctx), { instanceOf: WolkError });
    t.is(err!.code, 'INVALID_ARGUMENT', err!.message);
  }

  const off = rewardsHandlers(null, 'no network').listLost!;
  const err = await t.throwsAsync(off({ pageSize: 0, pageToken: '' }, ctx), { instanceOf: WolkError });
  t.is(err!.code, 'FAILED_PRECONDITION');
  t.is(err!.message, REPAIRER_OFF);
  t.regex(err!.message, /WOLK_INDEXER/);
  t.regex(err!.message, /WOLK_REPAIR_INTERVAL_MS/);
});

test('ListLost over gRPC on a rewards node without a repairer: FAILED_PRECONDITION naming the variables', async (t) => {
  const node = await startInProcess('rewards', createRewardsNode);
  const client = new RewardsServiceClient(node.endpoints['grpc']!, credentials.createInsecure());
  t.teardown(async () => {
    client.close();
    await node.close();
  });
  const err = await new Promise<ServiceError | null>((resolve) => client.listLost({ pageSize: 0, pageToken: '' }, new Metadata(), { deadline: Date.now() + 20_000 }, (e) => resolve(e)));
  t.is(err?.code, status.FAILED_PRECONDITION, err?.details);
  t.is(err?.details, REPAIRER_OFF);
});
