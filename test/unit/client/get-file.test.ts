// WolkClient.getFile and the request path (issue #24.4): a download is written under a temporary name
// and renamed over the destination only once its bytes hash to the proven filehash, so a gateway that
// serves another key's bytes (or corrupted ones) leaves the destination as it was and no temporary
// file behind; and a key with "." / ".." segments goes on the wire exactly as it was signed.
import test from 'ava';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WolkClient } from '../../../lib/client/client.js';
import { gatewayPath } from '../../../lib/client/uri.js';
import { send, text } from '../../../lib/client/transport.js';
import { hashFile } from '../../../lib/merkle/index.js';
import { logSeedOnFailure, randomFor } from '../../helpers/seed.js';

logSeedOnFailure(test);

const CHUNK = 4096;

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; paths: string[]; close: () => Promise<void> }> {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, paths, close: () => new Promise((r) => server.close(() => r())) };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('bytes that do not hash to the proven filehash never reach the destination', async (t) => {
  const right = randomFor(t).bytes(10_000);
  const wrong = Buffer.from(right);
  wrong[5000] ^= 1;
  const filehash = hex(hashFile(right, CHUNK).filehash);
  // The gateway claims the right filehash (ETag) but serves corrupted bytes.
  const gw = await serve((_req, res) => {
    res.writeHead(200, { etag: `"${filehash}"`, 'content-length': wrong.length, 'content-type': 'application/octet-stream' });
    res.end(wrong);
  });
  const dir = mkdtempSync(join(tmpdir(), 'wolk-getfile-'));
  const dest = join(dir, 'out.bin');
  writeFileSync(dest, 'what was there before');
  try {
    const err = await t.throwsAsync(new WolkClient(gw.url).getFile('wolk://o/c/k', dest, { chunkSize: CHUNK, filehash }));
    t.regex(err?.message ?? '', /hash to/);
    t.is(readFileSync(dest, 'utf8'), 'what was there before', 'the destination is untouched');
    t.deepEqual(readdirSync(dir), ['out.bin'], 'no temporary file is left');
  } finally {
    await gw.close();
  }
});

test("another key's bytes (a different ETag) are refused before anything is written", async (t) => {
  const bytes = randomFor(t).bytes(3000);
  const other = hex(hashFile(bytes, CHUNK).filehash);
  const gw = await serve((_req, res) => {
    res.writeHead(200, { etag: `"${other}"`, 'content-length': bytes.length });
    res.end(bytes);
  });
  const dir = mkdtempSync(join(tmpdir(), 'wolk-getfile-'));
  const dest = join(dir, 'out.bin');
  try {
    const err = await t.throwsAsync(new WolkClient(gw.url).getFile('wolk://o/c/k', dest, { chunkSize: CHUNK, filehash: 'ab'.repeat(32) }));
    t.regex(err?.message ?? '', /proven record says/);
    t.deepEqual(readdirSync(dir), [], 'neither the destination nor a temporary file exists');
  } finally {
    await gw.close();
  }
});

test('verified bytes are renamed over the destination', async (t) => {
  const bytes = randomFor(t).bytes(9000);
  const filehash = hex(hashFile(bytes, CHUNK).filehash);
  const gw = await serve((_req, res) => {
    res.writeHead(200, { etag: `"${filehash}"`, 'content-length': bytes.length, 'content-type': 'video/mp4' });
    res.end(bytes);
  });
  const dir = mkdtempSync(join(tmpdir(), 'wolk-getfile-'));
  const dest = join(dir, 'out.bin');
  writeFileSync(dest, 'old');
  try {
    const r = await new WolkClient(gw.url).getFile('wolk://o/c/a/b.bin', dest, { chunkSize: CHUNK, filehash });
    t.true(readFileSync(dest).equals(bytes));
    t.deepEqual(readdirSync(dir), ['out.bin']);
    t.deepEqual(r, { uri: 'wolk://o/c/a/b.bin', key: 'a/b.bin', filehash, size: bytes.length, contentType: 'video/mp4' });
  } finally {
    await gw.close();
  }
});

test('a destination in a missing directory is a one-line error before any download', async (t) => {
  const gw = await serve((_req, res) => res.end());
  try {
    const err = await t.throwsAsync(new WolkClient(gw.url).getFile('wolk://o/c/k', '/nonexistent-wolk-dir/x', { chunkSize: CHUNK, filehash: 'ab'.repeat(32) }));
    t.is(err?.message, 'cannot write /nonexistent-wolk-dir/x: the directory /nonexistent-wolk-dir does not exist');
    t.deepEqual(gw.paths, [], 'nothing was requested');
  } finally {
    await gw.close();
  }
});

test('keys with "." and ".." segments reach the gateway exactly as signed', async (t) => {
  const gw = await serve((_req, res) => res.end('{}'));
  try {
    for (const key of ['a/../dotdot.bin', './dot.bin', 'x/./y/..', '..']) {
      const path = gatewayPath({ owner: 'o', collection: 'c', key });
      await text(await send(gw.url, 'GET', path));
      t.is(gw.paths.at(-1), path, key);
      t.is(decodeURIComponent(path.slice('/wolk/o/c/'.length)), key, 'the gateway decodes it back to the key');
    }
    t.is(gatewayPath({ owner: 'o', collection: '..' }), '/wolk/o/%2E%2E/', 'a collection named ".." too');
  } finally {
    await gw.close();
  }
});
