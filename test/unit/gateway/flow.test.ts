// The gateway's whole flow in one process, over real HTTP and real gRPC, against contract-following
// stand-ins for consensus and storers (fakes.ts): what a user checks — their bytes come back identical,
// ranges work, the proof holds, and each refused PUT gets its status with nothing stored or submitted.
import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { WolkClient, WolkHttpError } from '../../../lib/client/client.js';
import { keyFromSeed } from '../../../lib/client/keys.js';
import { signWolkRequest } from '../../../lib/client/signing.js';
import { setKeyTransaction, signTransaction } from '../../../lib/client/tx.js';
import { hashFile } from '../../../lib/merkle/index.js';
import { createGatewayNode } from '../../../services/gateway/node.js';
import { pollUntil } from '../../helpers/poll.js';
import { startInProcess } from '../../helpers/service.js';
import { startFakeConsensus, startFakeStorer, type FakeConsensus, type FakeStorer } from './fakes.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

/** Test data and keys, seeded (test/helpers/seed.ts): the same on every run with the same WOLK_TEST_SEED. */
const seeded = testRandom('unit/gateway/flow.test.ts');
logSeedOnFailure(test);

interface World {
  consensus: FakeConsensus;
  storers: FakeStorer[];
  gateway: Awaited<ReturnType<typeof startInProcess>>;
  url: string;
  close(): Promise<void>;
}

async function world(maxFileBytes = '4MiB'): Promise<World> {
  const consensus = await startFakeConsensus({ emptyRoundMs: 250 });
  const storers = await Promise.all([1, 2, 3, 4].map(() => startFakeStorer()));
  const gateway = await startInProcess('gateway', createGatewayNode, {
    WOLK_HTTP_LISTEN: '127.0.0.1:0',
    WOLK_CONSENSUS: consensus.endpoint,
    WOLK_STORERS: storers.map((s) => s.endpoint).join(','),
    WOLK_REPLICATION: '3',
    WOLK_MAX_FILE_BYTES: maxFileBytes,
  });
  return {
    consensus,
    storers,
    gateway,
    url: gateway.endpoints['http']!,
    async close() {
      await gateway.close();
      await Promise.all(storers.map((s) => s.close()));
      await consensus.close();
    },
  };
}

function sink(): { stream: Writable; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  return {
    stream: new Writable({
      write(c: Buffer, _e, cb) {
        parts.push(c);
        cb();
      },
    }),
    bytes: () => Buffer.concat(parts),
  };
}

const alice = keyFromSeed(new Uint8Array(32).fill(11));
const mallory = keyFromSeed(new Uint8Array(32).fill(66));

