// The gateway on the real devnet (13 processes) with three of the six storers corrupting every byte
// range they serve (WOLK_FAULTS=corrupt-reads) and every process writing its spans to a file:
//   - refused PUTs (unsigned, wrongly signed, replayed, foreign owner, digest or filehash mismatch,
//     oversized by Content-Length and by a streamed body) get 401/401/409/403/422/413, and nothing is
//     stored on any storer nor submitted to the chain; the same request made right then succeeds;
//   - a GET whose first storer serves corrupted chunks still returns the uploaded bytes;
//   - one OpenTelemetry trace covers a whole PUT: the gateway, each committed storer's Solicit, and
//     consensus SubmitTx, linked parent to child across the processes;
//   - a collection made through the gateway (PUT /wolk/OWNER/COLL/, `wolk mb`) decides N, the chunk size and the size limit.
import test from 'ava';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WolkClient } from '../../lib/client/client.js';
import { keyFromSeed } from '../../lib/client/keys.js';
import { mkdirp } from '../../lib/fs/mkdirp.js';
import { startDevnet, type Devnet } from '../helpers/devnet.js';
import { pollUntil } from '../helpers/poll.js';
import { chainOf, devnetStorers, nonceOf, preparePut, send, storerBytes, storersHolding, waitRounds, type Answer, type PutSpec } from './gateway-requests.js';
import { logSeedOnFailure, testRandom } from '../helpers/seed.js';

/** Test data and keys, seeded (test/helpers/seed.ts): the same on every run with the same WOLK_TEST_SEED. */
const seeded = testRandom('e2e/gateway-faults.test.ts');
logSeedOnFailure(test);

/** The storers made to corrupt their reads: the three with the lowest ids (see test.before). */
let CORRUPT: string[] = [];
const MAX_FILE = 8 * 1024 * 1024;
let devnet: Devnet;
let gateway: string;
let traceDir: string;
const alice = keyFromSeed(seeded.bytes(32));
const mallory = keyFromSeed(seeded.bytes(32));
const work = mkdtempSync(join(tmpdir(), 'wolk-gw-faults-'));

test.before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-devnet-'));
  traceDir = join(dir, 'trace');
  // Node keys are provisioned (seeded) before the devnet starts (it loads them), so the corrupting storers can be the
  // three with the lowest ids: among storers of equal reputation a GET asks the lowest id first, so a
  // file with a corrupting storer is likely to be read from it first (the test checks that it was).
  const ids = [0, 1, 2, 3, 4, 5].map((i) => {
    const dataDir = join(dir, `storer-${i}`);
    mkdirp(dataDir);
    return { name: `storer-${i}`, id: seeded.provisionNodeKey(dataDir).id };
  });
  CORRUPT = ids.sort((a, b) => a.id.localeCompare(b.id)).slice(0, 3).map((x) => x.name);
  devnet = await startDevnet(dir, {
    WOLK_DEVNET_FAULTS: CORRUPT.map((n) => `${n}:corrupt-reads`).join(','),
    WOLK_DEVNET_TRACE_DIR: traceDir,
    WOLK_MAX_FILE_BYTES: String(MAX_FILE),
  });
  gateway = devnet.endpoints().gateway;
  await new WolkClient(gateway, alice).claim('alice');
});

test.after.always(async () => {
  await devnet?.stop();
});

const problemOf = (a: Answer) => {
  try {
    return a.json();
  } catch {
    return { raw: a.body.toString('utf8') };
  }
};

