// AWS Signature Version 4 as S3 checks it (AWS "Signature Version 4 signing process" and the S3 API
// reference "Authenticating Requests (AWS Signature Version 4)"): the Authorization header form and the
// presigned query form, verified against the endpoint's credentials. Pure: the clock comes in as data.
//
// canonical request = METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n HashedPayload
// string to sign    = "AWS4-HMAC-SHA256" \n AMZ-DATE \n SCOPE \n hex(sha256(canonical request))
// signing key       = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, DATE), REGION), SERVICE), "aws4_request")
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { S3Error } from './errors.js';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const STREAMING_PAYLOAD = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const EMPTY_SHA256 = createHash('sha256').digest('hex');
/** How far x-amz-date may be from the endpoint's clock (S3's own window). */
export const MAX_SKEW_MS = 15 * 60 * 1000;
/** The longest X-Amz-Expires S3 accepts: 7 days. */
export const MAX_EXPIRES_S = 7 * 24 * 3600;

export interface Credentials {
  /** Access key id → secret access key. */
  readonly lookup: (accessKeyId: string) => string | undefined;
}

export interface SignedRequest {
  readonly method: string;
  /** The path exactly as sent (percent-encoded), without the query. */
  readonly rawPath: string;
  /** The query exactly as sent, without the "?" ('' when none). */
  readonly rawQuery: string;
  /** Header names lowercase; repeated headers joined with ",". */
  readonly headers: Readonly<Record<string, string | undefined>>;
}

/** What a verified request is allowed to send as its body. */
export type PayloadMode =
  | { readonly kind: 'unsigned' }
  | { readonly kind: 'sha256'; readonly hex: string }
  | { readonly kind: 'streaming'; readonly seedSignature: string; readonly signingKey: Buffer; readonly amzDate: string; readonly scope: string };

export interface Verified {
  readonly accessKeyId: string;
  readonly payload: PayloadMode;
}

/** UriEncode of the SigV4 spec: every byte but A-Z a-z 0-9 - _ . ~ as %XX (uppercase); "/" kept when encodeSlash is false. */
export function uriEncode(s: string, encodeSlash: boolean): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (c === '/' && !encodeSlash)) out += c;
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** Percent-decoding that refuses malformed escapes with an S3 error instead of throwing URIError. */
export function percentDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new S3Error('InvalidURI', `"${s.slice(0, 200)}" is not valid percent-encoding`);
  }
}

/** S3's canonical URI: the decoded path re-encoded once, "/" kept (S3 does not normalize or double-encode). */
export function canonicalUri(rawPath: string): string {
  return uriEncode(percentDecode(rawPath || '/'), false);
}

/** The query as decoded name/value pairs, in order. */
export function parseQuery(rawQuery: string): [string, string][] {
  if (!rawQuery) return [];
  return rawQuery
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const i = p.indexOf('=');
      return i < 0 ? [percentDecode(p), ''] : [percentDecode(p.slice(0, i)), percentDecode(p.slice(i + 1))];
    });
}

