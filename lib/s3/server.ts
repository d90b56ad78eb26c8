// The S3-compatible HTTP endpoint of `wolk s3` (docs/s3.md): path-style requests, every one verified
// with AWS Signature V4 before anything else, routed to one handler per S3 operation. Bodies are
// streamed to the spool (never held in memory), hashed on the way (MD5 for the ETag, SHA-256 for
// x-amz-content-sha256), and stored through the user's signed Wolk upload; an object is acknowledged
// only once its SetKey is final on chain. Every failure answers S3's <Error> XML.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { COLLECTION_RE, NAME_RE, isValidKey } from '../chain/state-keys.js';
import { s3ErrorOf, type ObjectRead, type WolkBackend } from './backend.js';
import { decodeAwsChunked } from './chunked.js';
import { S3Error, errorXml } from './errors.js';
import { listPage, encodeToken, type ListPage } from './list.js';
import { percentDecode, uriEncode, verifyRequest, type Credentials, type Verified } from './sigv4.js';
import type { LocalStore, ObjectMeta } from './store.js';
import { el, parseCompleteMultipart, S3_NS, XML_HEAD } from './xml.js';

export interface S3ServerDeps {
  readonly backend: WolkBackend;
  readonly store: LocalStore;
  readonly credentials: Credentials;
  /** The owner's public key (hex): ListBuckets' Owner ID. */
  readonly ownerId: string;
  readonly now: () => number;
  readonly log: (line: string) => void;
}

/** S3's limits: a single PUT and a part at most 5 GiB; every part but the last at least 5 MiB; 10 000 parts. */
export const MAX_PUT_BYTES = 5 * 1024 ** 3;
export const MIN_PART_BYTES = 5 * 1024 ** 2;
export const MAX_PARTS = 10_000;
/** User metadata (x-amz-meta-*) at most 2 KB, as S3. */
const MAX_USER_META = 2048;
/** Small XML request bodies (CompleteMultipartUpload, CreateBucketConfiguration). */
const MAX_XML_BODY = 1 << 20;
/** Query names of a plain bucket listing; any other on a bucket is a subresource this endpoint lacks. */
const LIST_PARAMS = new Set(['list-type', 'prefix', 'delimiter', 'max-keys', 'continuation-token', 'start-after', 'encoding-type', 'fetch-owner', 'marker', 'x-id']);
const OBJECT_PARAMS = new Set(['x-id', 'partNumber', 'uploadId', 'uploads', 'max-parts', 'part-number-marker', 'response-content-type', 'response-content-disposition', 'response-cache-control', 'response-content-encoding', 'response-content-language', 'response-expires']);
const PRESIGN_PARAMS = new Set(['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature', 'X-Amz-Content-Sha256', 'X-Amz-Security-Token']);

interface Ctx {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly verified: Verified;
  readonly query: Map<string, string>;
  readonly bucket: string;
  readonly key: string;
}

const isoTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '.000Z');

/** The collection a bucket name names: COLLECTION, or OWNER.COLLECTION (your own owner; another owner's is refused). */
export function collectionOf(bucket: string, owner: string): string {
  const dot = bucket.indexOf('.');
  let collection = bucket;
  if (dot > 0 && NAME_RE.test(bucket.slice(0, dot))) {
    if (bucket.slice(0, dot) !== owner) throw new S3Error('AccessDenied', `bucket ${bucket} is a collection of owner "${bucket.slice(0, dot)}"; this endpoint holds the key of "${owner}" only`);
    collection = bucket.slice(dot + 1);
  }
  if (!COLLECTION_RE.test(collection)) throw new S3Error('InvalidBucketName', `a bucket is a Wolk collection name: 1 to 63 of [a-z0-9._-], got "${bucket.slice(0, 80)}"`);
  return collection;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function headersOf(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) out[k] = Array.isArray(v) ? v.join(',') : v;
  return out;
}

