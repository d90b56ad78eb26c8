// SigV4 verification (lib/s3/sigv4.ts) against AWS's published S3 examples ("Authenticating Requests:
// Using the Authorization Header", examples GET Object and the aws-chunked PUT Object; the signatures
// below are the ones printed there) and against an independent signer: the AWS SDK's own
// @smithy/signature-v4 signing seeded random requests, header and presigned forms.
import test from 'ava';
import { createHash, createHmac, type Hash as NodeHash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { decodeAwsChunked } from '../../../lib/s3/chunked.js';
import { S3Error } from '../../../lib/s3/errors.js';
import { EMPTY_SHA256, STREAMING_PAYLOAD, verifyRequest, type Credentials } from '../../../lib/s3/sigv4.js';
import { logSeedOnFailure, testPrng } from '../../helpers/seed.js';

logSeedOnFailure(test);

/** The hash the SDK's signer asks for (its Checksum interface), over node:crypto. */
class Sha256 {
  private readonly h: NodeHash | Hmac;
  constructor(secret?: string | Uint8Array) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', secret);
  }
  update(data: string | Uint8Array): void {
    this.h.update(data);
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
  reset(): void {}
}

const AKID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const creds: Credentials = { lookup: (id) => (id === AKID ? SECRET : undefined) };
const T = Date.UTC(2013, 4, 24, 0, 0, 0);

const getObject = (signature: string, secretOk = true) => ({
  method: 'GET',
  rawPath: '/test.txt',
  rawQuery: '',
  headers: {
    host: 'examplebucket.s3.amazonaws.com',
    range: 'bytes=0-9',
    'x-amz-content-sha256': EMPTY_SHA256,
    'x-amz-date': '20130524T000000Z',
    authorization: `AWS4-HMAC-SHA256 Credential=${secretOk ? AKID : 'AKIDUNKNOWN'}/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=${signature}`,
  },
});

const AWS_GET_SIGNATURE = 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41';

test("AWS's GET Object example verifies; a wrong secret, a changed header, an unknown key id and a stale date do not", (t) => {
  t.deepEqual(verifyRequest(getObject(AWS_GET_SIGNATURE), creds, T), { accessKeyId: AKID, payload: { kind: 'sha256', hex: EMPTY_SHA256 } });
  const wrongSecret: Credentials = { lookup: (id) => (id === AKID ? SECRET + 'x' : undefined) };
  t.is(t.throws(() => verifyRequest(getObject(AWS_GET_SIGNATURE), wrongSecret, T), { instanceOf: S3Error })!.code, 'SignatureDoesNotMatch');
  const changed = getObject(AWS_GET_SIGNATURE);
  changed.headers.range = 'bytes=0-10';
  t.is(t.throws(() => verifyRequest(changed, creds, T), { instanceOf: S3Error })!.code, 'SignatureDoesNotMatch');
  t.is(t.throws(() => verifyRequest(getObject(AWS_GET_SIGNATURE, false), creds, T), { instanceOf: S3Error })!.code, 'InvalidAccessKeyId');
  t.is(t.throws(() => verifyRequest(getObject(AWS_GET_SIGNATURE), creds, T + 16 * 60_000), { instanceOf: S3Error })!.code, 'RequestTimeTooSkewed');
  const unsigned = getObject(AWS_GET_SIGNATURE);
  delete (unsigned.headers as Record<string, string | undefined>)['authorization'];
  t.is(t.throws(() => verifyRequest(unsigned, creds, T), { instanceOf: S3Error })!.code, 'AccessDenied');
});

test("AWS's aws-chunked PUT Object example: seed and chunk signatures verify, a flipped byte does not", async (t) => {
  const seed = '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9';
  const put = {
    method: 'PUT',
    rawPath: '/examplebucket/chunkObject.txt',
    rawQuery: '',
    headers: {
      host: 's3.amazonaws.com',
      'x-amz-date': '20130524T000000Z',
      'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      'x-amz-content-sha256': STREAMING_PAYLOAD,
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': '66560',
      'content-length': '66824',
      authorization: `AWS4-HMAC-SHA256 Credential=${AKID}/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=${seed}`,
    },
  };
  const v = verifyRequest(put, creds, T);
  if (v.payload.kind !== 'streaming') return t.fail('expected a streaming payload');
  const body = Buffer.concat([
    Buffer.from('10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n'),
    Buffer.alloc(65536, 'a'),
    Buffer.from('\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n'),
    Buffer.alloc(1024, 'a'),
    Buffer.from('\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n'),
  ]);
  t.is(body.length, 66824);
  const decode = async (b: Buffer, pieceSize: number) => {
    const pieces = [];
    for (let i = 0; i < b.length; i += pieceSize) pieces.push(b.subarray(i, i + pieceSize));
    const out: Buffer[] = [];
    for await (const p of decodeAwsChunked(pieces, v.payload.kind === 'streaming' ? v.payload : undefined, 66560)) out.push(p);
    return Buffer.concat(out);
  };
  // Split at every awkward place: one byte at a time through the headers and CRLFs, and in odd pieces.
  for (const size of [1, 7, 1000, 70_000]) t.true((await decode(body, size)).equals(Buffer.alloc(66560, 'a')), `pieces of ${size}`);
  const flipped = Buffer.from(body);
  flipped[200] = 'b'.charCodeAt(0);
  t.is((await t.throwsAsync(decode(flipped, 4096), { instanceOf: S3Error }))!.code, 'SignatureDoesNotMatch');
  const truncated = body.subarray(0, body.length - 90);
  t.is((await t.throwsAsync(decode(truncated, 4096), { instanceOf: S3Error }))!.code, 'IncompleteBody');
});

test('aws-chunked without signatures decodes; malformed headers are refused, not crashed on', async (t) => {
  const run = async (s: string) => {
    const out: Buffer[] = [];
    for await (const p of decodeAwsChunked([Buffer.from(s)], undefined)) out.push(p);
    return Buffer.concat(out).toString();
  };
  t.is(await run('3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n'), 'abcde');
  for (const bad of ['zz\r\nabc\r\n0\r\n\r\n', '3\r\nabcX\r\n0\r\n\r\n', '3\r\nabc\r\n', '0\r\n\r\nmore']) {
    await t.throwsAsync(run(bad), { instanceOf: S3Error }, JSON.stringify(bad));
  }
});

test("requests signed by the AWS SDK's own signer (seeded random paths, queries, headers) verify, header and presigned", async (t) => {
  const prng = testPrng('unit/s3/sigv4');
  const signer = new SignatureV4({ credentials: { accessKeyId: AKID, secretAccessKey: SECRET }, region: 'us-east-1', service: 's3', sha256: Sha256 as unknown as ConstructorParameters<typeof SignatureV4>[0]['sha256'], uriEscapePath: false, applyChecksum: false });
  const alphabet = 'abcXYZ019 -_.~/+=&?%#:@!$\'()*,;é日本🙂';
  const pick = (n: number) => Array.from({ length: n }, () => [...alphabet][prng.next() % [...alphabet].length]).join('');
  for (let i = 0; i < 25; i++) {
    const key = pick(1 + (prng.next() % 20)).replace(/^\/+/, 'k');
    const path = '/bucket/' + key.split('/').map((s) => encodeURIComponent(s)).join('/');
    const query: Record<string, string> = { prefix: pick(prng.next() % 6), 'max-keys': String(prng.next() % 1000) };
    const body = Buffer.from(pick(prng.next() % 50));
    const now = new Date(T + (prng.next() % 1000) * 1000);
    const request = {
      method: 'PUT',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 9000,
      path,
      query,
      headers: { host: '127.0.0.1:9000', 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'), 'x-amz-meta-note': `  two  spaces ${i}  ` },
      body,
    };
    const rawQuery = Object.entries(query)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
      .join('&');
    const signed = await signer.sign(request, { signingDate: now });
    const headers = Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v]));
    t.is(verifyRequest({ method: 'PUT', rawPath: path, rawQuery, headers }, creds, now.getTime()).accessKeyId, AKID, `header form, key ${JSON.stringify(key)}`);
    // As @aws-sdk/s3-request-presigner does: the payload is not signed, and the signer moves that header into the query.
    const presigned = await signer.presign({ ...request, body: undefined, headers: { host: '127.0.0.1:9000', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }, { signingDate: now, expiresIn: 600 });
    const presignedQuery = Object.entries(presigned.query ?? {})
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    t.is(verifyRequest({ method: 'PUT', rawPath: path, rawQuery: presignedQuery, headers: { host: '127.0.0.1:9000' } }, creds, now.getTime()).accessKeyId, AKID, `presigned, key ${JSON.stringify(key)}`);
    const expired = t.throws(() => verifyRequest({ method: 'PUT', rawPath: path, rawQuery: presignedQuery, headers: { host: '127.0.0.1:9000' } }, creds, now.getTime() + 601_000), { instanceOf: S3Error });
    t.is(expired!.code, 'AccessDenied');
  }
});