test.serial('claim, put 1 MB, get it byte-identical, ranges, HEAD, proof, listing', async (t) => {
  t.timeout(120_000);
  const w = await world();
  try {
    const client = new WolkClient(w.url, alice);
    const claimed = await client.claim('alice');
    t.is(claimed['owner'], Buffer.from(alice.publicKey).toString('hex'));
    // First claim wins: another key cannot take the name.
    const taken = await t.throwsAsync(new WolkClient(w.url, mallory).claim('alice'));
    t.is((taken as WolkHttpError).status, 409);

    const dir = mkdtempSync(join(tmpdir(), 'wolk-flow-'));
    const file = join(dir, 'video.bin');
    const bytes = seeded.bytes(1_000_001);
    writeFileSync(file, bytes);
    const put = await client.put(file, 'wolk://alice/videos/cat.mp4', { contentType: 'video/mp4' });
    t.is(put.filehash, Buffer.from(hashFile(bytes).filehash).toString('hex'));
    t.is(put.size, bytes.length);
    t.is(put.storers?.length, 3);
    t.truthy(put.round);
    t.is(w.consensus.submitted.length, 2, 'SetName and SetKey');

    const out = sink();
    const got = await client.get('wolk://alice/videos/cat.mp4', out.stream, { chunkSize: 4096 });
    t.true(out.bytes().equals(bytes));
    t.is(got.contentType, 'video/mp4');

    const ranged = await fetch(`${w.url}/wolk/alice/videos/cat.mp4`, { headers: { range: 'bytes=5000-9999' } });
    t.is(ranged.status, 206);
    t.is(ranged.headers.get('content-range'), `bytes 5000-9999/${bytes.length}`);
    t.true(Buffer.from(await ranged.arrayBuffer()).equals(bytes.subarray(5000, 10000)));
    const tail = await fetch(`${w.url}/wolk/alice/videos/cat.mp4`, { headers: { range: 'bytes=-10' } });
    t.true(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(bytes.length - 10)));
    const unsat = await fetch(`${w.url}/wolk/alice/videos/cat.mp4`, { headers: { range: `bytes=${bytes.length}-` } });
    t.is(unsat.status, 416);
    t.is(unsat.headers.get('content-type'), 'application/problem+json');
    const head = await fetch(`${w.url}/wolk/alice/videos/cat.mp4`, { method: 'HEAD' });
    t.is(head.status, 200);
    t.is(head.headers.get('etag'), `"${put.filehash}"`);
    t.is(head.headers.get('content-length'), String(bytes.length));

    const proof = await client.proof('wolk://alice/videos/cat.mp4');
    t.true(proof.stateProof, 'the SMT proof leads to the header state root');
    t.is(proof.filehash, put.filehash);
    // The stand-in consensus issues no certificates, so the proof is (correctly) not fully verified.
    t.false(proof.verified);

    const listed = await client.list('wolk://alice/videos/');
    t.deepEqual(listed.keys.map((k) => k.key), ['cat.mp4']);
    const missing = await fetch(`${w.url}/wolk/alice/videos/dog.mp4`);
    t.is(missing.status, 404);
  } finally {
    await w.close();
  }
});

test.serial('a storer serving corrupted chunks is dropped; the client still gets the right bytes', async (t) => {
  t.timeout(120_000);
  const w = await world();
  try {
    const client = new WolkClient(w.url, alice);
    await client.claim('alice');
    const dir = mkdtempSync(join(tmpdir(), 'wolk-flow-'));
    const file = join(dir, 'f.bin');
    const bytes = seeded.bytes(300_000);
    writeFileSync(file, bytes);
    const put = await client.put(file, 'wolk://alice/c/k');
    // Every storer serves corrupted chunks but one committed storer (the last in commitment order).
    for (const s of w.storers) s.fault = 'corrupt-reads';
    const honest = put.storers![put.storers!.length - 1]!;
    w.storers.find((s) => Buffer.from(s.id).toString('hex') === honest)!.fault = 'none';
    const out = sink();
    await client.get('wolk://alice/c/k', out.stream, { chunkSize: 4096 });
    t.true(out.bytes().equals(bytes));
    const res = await fetch(`${w.url}/wolk/alice/c/k`, { headers: { range: 'bytes=100000-200000' } });
    t.true(Buffer.from(await res.arrayBuffer()).equals(bytes.subarray(100000, 200001)));
  } finally {
    await w.close();
  }
});

/**
 * A signed PUT built by hand, so each part can be spoiled: `fileOf` is what the SetKey signs (default the
 * body), `digestOf` what Content-Digest says, and `stream` sends the body as the test writes it.
 */
async function rawPut(w: World, path: string, body: Buffer, o: { key?: typeof alice; signer?: typeof alice; digestOf?: Buffer; fileOf?: Buffer; nonce?: string; unsigned?: boolean; stream?: ReadableStream<Uint8Array> } = {}) {
  const { url } = w;
  const key = o.key ?? alice;
  const d = hashFile(o.fileOf ?? body);
  const [owner, collection, k] = path.replace('/wolk/', '').split('/') as [string, string, string];
  const nonce = BigInt((await (await fetch(`${url}/accounts/${Buffer.from(key.publicKey).toString('hex')}`)).json() as { nonce: string }).nonce);
  const stx = signTransaction(setKeyTransaction({ owner, collection, key: k, file: { filehash: Buffer.from(d.filehash), size: BigInt(d.size), chunkSize: 4096 }, contentType: '' }, key.publicKey, nonce, w.consensus.chainId), key);
  const auth = signWolkRequest({ method: 'PUT', path, bodySha256: createHash('sha256').update(o.digestOf ?? body).digest(), key: o.signer ?? key, ...(o.nonce ? { nonce: o.nonce } : {}) });
  const headers: Record<string, string> = { 'wolk-transaction': Buffer.from(SignedTransaction.encode(stx).finish()).toString('base64'), ...(o.unsigned ? {} : auth) };
  const res = await fetch(`${url}${path}`, o.stream ? { method: 'PUT', body: o.stream, headers: { ...headers, 'content-length': String(body.length) }, duplex: 'half' } as RequestInit : { method: 'PUT', body, headers });
  return { status: res.status, type: res.headers.get('content-type'), problem: (await res.json()) as Record<string, unknown> };
}