test.serial('refused PUTs get 401/401/409/403/422/413, and nothing is stored or submitted', async (t) => {
  t.timeout(600_000);
  const { chainId, chunkSize } = await chainOf(gateway);
  const aliceNonce = await nonceOf(gateway, alice);
  const malloryNonce = await nonceOf(gateway, mallory);
  const storers = devnet.endpoints().storer;
  const spec = (name: string, extra: Partial<PutSpec> = {}): PutSpec => ({
    path: `/wolk/alice/refused/${name}`,
    body: seeded.bytes(300_000),
    key: alice,
    nonce: aliceNonce,
    chainId,
    chunkSize,
    ...extra,
  });
  const refusals: { name: string; path: string; filehash: string; answer: Answer; want: number }[] = [];
  const put = async (name: string, s: PutSpec, want: number, body: Buffer | AsyncIterable<Buffer> = s.body) => {
    const p = preparePut(s);
    const answer = await send(gateway, 'PUT', p.path, p.headers, body);
    refusals.push({ name, path: p.path, filehash: p.filehash, answer, want });
    t.is(answer.status, want, `${name}: ${JSON.stringify(problemOf(answer))}`);
    t.is(answer.headers['content-type'], 'application/problem+json', `${name} answers problem+json`);
    return answer;
  };

  const unsigned = await put('unsigned', spec('unsigned', { unsigned: true }), 401);
  t.is(unsigned.headers['www-authenticate'], 'Signature');
  await put('signed with another key than its keyid', spec('wrong-sig', { requestSecretKey: mallory.secretKey }), 401);
  await put('foreign owner', spec('foreign', { key: mallory, nonce: malloryNonce }), 403);
  await put('body does not match Content-Digest', spec('digest', { digestOf: seeded.bytes(300_000) }), 422);
  const other = seeded.bytes(300_000);
  const mismatch = spec('filehash');
  // The SetKey names `mismatch.body`, but `other` is sent (and signed for): the Content-Digest holds.
  const spoiled = preparePut({ ...mismatch, body: mismatch.body });
  const signedOther = preparePut({ ...mismatch, body: other });
  const fileMismatch = await send(gateway, 'PUT', spoiled.path, { ...signedOther.headers, 'wolk-transaction': spoiled.headers['wolk-transaction']! }, other);
  refusals.push({ name: 'filehash mismatch', path: spoiled.path, filehash: spoiled.filehash, answer: fileMismatch, want: 422 });
  t.is(fileMismatch.status, 422, JSON.stringify(problemOf(fileMismatch)));
  t.is(problemOf(fileMismatch)['type'], '/problems/filehash-mismatch');

  const big = seeded.bytes(MAX_FILE + 1);
  const tooLong = await put('Content-Length over the limit', spec('too-long', { body: big }), 413);
  t.is(problemOf(tooLong)['maxBytes'], MAX_FILE);
  // A chunked body (no Content-Length) whose SetKey claims 1 MiB but which keeps streaming past the limit.
  const small = seeded.bytes(1024 * 1024);
  async function* endless(): AsyncIterable<Buffer> {
    for (let sent = 0; sent < MAX_FILE * 2; sent += small.length) yield small;
  }
  await put('streamed body over the limit', spec('streamed', { body: small }), 413, endless());

  // Nothing reached the chain: after a few more blocks the keys are absent and no nonce moved.
  await waitRounds(gateway, 3);
  for (const r of refusals) {
    const res = await fetch(new URL(r.path, gateway));
    t.is(res.status, 404, `${r.name}: ${r.path} is not on chain`);
  }
  t.is(await nonceOf(gateway, alice), aliceNonce, "alice's nonce did not move: none of her refused SetKeys was submitted");
  t.is(await nonceOf(gateway, mallory), malloryNonce, "mallory's nonce did not move");
  // Nothing was stored: no storer holds any refused body, and the gateway's spool is empty.
  for (const r of refusals) t.deepEqual(await storersHolding(storers, r.filehash), [], `${r.name}: no storer holds ${r.filehash}`);
  const spool = join(devnet.dir, 'gateway-0', 'spool');
  t.deepEqual(existsSync(spool) ? readdirSync(spool) : [], [], 'no spool file is left behind');

  // The same request made right, with the same nonce, goes through: each refusal was for its one defect.
  const good = spec('good');
  const ok = preparePut(good);
  const accepted = await send(gateway, 'PUT', ok.path, ok.headers, good.body);
  t.is(accepted.status, 201, JSON.stringify(problemOf(accepted)));
  const txid = accepted.json()['txid'] as string;
  t.is((accepted.json()['storers'] as string[]).length, 3);
  t.is((await storersHolding(storers, ok.filehash)).length >= 3, true, 'N storers hold the accepted file');

  // Replaying that exact request (same signature, same nonce) is refused and changes nothing.
  const replay = await send(gateway, 'PUT', ok.path, ok.headers, good.body);
  t.is(replay.status, 409, JSON.stringify(problemOf(replay)));
  t.is(problemOf(replay)['type'], '/problems/replayed-nonce');
  await waitRounds(gateway, 2);
  const proof = (await (await fetch(new URL(`${ok.path}?proof`, gateway))).json()) as { record: { txid: string } };
  t.is(proof.record.txid, txid, 'the key still holds the first SetKey');
  t.is(await nonceOf(gateway, alice), aliceNonce + 1n, 'exactly one SetKey of alice went on chain');
});