function userMetaOf(req: IncomingMessage): Record<string, string> {
  const meta: Record<string, string> = {};
  let size = 0;
  for (const [k, v] of Object.entries(req.headers)) {
    if (!k.startsWith('x-amz-meta-') || k.startsWith('x-amz-meta-wolk-')) continue;
    const value = Array.isArray(v) ? v.join(',') : (v ?? '');
    size += k.length - 'x-amz-meta-'.length + value.length;
    meta[k] = value;
  }
  if (size > MAX_USER_META) throw new S3Error('MetadataTooLarge', `user metadata is ${size} bytes, at most ${MAX_USER_META}`);
  return meta;
}

function validKey(key: string): string {
  if (!isValidKey(key)) {
    if (Buffer.byteLength(key) > 1024) throw new S3Error('KeyTooLongError', 'Your key is too long (at most 1024 bytes of UTF-8)');
    throw new S3Error('InvalidArgument', 'an object key is 1 to 1024 bytes of UTF-8 without NUL');
  }
  return key;
}

function sendXml(res: ServerResponse, status: number, xml: string, extra: Record<string, string> = {}): void {
  const body = Buffer.from(XML_HEAD + xml, 'utf8');
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': String(body.length), ...extra });
  res.end(body);
}

/** The request body as the client meant it: aws-chunked decoded and chunk signatures checked when streamed. */
function bodyOf(c: Ctx): AsyncIterable<Uint8Array> {
  if (c.verified.payload.kind !== 'streaming') return c.req;
  const decoded = header(c.req, 'x-amz-decoded-content-length');
  if (decoded === undefined || !/^\d{1,15}$/.test(decoded)) throw new S3Error('MissingContentLength', 'a STREAMING-AWS4-HMAC-SHA256-PAYLOAD request needs x-amz-decoded-content-length');
  return decodeAwsChunked(c.req, c.verified.payload, Number(decoded));
}

/** The length the body will have, checked against `max` before anything is read. */
function declaredLength(c: Ctx, max: number): number | undefined {
  const raw = c.verified.payload.kind === 'streaming' ? header(c.req, 'x-amz-decoded-content-length') : header(c.req, 'content-length');
  if (raw === undefined) {
    if (header(c.req, 'transfer-encoding') === undefined) throw new S3Error('MissingContentLength', 'You must provide the Content-Length HTTP header.');
    return undefined;
  }
  if (!/^\d{1,15}$/.test(raw)) throw new S3Error('InvalidArgument', `Content-Length must be a number of bytes, got "${raw.slice(0, 40)}"`);
  const n = Number(raw);
  if (n > max) throw new S3Error('EntityTooLarge', `Your proposed upload exceeds the maximum allowed size (${n} > ${max} bytes)`);
  return n;
}

interface Spooled {
  readonly size: number;
  readonly md5: Buffer;
  readonly sha256Hex: string;
}

/**
 * Streams the body into `file` (created exclusively), hashing it, then fsyncs; checks x-amz-content-sha256
 * and Content-MD5 against what arrived. Removes the file on any failure.
 */
