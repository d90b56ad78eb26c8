// Resumable uploads (tus 1.0) at the gateway, in one process over real HTTP and gRPC against the
// contract-following stand-ins for consensus and storers (fakes.ts): tus-js-client (a client nobody
// here wrote) uploads a file; an upload cut at a seeded point survives a gateway restart and resumes
// from the gateway's durable offset, sending no more than what was missing; the bytes come back
// identical; wrong bytes are refused against the signed filehash; an abandoned upload is reclaimed
// after its expiry; the per-owner limit answers 507.
import test from 'ava';
import { request } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import * as tus from 'tus-js-client';
import { WolkClient } from '../../../lib/client/client.js';
import { keyFromSeed } from '../../../lib/client/keys.js';
import { creationHeaders, putResumable, saveUpload, TUS_VERSION } from '../../../lib/client/resumable.js';
import { setKeyTransaction, signTransaction } from '../../../lib/client/tx.js';
import { hashFile } from '../../../lib/merkle/index.js';
import { createGatewayNode } from '../../../services/gateway/node.js';
import { startInProcess } from '../../helpers/service.js';
import { pollUntil } from '../../helpers/poll.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';
import { startFakeConsensus, startFakeStorer } from './fakes.js';

const seeded = testRandom('unit/gateway/resumable.test.ts');
logSeedOnFailure(test);

const alice = keyFromSeed(new Uint8Array(32).fill(21));

async function world(env: Record<string, string> = {}) {
  const consensus = await startFakeConsensus();
  const storers = await Promise.all([1, 2, 3, 4].map(() => startFakeStorer()));
  const dataDir = mkdtempSync(join(tmpdir(), 'wolk-gw-resumable-'));
  const gwEnv = { WOLK_HTTP_LISTEN: '127.0.0.1:0', WOLK_CONSENSUS: consensus.endpoint, WOLK_STORERS: storers.map((s) => s.endpoint).join(','), WOLK_REPLICATION: '3', WOLK_MAX_FILE_BYTES: '64MiB', ...env };
  let gateway = await startInProcess('gateway', createGatewayNode, gwEnv);
  const dir = gateway.dataDir;
  void dataDir;
  return {
    consensus,
    url: () => gateway.endpoints['http']!,
    /** Stops the gateway and starts it again on the same data directory (a new port). */
    async restart() {
      await gateway.close();
      gateway = await startInProcess('gateway', createGatewayNode, { ...gwEnv, WOLK_DATA_DIR: dir });
    },
    async close() {
      await gateway.close();
      await Promise.all(storers.map((s) => s.close()));
      await consensus.close();
    },
  };
}

async function read(url: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  await new WolkClient(url).get('wolk://alice/c/f.bin', new Writable({ write: (c: Buffer, _e, cb) => (parts.push(c), cb()) }));
  return Buffer.concat(parts);
}