test.serial('GET: a storer serving corrupted chunks is passed over and the client gets the uploaded bytes', async (t) => {
  t.timeout(900_000);
  const client = new WolkClient(gateway, alice);
  const storers = devnetStorers(devnet.dir);
  const nameOf = (id: string) => storers.find((s) => s.id === id)?.name ?? id;
  const gatewayLog = join(devnet.dir, 'logs', 'gateway-0.log');
  const drops = () => readFileSync(gatewayLog, 'utf8').split('\n').filter((l) => l.includes('storer dropped during a read'));
  // Uploads until a GET is seen passing over a corrupting storer: each upload's storers are whoever
  // self-selected first, so it may take a few. Every GET must give the uploaded bytes regardless.
  let passedOver: { name: string; endpoint: string; filehash: string; bytes: Buffer } | undefined;
  let allCorrupt: string | undefined;
  for (let i = 0; i < 12 && !passedOver; i++) {
    const bytes = seeded.bytes(3 * 1024 * 1024 + 777);
    const file = join(work, `f${i}.bin`);
    writeFileSync(file, bytes);
    const path = `/wolk/alice/corrupt/f${i}.bin`;
    const put = await client.put(file, `wolk:/${path.slice('/wolk'.length)}`);
    const names = put.storers!.map(nameOf);
    const corrupt = names.filter((n) => CORRUPT.includes(n));
    t.log(`upload ${i}: storers ${names.join(', ')} (corrupting: ${corrupt.join(', ') || 'none'})`);
    if (corrupt.length === names.length) {
      allCorrupt ??= path;
      continue;
    }
    if (corrupt.length === 0) continue;
    const before = drops().length;
    const res = await fetch(new URL(path, gateway));
    t.is(res.status, 200);
    const got = Buffer.from(await res.arrayBuffer());
    t.true(got.equals(bytes), `upload ${i}: the GET returns exactly the uploaded bytes`);
    const ranged = await fetch(new URL(path, gateway), { headers: { range: 'bytes=1000000-2500000' } });
    t.is(ranged.status, 206);
    t.true(Buffer.from(await ranged.arrayBuffer()).equals(bytes.subarray(1_000_000, 2_500_001)), `upload ${i}: a range is right too`);
    const dropped = drops().slice(before);
    const hit = storers.find((s) => corrupt.includes(s.name) && dropped.some((l) => l.includes(s.endpoint)));
    if (hit) passedOver = { name: hit.name, endpoint: hit.endpoint, filehash: put.filehash, bytes };
  }
  if (!passedOver) return t.fail('no GET was served by a corrupting storer first in 12 uploads');
  t.log(`the gateway dropped ${passedOver.name} mid-read and finished from another storer`);

  // The fault is real: that storer sends other bytes than were uploaded.
  const served = await storerBytes(passedOver.endpoint, passedOver.filehash, 0, 64 * 1024);
  t.false(served.equals(passedOver.bytes.subarray(0, 64 * 1024)), `${passedOver.name} serves corrupted bytes`);

  // A file whose storers all corrupt (if one came up) is refused, never served wrong.
  if (allCorrupt) {
    const bad = await fetch(new URL(allCorrupt, gateway));
    t.is(bad.status, 502, 'every storer of this file corrupts: 502, no wrong bytes');
  }
});

interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  service: string;
  attributes: Record<string, unknown>;
  file: string;
}

function readSpans(dir: string): Span[] {
  const spans: Span[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.jsonl')) continue;
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (line.trim()) spans.push({ ...(JSON.parse(line) as Span), file: f.replace(/\.jsonl$/, '') });
    }
  }
  return spans;
}

const SERVER = 1;
const CLIENT = 2;

