// Reading a request at the edge: the /wolk/... path, and every header a flow relies on, each parsed
// here and refused with a 400 naming it when present but broken (never a 500 from deep inside a flow).
import type { IncomingMessage } from 'node:http';
import { SignedTransaction } from '../../gen/wolk/common/v1/tx.js';
import { COLLECTION_RE, NAME_RE, isValidKey } from '../../lib/chain/state-keys.js';
import { parseContentDigest } from '../../lib/http/signatures.js';
import { HeaderError, problem } from './problems.js';
import { bodyPieces } from './spool.js';

export interface WolkPath {
  readonly owner: string;
  readonly collection?: string;
  readonly key?: string;
  readonly listing: boolean;
}

/** /wolk/{owner}[/{collection}/[{key}]] with percent-decoding; 400 on an invalid name. */
export function parseWolkPath(rawPath: string): WolkPath {
  const rest = rawPath.slice('/wolk/'.length);
  const slash = rest.indexOf('/');
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw problem(400, 'malformed-path', 'Bad Request', 'the path has a broken percent-encoding');
    }
  };
  const owner = dec(slash < 0 ? rest : rest.slice(0, slash));
  if (!NAME_RE.test(owner)) throw problem(400, 'malformed-path', 'Bad Request', `"${owner}" is not an owner name (1-63 of [a-z0-9-], not starting or ending with '-')`);
  if (slash < 0 || slash === rest.length - 1) return { owner, listing: false };
  const rest2 = rest.slice(slash + 1);
  const slash2 = rest2.indexOf('/');
  if (slash2 < 0) throw problem(400, 'malformed-path', 'Bad Request', 'expected /wolk/OWNER/COLLECTION/KEY or /wolk/OWNER/COLLECTION/');
  const collection = dec(rest2.slice(0, slash2));
  if (!COLLECTION_RE.test(collection)) throw problem(400, 'malformed-path', 'Bad Request', `"${collection}" is not a collection name (1-63 of [a-z0-9._-])`);
  const keyRaw = rest2.slice(slash2 + 1);
  if (keyRaw === '') return { owner, collection, listing: true };
  const key = dec(keyRaw);
  if (!isValidKey(key)) throw problem(400, 'malformed-path', 'Bad Request', 'a key is 1 to 1024 bytes of UTF-8 without NUL');
  return { owner, collection, key, listing: false };
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** The sha-256 of Content-Digest (RFC 9530); null when absent or without sha-256; 400 when broken. */
export function contentDigest(req: IncomingMessage): Uint8Array | null {
  const field = header(req, 'content-digest');
  if (field === undefined) return null;
  try {
    return parseContentDigest(field);
  } catch (err) {
    throw new HeaderError('content-digest', `${(err as Error).message.replace(/^Content-Digest: /, '')} (expected sha-256=:<base64 of 32 bytes>:)`);
  }
}

/** Content-Length when sent (Node's parser already refused a non-numeric one). */
export function declaredLength(req: IncomingMessage): number | undefined {
  const v = header(req, 'content-length');
  if (v === undefined) return undefined;
  const n = /^\d+$/.test(v.trim()) ? Number(v.trim()) : NaN;
  if (!Number.isSafeInteger(n)) throw new HeaderError('content-length', `"${v}" is not a byte count`);
  return n;
}

/** The Wolk-Transaction header of a file PUT: the user's signed SetKey intent. */
export function transactionHeader(req: IncomingMessage): SignedTransaction {
  const raw = header(req, 'wolk-transaction');
  if (!raw) throw problem(400, 'missing-transaction', 'Bad Request', 'a PUT carries the signed SetKey intent in the Wolk-Transaction header (base64 SignedTransaction)');
  try {
    return SignedTransaction.decode(Buffer.from(raw, 'base64'));
  } catch {
    throw problem(400, 'malformed-transaction', 'Bad Request', 'Wolk-Transaction is not a base64 SignedTransaction');
  }
}

/** Whether the client asked for an answer before the upload is final (RFC 7240 respond-async). */
export function prefersAsync(req: IncomingMessage): boolean {
  return /\brespond-async\b/i.test(header(req, 'prefer') ?? '');
}

/** A body of at most `max` bytes, read whole (the body signal and idle timeout as for uploads). */
export async function readSmallBody(req: IncomingMessage, max: number, o: { signal?: AbortSignal | undefined; idleMs?: number | undefined } = {}): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const piece of bodyPieces(req, o)) {
    n += piece.length;
    if (n > max) throw problem(413, 'too-large', 'Content Too Large', `this request's body may have at most ${max} bytes`);
    parts.push(piece);
  }
  return Buffer.concat(parts);
}