test.serial('refused PUTs: each gets its status and nothing is stored or submitted', async (t) => {
  t.timeout(120_000);
  const w = await world('64KiB');
  try {
    await new WolkClient(w.url, alice).claim('alice');
    await new WolkClient(w.url, mallory).claim('mallory');
    const before = w.consensus.submitted.length;
    const body = seeded.bytes(10_000);
    const cases: [string, Promise<{ status: number; type: string | null; problem: Record<string, unknown> }>, number][] = [];
    const solicits = () => w.storers.reduce((n, s) => n + s.solicits, 0);
    // `streamed`: refused for its body, which the storers were already fetching as it arrived (uploads
    // are streamed through: docs/http-api.md "Upload"); every other case is refused before any storer is asked.
    const run = async (name: string, p: Promise<{ status: number; type: string | null; problem: Record<string, unknown> }>, status: number, streamed = false) => {
      const asked = solicits();
      const r = await p;
      t.is(r.status, status, `${name}: ${JSON.stringify(r.problem)}`);
      t.is(r.type, 'application/problem+json', name);
      if (!streamed) t.is(solicits(), asked, `${name}: no storer was asked to store`);
    };
    await run('unsigned', rawPut(w, '/wolk/alice/c/a', body, { unsigned: true }), 401);
    await run('signed by another key under alice\'s keyid', rawPut(w, '/wolk/alice/c/a', body, { signer: { secretKey: mallory.secretKey, publicKey: alice.publicKey } }), 401);
    await run('foreign owner', rawPut(w, '/wolk/alice/c/a', body, { key: mallory }), 403);
    await run('oversized', rawPut(w, '/wolk/alice/c/a', seeded.bytes(100_000)), 413);
    // Replay: the same nonce twice — the first is refused for another reason (too large) after the
    // nonce was recorded, so the second is a replay.
    await run('first use of a nonce', rawPut(w, '/wolk/alice/c/a', seeded.bytes(100_000), { nonce: 'replayed-nonce-0001' }), 413);
    await run('replayed nonce', rawPut(w, '/wolk/alice/c/a', body, { nonce: 'replayed-nonce-0001' }), 409);
    // Last, as the storers' requests cancelled by these refusals may still be arriving when they end.
    await run('digest mismatch', rawPut(w, '/wolk/alice/c/a', body, { digestOf: seeded.bytes(10) }), 422, true);
    await run('another digest mismatch', rawPut(w, '/wolk/alice/c/a', body, { digestOf: seeded.bytes(5) }), 422, true);
    void cases;
    t.is(w.consensus.submitted.length, before, 'nothing submitted');
    // The storers asked while a refused body streamed never got its last byte (held back until the
    // body is checked: spool.ts SpoolTail), so none of them has the file.
    t.is(w.storers.reduce((n, s) => n + s.files.size, 0), 0, 'nothing stored');
  } finally {
    await w.close();
  }
});

/** A request body the test writes piece by piece. */
function controlledBody(): { stream: ReadableStream<Uint8Array>; write(b: Buffer): void; end(): void } {
  let c!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({ start: (ctl) => void (c = ctl) });
  return { stream, write: (b) => c.enqueue(new Uint8Array(b)), end: () => c.close() };
}