test.serial('one trace spans a whole PUT: gateway, each storer Solicit, consensus SubmitTx', async (t) => {
  t.timeout(600_000);
  const client = new WolkClient(gateway, alice);
  const file = join(work, 'traced.bin');
  writeFileSync(file, seeded.bytes(2 * 1024 * 1024));
  const put = await client.put(file, 'wolk://alice/traced/one.bin');
  const storers = devnetStorers(devnet.dir);
  const committed = put.storers!.map((id) => storers.find((s) => s.id === id)!.name);

  // Spans are written when they end; the HTTP span may end just after the client has its answer.
  const isPut = (s: Span) => s.file === 'gateway-0' && s.kind === SERVER && s.name === 'PUT' && s.attributes['url.path'] === '/wolk/alice/traced/one.bin';
  const spans = await pollUntil(() => readSpans(traceDir), {
    what: 'the HTTP server span of the PUT in the gateway',
    deadlineMs: 60_000,
    intervalMs: 500,
    until: (ss) => ss.some(isPut),
    describe: (ss) => `${ss.length} spans, ${ss.filter((s) => s.file === 'gateway-0' && s.kind === SERVER).length} gateway server spans`,
  });
  const root = spans.find(isPut)!;
  t.is(root.attributes['http.response.status_code'], 201);
  const trace = spans.filter((s) => s.traceId === root!.traceId);
  const byId = new Map(trace.map((s) => [s.spanId, s]));
  const isUnder = (s: Span, ancestor: Span): boolean => {
    for (let p = s.parentSpanId; p; p = byId.get(p)?.parentSpanId) if (p === ancestor.spanId) return true;
    return false;
  };

  // Gateway → each committed storer: a Solicit client span in the gateway, its server span in the storer.
  for (const phase of ['wolk.gateway.spool', 'wolk.gateway.solicit', 'wolk.gateway.finality']) {
    const span = trace.find((s) => s.file === 'gateway-0' && s.name === phase);
    t.is(span?.parentSpanId, root.spanId, `the gateway records ${phase} under the PUT`);
  }
  const solicit = trace.find((s) => s.file === 'gateway-0' && s.name === 'wolk.gateway.solicit');
  t.is(solicit?.attributes['wolk.filehash'], put.filehash);
  for (const name of committed) {
    const server = trace.find((s) => s.file === name && s.kind === SERVER && s.name.endsWith('StorerService/Solicit'));
    t.truthy(server, `${name} recorded its Solicit in the PUT's trace`);
    if (!server) continue;
    const parent = byId.get(server.parentSpanId ?? '');
    t.is(parent?.file, 'gateway-0', `${name}'s Solicit is a child of a gateway span`);
    t.is(parent?.kind, CLIENT);
    t.true(isUnder(server, root), `${name}'s Solicit descends from the PUT`);
    // The storer fetched the upload back from the gateway within the same trace.
    const fetched = trace.find((s) => s.file === 'gateway-0' && s.kind === SERVER && s.name.endsWith('StorerService/GetFile') && isUnder(s, server));
    t.truthy(fetched, `${name}'s fetch of the file is served by the gateway under its Solicit`);
  }
  const storerSolicits = new Set(trace.filter((s) => s.file.startsWith('storer-') && s.kind === SERVER && s.name.endsWith('/Solicit')).map((s) => s.file));
  t.true(storerSolicits.size >= 3, `at least N storers took part (${[...storerSolicits].join(', ')})`);

  // Gateway → consensus: SubmitTx client span under the PUT, its server span in a consensus process.
  const submitServer = trace.find((s) => s.file.startsWith('consensus-') && s.kind === SERVER && s.name.endsWith('ConsensusService/SubmitTx') && byId.get(s.parentSpanId ?? '')?.file === 'gateway-0');
  t.truthy(submitServer, 'a consensus node recorded the SubmitTx in the PUT trace');
  if (submitServer) {
    t.is(byId.get(submitServer.parentSpanId!)?.kind, CLIENT);
    t.true(isUnder(submitServer, root), 'the SubmitTx descends from the PUT');
    t.is(submitServer.attributes['rpc.grpc.status_code'], 0, 'and it was accepted');
  }
});