/** Sends `bytes` as a PATCH at `offset` and cuts the connection after `cutAfter` of them. */
function patchAndCut(url: string, uploadUrl: string, offset: number, bytes: Buffer, cutAfter: number): Promise<void> {
  return new Promise((resolve) => {
    const u = new URL(uploadUrl, url);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'PATCH', headers: { 'tus-resumable': TUS_VERSION, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream', 'content-length': String(bytes.length) } });
    req.on('error', () => resolve());
    req.write(bytes.subarray(0, cutAfter), () => setTimeout(() => (req.destroy(), resolve()), 200));
  });
}

async function head(url: string, uploadUrl: string): Promise<Response> {
  return fetch(new URL(uploadUrl, url), { method: 'HEAD', headers: { 'tus-resumable': TUS_VERSION } });
}

test.serial('tus-js-client uploads a file through the creation request signed like a PUT; the key reads back identical', async (t) => {
  t.timeout(120_000);
  const w = await world();
  try {
    const client = new WolkClient(w.url(), alice);
    await client.claim('alice');
    const bytes = seeded.bytes(3_000_000 + seeded.int(0, 100_000));
    const d = hashFile(bytes, 4096);
    const info = await client.chain();
    const stx = signTransaction(
      setKeyTransaction({ owner: 'alice', collection: 'c', key: 'f.bin', file: { filehash: Buffer.from(d.filehash), size: BigInt(d.size), chunkSize: 4096 }, contentType: 'application/x-test' }, alice.publicKey, await client.nonce(), info.chainId),
      alice,
    );
    const path = '/wolk/alice/c/f.bin';
    let last: { status: number; body: string } | undefined;
    await new Promise<void>((resolve, reject) => {
      const upload = new tus.Upload(bytes, {
        endpoint: `${w.url()}${path}`,
        uploadSize: bytes.length,
        chunkSize: 1 << 20,
        retryDelays: [],
        onBeforeRequest(req) {
          // The creation is the one signed request; PATCHes go to the capability URL it returns.
          if (req.getMethod() === 'POST') for (const [k, v] of Object.entries(creationHeaders(path, stx, bytes.length, alice))) if (k !== 'content-length') req.setHeader(k, v);
        },
        onSuccess(payload) {
          last = { status: payload.lastResponse.getStatus(), body: payload.lastResponse.getBody() };
          resolve();
        },
        onError: reject,
      });
      upload.start();
    });
    t.is(last?.status, 201, `the completing PATCH answers like a PUT: ${last?.body}`);
    t.is((JSON.parse(last!.body) as { filehash: string }).filehash, Buffer.from(d.filehash).toString('hex'));
    t.true((await read(w.url())).equals(bytes));
  } finally {
    await w.close();
  }
});

test.serial('an upload cut at a seeded point survives a gateway restart and resumes with no more than the missing bytes; wolk put resumes', async (t) => {
  t.timeout(120_000);
  const w = await world();
  try {
    const client = new WolkClient(w.url(), alice);
    await client.claim('alice');
    const dir = mkdtempSync(join(tmpdir(), 'wolk-resume-'));
    const file = join(dir, 'f.bin');
    const bytes = seeded.bytes(20 * 1024 * 1024 + seeded.int(0, 1 << 20));
    writeFileSync(file, bytes);
    const stateDir = join(dir, 'state');
    const chainOf = (url: string) => {
      const c = new WolkClient(url, alice);
      return { chunkSize: async () => 4096, chainId: async () => (await c.chain()).chainId, nonce: () => c.nonce() };
    };
    // A first run creates the upload, then is "killed" (its PATCH cut at a seeded byte).
    const cut = 1_000_000 + seeded.int(0, bytes.length - 2_000_000);
    t.log(`cut after ${cut} of ${bytes.length} bytes`);
    const path = '/wolk/alice/c/f.bin';
    const d = hashFile(bytes, 4096);
    const stx = signTransaction(setKeyTransaction({ owner: 'alice', collection: 'c', key: 'f.bin', file: { filehash: Buffer.from(d.filehash), size: BigInt(d.size), chunkSize: 4096 }, contentType: '' }, alice.publicKey, await client.nonce(), (await client.chain()).chainId), alice);
    const created = await fetch(`${w.url()}${path}`, { method: 'POST', headers: creationHeaders(path, stx, bytes.length, alice) });
    t.is(created.status, 201, await created.clone().text());
    const uploadUrl = created.headers.get('location')!;
    t.regex(uploadUrl, /^\/uploads\/[A-Za-z0-9_-]{43}$/);
    t.truthy(created.headers.get('upload-expires'));
    await patchAndCut(w.url(), uploadUrl, 0, bytes, cut);
    const held = await pollUntil(async () => {
      const h = await head(w.url(), uploadUrl);
      const n = Number(h.headers.get('upload-offset'));
      return n === cut ? n : undefined;
    }, { what: 'the gateway to keep every byte that arrived before the cut', deadlineMs: 20_000 });
    t.is(held, cut, 'every byte received before the cut is kept (fsynced when the request ended)');

    // The gateway is stopped and started again: the upload is read back from its data directory.
    await w.restart();
    const after = await head(w.url(), uploadUrl);
    t.is(after.status, 200);
    t.is(Number(after.headers.get('upload-offset')), cut);
    t.is(Number(after.headers.get('upload-length')), bytes.length);

    // A stale offset is refused with the real one.
    const stale = await fetch(new URL(uploadUrl, w.url()), { method: 'PATCH', headers: { 'tus-resumable': TUS_VERSION, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, body: bytes.subarray(0, 10) });
    t.is(stale.status, 409);
    t.is(stale.headers.get('content-type'), 'application/problem+json');
    t.is(Number(stale.headers.get('upload-offset')), cut);

    // The client's state file names this upload (as `wolk put` keeps it): the re-run resumes from the gateway's offset.
    const uri = 'wolk://alice/c/f.bin';
    const filehash = Buffer.from(d.filehash).toString('hex');
    await saveUpload(stateDir, file, { gateway: w.url(), uri, filehash, chunkSize: 4096, uploadUrl });
    const lines: string[] = [];
    const r = await putResumable(w.url(), alice, file, uri, chainOf(w.url()), { stateDir, say: (l) => lines.push(l) });
    t.is(r.status, 201);
    t.is(r.resumedAt, cut);
    t.is(r.sent, bytes.length - cut, 'only the missing bytes were sent after the restart');
    t.true(lines.some((l) => l.startsWith('resuming at ')), lines.join('\n'));
    t.true((await read(w.url())).equals(bytes), 'byte-identical on GET');
    // Asking again gives the same answer (the completing PATCH's result is kept until expiry).
    const again = await head(w.url(), uploadUrl);
    t.is(again.headers.get('wolk-upload-state'), 'stored');
  } finally {
    await w.close();
  }
});

test.serial('bytes other than the signed file are refused 422 and the upload dropped; abandoned uploads are reclaimed; the owner limit is 507', async (t) => {
  t.timeout(120_000);
  const w = await world({ WOLK_RESUMABLE_EXPIRY_MS: '1500', WOLK_RESUMABLE_OWNER_BYTES: '1MiB' });
  try {
    const client = new WolkClient(w.url(), alice);
    await client.claim('alice');
    const info = await client.chain();
    const create = async (key: string, bytes: Buffer) => {
      const d = hashFile(bytes, 4096);
      const stx = signTransaction(setKeyTransaction({ owner: 'alice', collection: 'c', key, file: { filehash: Buffer.from(d.filehash), size: BigInt(d.size), chunkSize: 4096 }, contentType: '' }, alice.publicKey, await client.nonce(), info.chainId), alice);
      const path = `/wolk/alice/c/${key}`;
      return fetch(`${w.url()}${path}`, { method: 'POST', headers: creationHeaders(path, stx, bytes.length, alice) });
    };
    const good = seeded.bytes(100_000);
    const r1 = await create('a', good);
    t.is(r1.status, 201);
    const wrong = Buffer.from(good);
    wrong[5000] ^= 1;
    const done = await fetch(new URL(r1.headers.get('location')!, w.url()), { method: 'PATCH', headers: { 'tus-resumable': TUS_VERSION, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, body: wrong });
    t.is(done.status, 422);
    t.is(((await done.json()) as { type: string }).type, '/problems/filehash-mismatch');
    t.is((await head(w.url(), r1.headers.get('location')!)).status, 404, 'the upload was dropped');

    const tooMuch = await create('big', seeded.bytes(1_100_000));
    t.is(tooMuch.status, 507);
    t.is(((await tooMuch.json()) as { type: string }).type, '/problems/upload-quota');

    const abandoned = await create('b', seeded.bytes(50_000));
    t.is(abandoned.status, 201);
    const url = abandoned.headers.get('location')!;
    t.is((await head(w.url(), url)).status, 200);
    const status = await pollUntil(async () => {
      const s = (await head(w.url(), url)).status;
      return s === 404 || s === 410 ? s : undefined;
    }, { what: 'the abandoned upload to be reclaimed', deadlineMs: 15_000 });
    t.true(status === 404 || status === 410);
    const missingTus = await fetch(`${w.url()}/wolk/alice/c/x`, { method: 'POST' });
    t.is(missingTus.status, 412);
    t.is(missingTus.headers.get('tus-version'), TUS_VERSION);
    const opts = await fetch(`${w.url()}/uploads/`, { method: 'OPTIONS' });
    t.is(opts.headers.get('tus-extension'), 'creation,termination,expiration');
  } finally {
    await w.close();
  }
});