/** Pairs encoded and sorted by name, then value; `omit` (X-Amz-Signature of a presigned URL) left out. */
export function canonicalQuery(pairs: readonly [string, string][], omit?: string): string {
  return pairs
    .filter(([k]) => k !== omit)
    .map(([k, v]) => [uriEncode(k, true), uriEncode(v, true)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** Canonical headers: `name:value\n` for each signed header, values trimmed and inner runs of spaces collapsed. */
export function canonicalHeaders(headers: SignedRequest['headers'], signed: readonly string[]): string {
  return signed.map((h) => `${h}:${(headers[h] ?? '').trim().replace(/ +/g, ' ')}\n`).join('');
}

export function canonicalRequest(r: SignedRequest, signed: readonly string[], payloadHash: string, query: string, uri = canonicalUri(r.rawPath)): string {
  return [r.method, uri, query, canonicalHeaders(r.headers, signed), signed.join(';'), payloadHash].join('\n');
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return [ALGORITHM, amzDate, scope, createHash('sha256').update(canonical, 'utf8').digest('hex')].join('\n');
}

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = createHmac('sha256', 'AWS4' + secret).update(date).digest();
  const kRegion = createHmac('sha256', kDate).update(region).digest();
  const kService = createHmac('sha256', kRegion).update(service).digest();
  return createHmac('sha256', kService).update('aws4_request').digest();
}

export function hmacHex(key: Buffer, data: string): string {
  return createHmac('sha256', key).update(data, 'utf8').digest('hex');
}

/** Chunk signature of aws-chunked uploads: chained from the previous chunk's (the seed: the request's). */
export function chunkStringToSign(amzDate: string, scope: string, previous: string, chunkSha256Hex: string): string {
  return ['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, previous, EMPTY_SHA256, chunkSha256Hex].join('\n');
}

export function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** yyyymmddThhmmssZ → epoch ms, or NaN. */
export function parseAmzDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

interface Parsed {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: string[];
  readonly signature: string;
  readonly amzDate: string;
}

function parseCredential(credential: string, signedHeaders: string, signature: string, amzDate: string): Parsed {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || !/^\d{8}$/.test(parts[1]!)) {
    throw new S3Error('AuthorizationHeaderMalformed', `the credential must be ACCESS_KEY_ID/YYYYMMDD/REGION/SERVICE/aws4_request, got "${credential.slice(0, 200)}"`);
  }
  const headers = signedHeaders.split(';');
  if (headers.some((h) => !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(h))) throw new S3Error('AuthorizationHeaderMalformed', `malformed SignedHeaders "${signedHeaders.slice(0, 200)}"`);
  if (!headers.includes('host')) throw new S3Error('AuthorizationHeaderMalformed', 'SignedHeaders must include host');
  if (!/^[0-9a-f]{64}$/.test(signature)) throw new S3Error('AuthorizationHeaderMalformed', 'the signature must be 64 lowercase hex digits');
  if (Number.isNaN(parseAmzDate(amzDate))) throw new S3Error('AccessDenied', `x-amz-date must be YYYYMMDDTHHMMSSZ, got "${amzDate.slice(0, 40)}"`);
  if (amzDate.slice(0, 8) !== parts[1]) throw new S3Error('SignatureDoesNotMatch', `the credential's date ${parts[1]} is not the day of x-amz-date ${amzDate}`);
  return { accessKeyId: parts[0]!, date: parts[1]!, region: parts[2]!, service: parts[3]!, signedHeaders: headers, signature, amzDate };
}

/** The Authorization header's fields (AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…). */
function parseAuthorization(value: string): { credential: string; signedHeaders: string; signature: string } {
  if (!value.startsWith(ALGORITHM + ' ')) {
    throw new S3Error('AuthorizationHeaderMalformed', `only ${ALGORITHM} is supported (Signature Version 4); got "${value.split(' ')[0]?.slice(0, 40) ?? ''}"`);
  }
  const fields = new Map<string, string>();
  for (const part of value.slice(ALGORITHM.length + 1).split(',')) {
    const i = part.indexOf('=');
    if (i > 0) fields.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature) throw new S3Error('AuthorizationHeaderMalformed', 'the Authorization header needs Credential, SignedHeaders and Signature');
  return { credential, signedHeaders, signature };
}

/**
 * Verifies a request's SigV4 signature (header or presigned query) at time `nowMs`. Throws S3Error:
 * AccessDenied (no signature, expired, skewed), InvalidAccessKeyId, SignatureDoesNotMatch,
 * AuthorizationHeaderMalformed / AuthorizationQueryParametersError, InvalidArgument (payload hash).
 */
export function verifyRequest(r: SignedRequest, creds: Credentials, nowMs: number): Verified {
  const pairs = parseQuery(r.rawQuery);
  const q = new Map(pairs);
  const auth = r.headers['authorization'];
  let p: Parsed;
  let payloadHash: string;
  let query: string;
  if (auth !== undefined) {
    const a = parseAuthorization(auth);
    const amzDate = r.headers['x-amz-date'] ?? '';
    p = parseCredential(a.credential, a.signedHeaders, a.signature, amzDate);
    if (Math.abs(nowMs - parseAmzDate(amzDate)) > MAX_SKEW_MS) throw new S3Error('RequestTimeTooSkewed', `x-amz-date ${amzDate} is more than 15 minutes from the endpoint's clock`);
    payloadHash = r.headers['x-amz-content-sha256'] ?? '';
    if (!payloadHash) throw new S3Error('InvalidRequest', 'x-amz-content-sha256 is required (a hex SHA-256, UNSIGNED-PAYLOAD or STREAMING-AWS4-HMAC-SHA256-PAYLOAD)');
    query = canonicalQuery(pairs);
  } else if (q.has('X-Amz-Signature') || q.has('X-Amz-Credential')) {
    if (q.get('X-Amz-Algorithm') !== ALGORITHM) throw new S3Error('AuthorizationQueryParametersError', `X-Amz-Algorithm must be ${ALGORITHM}`);
    const need = ['X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature'];
    const missing = need.filter((k) => !q.has(k));
    if (missing.length) throw new S3Error('AuthorizationQueryParametersError', `a presigned URL needs ${missing.join(', ')}`);
    p = parseCredential(q.get('X-Amz-Credential')!, q.get('X-Amz-SignedHeaders')!, q.get('X-Amz-Signature')!, q.get('X-Amz-Date')!);
    const expires = q.get('X-Amz-Expires')!;
    if (!/^\d{1,7}$/.test(expires) || Number(expires) > MAX_EXPIRES_S) throw new S3Error('AuthorizationQueryParametersError', `X-Amz-Expires must be 0..${MAX_EXPIRES_S} seconds`);
    const signedAt = parseAmzDate(p.amzDate);
    if (nowMs > signedAt + Number(expires) * 1000) throw new S3Error('AccessDenied', 'Request has expired');
    if (signedAt - nowMs > MAX_SKEW_MS) throw new S3Error('RequestTimeTooSkewed', `X-Amz-Date ${p.amzDate} is in the future`);
    payloadHash = q.get('X-Amz-Content-Sha256') ?? UNSIGNED_PAYLOAD;
    query = canonicalQuery(pairs, 'X-Amz-Signature');
  } else {
    throw new S3Error('AccessDenied', 'the request is not signed (AWS Signature Version 4 is required)');
  }
  const secret = creds.lookup(p.accessKeyId);
  if (secret === undefined) throw new S3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  if (payloadHash !== UNSIGNED_PAYLOAD && payloadHash !== STREAMING_PAYLOAD && !/^[0-9a-f]{64}$/.test(payloadHash)) {
    throw new S3Error('InvalidArgument', `x-amz-content-sha256 must be a hex SHA-256, ${UNSIGNED_PAYLOAD} or ${STREAMING_PAYLOAD}; got "${payloadHash.slice(0, 80)}"`);
  }
  const scope = `${p.date}/${p.region}/${p.service}/aws4_request`;
  const key = signingKey(secret, p.date, p.region, p.service);
  const expectedFor = (uri: string) => hmacHex(key, stringToSign(p.amzDate, scope, canonicalRequest(r, p.signedHeaders, payloadHash, query, uri)));
  // Clients differ on characters such as !'()* in a key: most encode them (the spec's UriEncode), some
  // send and sign them as they are. Either is the same key; the path as sent is tried second.
  const uri = canonicalUri(r.rawPath);
  if (!sameHex(expectedFor(uri), p.signature) && (uri === r.rawPath || !sameHex(expectedFor(r.rawPath), p.signature))) {
    throw new S3Error('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
  }
  const payload: PayloadMode =
    payloadHash === UNSIGNED_PAYLOAD
      ? { kind: 'unsigned' }
      : payloadHash === STREAMING_PAYLOAD
        ? { kind: 'streaming', seedSignature: p.signature, signingKey: key, amzDate: p.amzDate, scope }
        : { kind: 'sha256', hex: payloadHash };
  return { accessKeyId: p.accessKeyId, payload };
}