test.serial("a collection's settings on chain (SetBucket): N, chunk size and size limit are the bucket's", async (t) => {
  t.timeout(600_000);
  const { chainId } = await chainOf(gateway);
  const client = new WolkClient(gateway, alice);
  t.like(await client.bucket('wolk://alice/wide/'), { replication: 3, chunkSize: 4096, onChain: false }, 'no SetBucket yet: the network defaults');
  // Only the owner makes collections under its name: mallory's signed SetBucket of alice/… is 403.
  const mallory = keyFromSeed(seeded.bytes(32));
  const foreign = await new WolkClient(gateway, mallory).makeBucket('wolk://alice/wide/', { replication: 4 }).catch((e: unknown) => e as { status?: number });
  t.is((foreign as { status?: number }).status, 403);
  // Through the gateway, as the CLI's `wolk mb` does: 201 once final, with the settings it now has.
  const made = await client.makeBucket('wolk://alice/wide/', { replication: 4, chunkSize: 8192, maxFileSize: 2n * 1024n * 1024n });
  t.like(made, { owner: 'alice', collection: 'wide', replication: 4, chunkSize: 8192, maxFileSize: 2 * 1024 * 1024, onChain: true });
  t.like(await client.bucket('wolk://alice/wide/'), { replication: 4, chunkSize: 8192, onChain: true });
  t.like(await client.makeBucket('wolk://alice/wide/', { replication: 4, chunkSize: 8192, maxFileSize: 2n * 1024n * 1024n }), { replication: 4 }, 'the same settings again: 200, nothing submitted');
  const change = await client.makeBucket('wolk://alice/wide/', { replication: 4, chunkSize: 16384 }).catch((e: unknown) => e as { status?: number; problem?: Record<string, unknown> });
  t.is((change as { status?: number }).status, 409, 'the chunk size of a collection never changes');
  const nonce = await nonceOf(gateway, alice);

  // The gateway's default chunk size (4096) is not this bucket's: refused before anything is stored.
  const body = seeded.bytes(1024 * 1024 + 5);
  const { chunkSize: networkChunk } = await chainOf(gateway);
  const wrong = preparePut({ path: '/wolk/alice/wide/a.bin', body, key: alice, nonce, chainId, chunkSize: networkChunk });
  const refused = await send(gateway, 'PUT', wrong.path, wrong.headers, body);
  t.is(refused.status, 400, JSON.stringify(problemOf(refused)));
  t.is(problemOf(refused)['type'], '/problems/wrong-chunk-size');
  t.is(problemOf(refused)['chunkSize'], 8192);
  t.deepEqual(await storersHolding(devnet.endpoints().storer, wrong.filehash), []);

  // Over the bucket's limit (below the gateway's): 413 naming the bucket's limit.
  const big = seeded.bytes(2 * 1024 * 1024 + 1);
  const tooBig = preparePut({ path: '/wolk/alice/wide/big.bin', body: big, key: alice, nonce, chainId, chunkSize: 8192 });
  const r413 = await send(gateway, 'PUT', tooBig.path, tooBig.headers, big);
  t.is(r413.status, 413, JSON.stringify(problemOf(r413)));
  t.is(problemOf(r413)['maxBytes'], 2 * 1024 * 1024);

  // Right chunk size: N = 4 storers commit (the network's N is 3) and the bytes come back.
  const ok = preparePut({ path: '/wolk/alice/wide/a.bin', body, key: alice, nonce, chainId, chunkSize: 8192 });
  const put = await send(gateway, 'PUT', ok.path, ok.headers, body);
  t.is(put.status, 201, JSON.stringify(problemOf(put)));
  t.is(new Set(put.json()['storers'] as string[]).size, 4, "the bucket's N = 4 storers committed");
  const res = await fetch(new URL(ok.path, gateway));
  t.true(Buffer.from(await res.arrayBuffer()).equals(body));

  // The client (and so `wolk put`) hashes with the collection's chunk size by itself.
  const dir = mkdtempSync(join(tmpdir(), 'wolk-bucket-'));
  const file = join(dir, 'b.bin');
  writeFileSync(file, seeded.bytes(300_000));
  const viaClient = await client.put(file, 'wolk://alice/wide/b.bin');
  t.is(new Set(viaClient.storers).size, 4);
  const back = await fetch(new URL('/wolk/alice/wide/b.bin', gateway));
  t.true(Buffer.from(await back.arrayBuffer()).equals(readFileSync(file)));
});