async function spool(c: Ctx, file: string, max: number): Promise<Spooled> {
  declaredLength(c, max);
  const md5 = createHash('md5');
  const sha = createHash('sha256');
  let size = 0;
  try {
    const src = bodyOf(c);
    await pipeline(
      async function* () {
        for await (const piece of src) {
          size += piece.length;
          if (size > max) throw new S3Error('EntityTooLarge', `Your proposed upload exceeds the maximum allowed size (${max} bytes)`);
          md5.update(piece);
          sha.update(piece);
          yield piece;
        }
      },
      createWriteStream(file, { flags: 'wx', mode: 0o600 }),
    );
    // Durable before a part is acknowledged (a whole object is acknowledged only once final on chain).
    const handle = await open(file, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    await rm(file, { force: true });
    if (!(err instanceof S3Error) && c.req.readableAborted) throw new S3Error('IncompleteBody', 'the request body ended before Content-Length bytes');
    throw err;
  }
  const out = { size, md5: md5.digest(), sha256Hex: sha.digest('hex') };
  try {
    const p = c.verified.payload;
    if (p.kind === 'sha256' && p.hex !== out.sha256Hex) throw new S3Error('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
    const declared = header(c.req, 'content-md5');
    if (declared !== undefined && declared !== out.md5.toString('base64')) throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.');
  } catch (err) {
    await rm(file, { force: true });
    throw err;
  }
  return out;
}

async function smallBody(c: Ctx): Promise<string> {
  const pieces: Buffer[] = [];
  let n = 0;
  for await (const piece of bodyOf(c)) {
    n += piece.length;
    if (n > MAX_XML_BODY) throw new S3Error('MalformedXML', `the request document is larger than ${MAX_XML_BODY} bytes`);
    pieces.push(Buffer.from(piece));
  }
  const body = Buffer.concat(pieces);
  const p = c.verified.payload;
  if (p.kind === 'sha256' && p.hex !== createHash('sha256').update(body).digest('hex')) throw new S3Error('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
  return body.toString('utf8');
}

export function createS3Server(d: S3ServerDeps): Server {
  const { backend, store } = d;

  const wolkHeaders = (filehash: string, round: string | undefined): Record<string, string> => ({
    'x-amz-meta-wolk-filehash': filehash,
    ...(round ? { 'x-amz-meta-wolk-round': round } : {}),
  });

  async function requireBucket(collection: string): Promise<void> {
    if (!(await backend.bucketExists(collection))) throw new S3Error('NoSuchBucket', 'The specified bucket does not exist');
  }

  async function listBuckets(c: Ctx): Promise<void> {
    const buckets = await store.buckets();
    sendXml(
      c.res,
      200,
      `<ListAllMyBucketsResult xmlns="${S3_NS}"><Owner>${el('ID', d.ownerId)}${el('DisplayName', backend.owner)}</Owner><Buckets>` +
        buckets.map((b) => `<Bucket>${el('Name', b.name)}${el('CreationDate', b.created)}</Bucket>`).join('') +
        '</Buckets></ListAllMyBucketsResult>',
    );
  }

  async function createBucket(c: Ctx, collection: string): Promise<void> {
    await smallBody(c); // CreateBucketConfiguration: a region constraint, which Wolk has no use for
    if (await backend.bucketExists(collection)) {
      await store.rememberBucket(c.bucket, isoTime(d.now()));
      throw new S3Error('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.');
    }
    await backend.makeBucket(collection);
    await store.rememberBucket(c.bucket, isoTime(d.now()));
    c.res.writeHead(200, { location: `/${c.bucket}`, 'content-length': '0' });
    c.res.end();
  }

  async function listObjects(c: Ctx, collection: string): Promise<void> {
    const q = c.query;
    const v2 = q.get('list-type') === '2';
    if (q.has('list-type') && !v2) throw new S3Error('InvalidArgument', 'list-type must be 2');
    const rawMax = q.get('max-keys') ?? '1000';
    if (!/^\d{1,9}$/.test(rawMax)) throw new S3Error('InvalidArgument', 'max-keys must be a non-negative integer');
    const maxKeys = Math.min(1000, Number(rawMax));
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const encodingType = q.get('encoding-type');
    if (encodingType !== undefined && encodingType !== 'url') throw new S3Error('InvalidArgument', 'encoding-type must be url');
    const enc = (s: string) => (encodingType === 'url' ? uriEncode(s, false) : s);
    await requireBucket(collection);
    const token = q.get('continuation-token');
    const marker = q.get('marker');
    const startAfter = v2 ? q.get('start-after') : undefined;
    const page: ListPage<{ key: string; filehash: string; size: number; round?: string }> = await listPage(backend.keys(collection, prefix), {
      prefix,
      delimiter,
      maxKeys,
      ...(v2 && token !== undefined ? { continuationToken: token } : {}),
      ...(startAfter ? { startAfter } : {}),
      // V1 resumes after NextMarker, which is a common prefix when it ends with the delimiter.
      ...(!v2 && marker ? { continuationToken: encodeToken({ after: marker, isPrefix: delimiter !== '' && marker.endsWith(delimiter) }) } : {}),
    });
    const contents = await Promise.all(
      page.contents.map(async (e) => {
        const meta = await store.objectMeta(collection, e.key, e.filehash);
        return (
          `<Contents>${el('Key', enc(e.key))}${meta ? el('LastModified', meta.lastModified) : ''}${el('ETag', `"${meta?.etag ?? e.filehash}"`)}${el('Size', e.size)}` +
          `${q.get('fetch-owner') === 'true' || !v2 ? `<Owner>${el('ID', d.ownerId)}${el('DisplayName', backend.owner)}</Owner>` : ''}<StorageClass>STANDARD</StorageClass></Contents>`
        );
      }),
    );
    const prefixes = page.commonPrefixes.map((p) => `<CommonPrefixes>${el('Prefix', enc(p))}</CommonPrefixes>`).join('');
    const common = `${el('Name', c.bucket)}${el('Prefix', enc(prefix))}${delimiter ? el('Delimiter', enc(delimiter)) : ''}${el('MaxKeys', maxKeys)}${encodingType ? el('EncodingType', encodingType) : ''}${el('IsTruncated', String(page.isTruncated))}`;
    const xml = v2
      ? `<ListBucketResult xmlns="${S3_NS}">${common}${el('KeyCount', page.contents.length + page.commonPrefixes.length)}${token !== undefined ? el('ContinuationToken', token) : ''}${page.nextContinuationToken ? el('NextContinuationToken', page.nextContinuationToken) : ''}${startAfter ? el('StartAfter', enc(startAfter)) : ''}${contents.join('')}${prefixes}</ListBucketResult>`
      : `<ListBucketResult xmlns="${S3_NS}">${common}${el('Marker', enc(marker ?? ''))}${page.isTruncated && page.lastMarker !== undefined ? el('NextMarker', enc(page.lastMarker)) : ''}${contents.join('')}${prefixes}</ListBucketResult>`;
    sendXml(c.res, 200, xml);
  }

  async function storeFile(c: Ctx, collection: string, key: string, file: string, contentType: string, etag: string, userMeta: Record<string, string>) {
    const stored = await backend.putFile(collection, key, file, contentType);
    const meta: ObjectMeta = { filehash: stored.filehash, etag, lastModified: isoTime(d.now()), userMeta };
    await store.putObjectMeta(collection, key, meta);
    d.log(`stored ${c.bucket}/${key}: ${stored.size} bytes, filehash ${stored.filehash}, final in round ${stored.round}`);
    return stored;
  }

  async function putObject(c: Ctx, collection: string): Promise<void> {
    const key = validKey(c.key);
    if (header(c.req, 'x-amz-copy-source') !== undefined) throw new S3Error('NotImplemented', 'CopyObject is not implemented by wolk s3 (download and upload the object instead)');
    const userMeta = userMetaOf(c.req);
    const contentType = header(c.req, 'content-type') || 'application/octet-stream';
    await requireBucket(collection);
    const file = store.spoolFile();
    try {
      const s = await spool(c, file, MAX_PUT_BYTES);
      const etag = s.md5.toString('hex');
      const stored = await storeFile(c, collection, key, file, contentType, etag, userMeta);
      c.res.writeHead(200, { etag: `"${etag}"`, 'content-length': '0', ...wolkHeaders(stored.filehash, stored.round) });
      c.res.end();
    } finally {
      await rm(file, { force: true });
    }
  }

  function rangeOf(c: Ctx): string | undefined {
    // One range, as S3 serves; anything else (several ranges, other units) is ignored, as S3 does.
    const r = header(c.req, 'range');
    return r !== undefined && /^bytes=(\d{1,20}-\d{0,20}|-\d{1,20})$/.test(r.trim()) ? r.trim() : undefined;
  }

  async function getObject(c: Ctx, collection: string, method: 'GET' | 'HEAD'): Promise<void> {
    const key = validKey(c.key);
    let r: ObjectRead;
    try {
      r = await backend.read(method, collection, key, method === 'GET' ? rangeOf(c) : undefined);
    } catch (err) {
      if (err instanceof S3Error && err.code === 'NoSuchKey' && !(await backend.bucketExists(collection))) throw new S3Error('NoSuchBucket', 'The specified bucket does not exist');
      throw err;
    }
    const meta = await store.objectMeta(collection, key, r.filehash);
    const q = c.query;
    const headers: Record<string, string> = {
      'content-type': q.get('response-content-type') ?? r.contentType,
      'content-length': String(r.contentLength),
      etag: `"${meta?.etag ?? r.filehash}"`,
      'accept-ranges': 'bytes',
      ...(meta ? { 'last-modified': new Date(meta.lastModified).toUTCString() } : {}),
      ...(meta?.userMeta ?? {}),
      ...wolkHeaders(r.filehash, r.round),
      ...(r.contentRange ? { 'content-range': r.contentRange } : {}),
    };
    for (const h of ['content-disposition', 'cache-control', 'content-encoding', 'content-language', 'expires']) {
      const v = q.get(`response-${h}`);
      if (v !== undefined) headers[h] = v;
    }
    c.res.writeHead(r.status, headers);
    if (method === 'HEAD') {
      r.body.resume();
      c.res.end();
      return;
    }
    await pipeline(r.body, c.res);
  }

  async function uploadOf(c: Ctx, collection: string, key: string): Promise<string> {
    const id = c.query.get('uploadId') ?? '';
    const u = await store.upload(id);
    if (!u || u.bucket !== collection || u.key !== key) throw new S3Error('NoSuchUpload', 'The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.');
    return id;
  }

  async function createMultipart(c: Ctx, collection: string): Promise<void> {
    const key = validKey(c.key);
    const userMeta = userMetaOf(c.req);
    await requireBucket(collection);
    const id = await store.createUpload({ bucket: collection, key, contentType: header(c.req, 'content-type') || 'application/octet-stream', initiated: isoTime(d.now()), userMeta });
    sendXml(c.res, 200, `<InitiateMultipartUploadResult xmlns="${S3_NS}">${el('Bucket', c.bucket)}${el('Key', key)}${el('UploadId', id)}</InitiateMultipartUploadResult>`);
  }

  async function uploadPart(c: Ctx, collection: string): Promise<void> {
    const key = validKey(c.key);
    const raw = c.query.get('partNumber') ?? '';
    if (!/^\d{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_PARTS) throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and ${MAX_PARTS}, inclusive`);
    if (header(c.req, 'x-amz-copy-source') !== undefined) throw new S3Error('NotImplemented', 'UploadPartCopy is not implemented by wolk s3');
    const id = await uploadOf(c, collection, key);
    const file = store.spoolFile();
    const s = await spool(c, file, MAX_PUT_BYTES);
    const etag = s.md5.toString('hex');
    try {
      await store.putPart(id, file, { partNumber: Number(raw), etag, size: s.size, lastModified: isoTime(d.now()) });
    } catch (err) {
      await rm(file, { force: true });
      // The upload was aborted or completed while this part was arriving.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new S3Error('NoSuchUpload', 'The specified multipart upload does not exist (aborted or completed meanwhile).');
      throw err;
    }
    c.res.writeHead(200, { etag: `"${etag}"`, 'content-length': '0' });
    c.res.end();
  }

  async function listParts(c: Ctx, collection: string): Promise<void> {
    const key = validKey(c.key);
    const id = await uploadOf(c, collection, key);
    const rawMax = c.query.get('max-parts') ?? '1000';
    const rawMarker = c.query.get('part-number-marker') ?? '0';
    if (!/^\d{1,5}$/.test(rawMax) || !/^\d{1,5}$/.test(rawMarker)) throw new S3Error('InvalidArgument', 'max-parts and part-number-marker must be integers');
    const maxParts = Math.min(1000, Number(rawMax));
    const after = (await store.parts(id)).filter((p) => p.partNumber > Number(rawMarker));
    const page = after.slice(0, maxParts);
    const truncated = after.length > page.length;
    sendXml(
      c.res,
      200,
      `<ListPartsResult xmlns="${S3_NS}">${el('Bucket', c.bucket)}${el('Key', key)}${el('UploadId', id)}${el('PartNumberMarker', Number(rawMarker))}` +
        `${truncated ? el('NextPartNumberMarker', page[page.length - 1]!.partNumber) : ''}${el('MaxParts', maxParts)}${el('IsTruncated', String(truncated))}<StorageClass>STANDARD</StorageClass>` +
        page.map((p) => `<Part>${el('PartNumber', p.partNumber)}${el('LastModified', p.lastModified)}${el('ETag', `"${p.etag}"`)}${el('Size', p.size)}</Part>`).join('') +
        '</ListPartsResult>',
    );
  }

  async function completeMultipart(c: Ctx, collection: string): Promise<void> {
    const key = validKey(c.key);
    const id = await uploadOf(c, collection, key);
    const wanted = parseCompleteMultipart(await smallBody(c));
    const upload = (await store.upload(id))!;
    const have = new Map((await store.parts(id)).map((p) => [p.partNumber, p]));
    // The ETag S3 clients expect of a multipart object: MD5 of the concatenated binary part MD5s, "-N".
    const etagHash = createHash('md5');
    let previous = 0;
    for (const [i, w] of wanted.entries()) {
      if (w.partNumber <= previous) throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.');
      previous = w.partNumber;
      const p = have.get(w.partNumber);
      if (!p || p.etag !== w.etag) throw new S3Error('InvalidPart', `part ${w.partNumber} was not uploaded or its ETag is not "${w.etag}"`);
      if (i < wanted.length - 1 && p.size < MIN_PART_BYTES) throw new S3Error('EntityTooSmall', `part ${w.partNumber} has ${p.size} bytes; every part but the last needs at least ${MIN_PART_BYTES}`);
      etagHash.update(Buffer.from(p.etag, 'hex'));
    }
    const etag = `${etagHash.digest('hex')}-${wanted.length}`;
    const file = store.spoolFile();
    try {
      const w = createWriteStream(file, { flags: 'wx', mode: 0o600 });
      try {
        for (const part of wanted) await pipeline(createReadStream(store.partFile(id, part.partNumber)), w, { end: false });
        await new Promise<void>((resolve, reject) => w.end((err?: Error | null) => (err ? reject(err) : resolve())));
      } finally {
        w.destroy();
      }
      const stored = await storeFile(c, collection, key, file, upload.contentType, etag, upload.userMeta);
      await store.removeUpload(id);
      sendXml(
        c.res,
        200,
        `<CompleteMultipartUploadResult xmlns="${S3_NS}">${el('Location', `/${c.bucket}/${uriEncode(key, false)}`)}${el('Bucket', c.bucket)}${el('Key', key)}${el('ETag', `"${etag}"`)}</CompleteMultipartUploadResult>`,
        wolkHeaders(stored.filehash, stored.round),
      );
    } finally {
      await rm(file, { force: true });
    }
  }

  async function abortMultipart(c: Ctx, collection: string): Promise<void> {
    const id = await uploadOf(c, collection, validKey(c.key));
    await store.removeUpload(id);
    c.res.writeHead(204);
    c.res.end();
  }

  function notImplemented(what: string): never {
    throw new S3Error('NotImplemented', `${what} is not implemented by wolk s3 (docs/s3.md lists the operations it supports)`);
  }

  async function route(c: Ctx): Promise<void> {
    const m = c.req.method ?? '';
    const params = [...c.query.keys()].filter((k) => !PRESIGN_PARAMS.has(k) && k !== 'x-id'); // x-id: the SDK names the operation
    if (c.bucket === '') {
      if (m === 'GET' && params.length === 0) return listBuckets(c);
      return notImplemented(`${m} /`);
    }
    const collection = collectionOf(c.bucket, backend.owner);
    if (c.key === '') {
      const sub = params.find((k) => !LIST_PARAMS.has(k));
      if (m === 'GET' && sub === 'location') {
        await requireBucket(collection);
        return sendXml(c.res, 200, `<LocationConstraint xmlns="${S3_NS}"></LocationConstraint>`);
      }
      if (sub !== undefined) return notImplemented(`the bucket subresource ?${sub} (${m})`);
      if (m === 'PUT') return createBucket(c, collection);
      if (m === 'HEAD') return requireBucket(collection).then(() => void (c.res.writeHead(200, { 'content-length': '0' }), c.res.end()));
      if (m === 'GET') return listObjects(c, collection);
      if (m === 'DELETE') return notImplemented('DeleteBucket (the Wolk chain has no delete of a collection)');
      return notImplemented(`${m} on a bucket`);
    }
    const sub = params.find((k) => !OBJECT_PARAMS.has(k));
    if (sub !== undefined) return notImplemented(`the object subresource ?${sub} (${m})`);
    const q = c.query;
    if (m === 'PUT') return q.has('uploadId') || q.has('partNumber') ? uploadPart(c, collection) : putObject(c, collection);
    if (m === 'GET') return q.has('uploadId') ? listParts(c, collection) : getObject(c, collection, 'GET');
    if (m === 'HEAD') return getObject(c, collection, 'HEAD');
    if (m === 'POST' && q.has('uploads')) return createMultipart(c, collection);
    if (m === 'POST' && q.has('uploadId')) return completeMultipart(c, collection);
    if (m === 'DELETE' && q.has('uploadId')) return abortMultipart(c, collection);
    if (m === 'DELETE') return notImplemented('DeleteObject (the Wolk chain has no delete of a key: a key can only be written again)');
    return notImplemented(`${m} on an object`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    res.setHeader('x-amz-request-id', requestId);
    res.setHeader('server', 'wolk-s3');
    const url = req.url ?? '/';
    const qi = url.indexOf('?');
    const rawPath = qi < 0 ? url : url.slice(0, qi);
    const rawQuery = qi < 0 ? '' : url.slice(qi + 1);
    try {
      if (!rawPath.startsWith('/')) throw new S3Error('InvalidURI', 'the request target must be a path');
      const verified = verifyRequest({ method: req.method ?? '', rawPath, rawQuery, headers: headersOf(req) }, d.credentials, d.now());
      const slash = rawPath.indexOf('/', 1);
      const bucket = percentDecode(slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash));
      const key = slash < 0 ? '' : percentDecode(rawPath.slice(slash + 1));
      const query = new Map<string, string>();
      for (const pair of rawQuery.split('&')) {
        if (!pair) continue;
        const i = pair.indexOf('=');
        query.set(percentDecode(i < 0 ? pair : pair.slice(0, i)), i < 0 ? '' : percentDecode(pair.slice(i + 1)));
      }
      await route({ req, res, verified, query, bucket, key });
    } catch (err) {
      const e = err instanceof S3Error ? err : s3ErrorOf(err, `${req.method} ${rawPath}`);
      if (e.status >= 500) d.log(`${req.method} ${rawPath.slice(0, 200)}: ${e.code}: ${e.message}`);
      if (res.headersSent) {
        // The answer had started (a GET cut off mid-body): all that is left is to cut the connection.
        res.destroy(e);
        return;
      }
      const body = req.method === 'HEAD' ? undefined : Buffer.from(errorXml(e, rawPath, requestId), 'utf8');
      // A body not read to its end cannot be left on the connection for the next request.
      const unread = !req.readableEnded;
      res.writeHead(e.status, { 'content-type': 'application/xml', ...(body ? { 'content-length': String(body.length) } : {}), ...(unread ? { connection: 'close' } : {}), ...e.headers });
      res.end(body);
      if (unread) res.once('finish', () => req.destroy());
    }
  }

  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      d.log(`unhandled: ${err instanceof Error ? err.stack : String(err)}`);
      res.destroy();
    });
  });
}