test.serial('a PUT is streamed through: the storers fetch its body while it arrives, and get its last byte once the gateway checked it', async (t) => {
  t.timeout(120_000);
  const w = await world();
  try {
    await new WolkClient(w.url, alice).claim('alice');
    const bytes = seeded.bytes(600_000);
    const body = controlledBody();
    const put = rawPut(w, '/wolk/alice/c/streamed', bytes, { stream: body.stream });
    body.write(bytes.subarray(0, 400_000));
    const fetched = () => w.storers.reduce((n, s) => n + s.fetched, 0);
    // The storers already follow the body: bytes of it reached them before the client sent the rest.
    await pollUntil(fetched, { what: 'the storers to fetch part of the body while it arrives', deadlineMs: 30_000, until: (n) => n >= 3 * 300_000 });
    t.true(w.storers.every((s) => s.files.size === 0), 'no storer has the file before its body is complete');
    body.write(bytes.subarray(400_000));
    body.end();
    const r = await put;
    t.is(r.status, 201, JSON.stringify(r.problem));
    const holders = w.storers.filter((s) => s.files.get(Buffer.from(hashFile(bytes).filehash).toString('hex'))?.equals(bytes));
    t.true(holders.length >= 3, `${holders.length} storers hold the file byte for byte`);
    const out = sink();
    await new WolkClient(w.url).get('wolk://alice/c/streamed', out.stream, { chunkSize: 4096 });
    t.true(out.bytes().equals(bytes), 'GET returns the body');
  } finally {
    await w.close();
  }
});

test.serial('two uploads of one file at once: a body that is not the file does not spoil the other client\'s upload of it', async (t) => {
  t.timeout(120_000);
  const w = await world();
  try {
    await new WolkClient(w.url, alice).claim('alice');
    await new WolkClient(w.url, mallory).claim('mallory');
    const good = seeded.bytes(300_000);
    const bad = Buffer.from(good);
    bad[bad.length - 1] ^= 1;
    // Mallory signs the real file but sends other bytes (its Content-Digest is of what it sends), slowly:
    // its spool is the first served for the filehash.
    const slow = controlledBody();
    const spoiled = rawPut(w, '/wolk/mallory/c/x', bad, { key: mallory, fileOf: good, stream: slow.stream });
    slow.write(bad.subarray(0, 100_000));
    await pollUntil(() => w.storers.reduce((n, s) => n + s.solicits, 0), { what: 'storers asked for mallory\'s upload', deadlineMs: 30_000, until: (n) => n > 0 });
    // Alice's upload completes while mallory's body is still open.
    const a = await rawPut(w, '/wolk/alice/c/x', good);
    t.is(a.status, 201, `alice's upload: ${JSON.stringify(a.problem)}`);
    slow.write(bad.subarray(100_000));
    slow.end();
    const m = await spoiled;
    t.is(m.status, 422, JSON.stringify(m.problem));
    const out = sink();
    await new WolkClient(w.url).get('wolk://alice/c/x', out.stream, { chunkSize: 4096 });
    t.true(out.bytes().equals(good));
  } finally {
    await w.close();
  }
});

test.serial('fewer than N storers commit: 503 quickly, nothing on chain; then an upload works again', async (t) => {
  t.timeout(120_000);
  const w = await world();
  try {
    const client = new WolkClient(w.url, alice);
    await client.claim('alice');
    const before = w.consensus.submitted.length;
    w.storers[0]!.fault = 'refuse';
    w.storers[1]!.fault = 'bad-commitment';
    const dir = mkdtempSync(join(tmpdir(), 'wolk-flow-'));
    const file = join(dir, 'f.bin');
    writeFileSync(file, seeded.bytes(50_000));
    const started = Date.now();
    const err = await t.throwsAsync(client.put(file, 'wolk://alice/c/k'));
    t.is((err as WolkHttpError).status, 503);
    t.is((err as WolkHttpError).problem['type'], '/problems/not-enough-storers');
    t.true(Date.now() - started < 10_000, `refused after ${Date.now() - started} ms: ${JSON.stringify((err as WolkHttpError).problem)}`);
    t.is(w.consensus.submitted.length, before, 'nothing submitted');
    w.storers[0]!.fault = 'none';
    w.storers[1]!.fault = 'none';
    const ok = await client.put(file, 'wolk://alice/c/k');
    t.is(ok.storers?.length, 3);
    t.deepEqual(readFileSync(file).length, 50_000);
  } finally {
    await w.close();
  }
});
