// ListObjectsV2 (and V1) paging over a source of keys in ascending byte order: prefix, delimiter
// (CommonPrefixes roll up every key sharing a prefix up to the next delimiter), StartAfter / Marker,
// max-keys (keys and common prefixes together), and an opaque continuation token that resumes after
// the last key or common prefix of the page. Pure over its source: the server feeds it the gateway's
// listing, the unit tests an array.
import { S3Error } from './errors.js';

export interface ListEntry {
  readonly key: string;
}

export interface ListQuery {
  readonly prefix: string;
  readonly delimiter: string;
  readonly maxKeys: number;
  /** StartAfter (V2) or Marker (V1): keys strictly after this one. */
  readonly startAfter?: string;
  /** A token from an earlier page's NextContinuationToken. */
  readonly continuationToken?: string;
}

export interface ListPage<E extends ListEntry> {
  readonly contents: E[];
  readonly commonPrefixes: string[];
  readonly isTruncated: boolean;
  /** Present when truncated: resumes after the page's last key or common prefix. */
  readonly nextContinuationToken?: string;
  /** The last key or common prefix on the page (V1's NextMarker). */
  readonly lastMarker?: string;
}

/** S3 sorts keys by their UTF-8 bytes (JavaScript's < compares UTF-16 units, which differs above U+FFFF). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

interface Resume {
  /** Resume strictly after this key… */
  readonly after: string;
  /** …and, when it was a common prefix, after every key under it. */
  readonly isPrefix: boolean;
}

export function encodeToken(r: Resume): string {
  return Buffer.from(JSON.stringify({ a: r.after, p: r.isPrefix ? 1 : 0 }), 'utf8').toString('base64url');
}

export function decodeToken(token: string): Resume {
  try {
    if (!/^[A-Za-z0-9_-]{1,8192}$/.test(token)) throw new Error('not base64url');
    const j = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { a?: unknown; p?: unknown };
    if (typeof j.a !== 'string' || (j.p !== 0 && j.p !== 1)) throw new Error('bad fields');
    return { after: j.a, isPrefix: j.p === 1 };
  } catch {
    throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect');
  }
}

/** One page of a listing. The source must yield keys in ascending UTF-8 byte order (the gateway's order). */
export async function listPage<E extends ListEntry>(source: AsyncIterable<E> | Iterable<E>, q: ListQuery): Promise<ListPage<E>> {
  const resume: Resume | undefined = q.continuationToken !== undefined ? decodeToken(q.continuationToken) : q.startAfter ? { after: q.startAfter, isPrefix: false } : undefined;
  const contents: E[] = [];
  const commonPrefixes: string[] = [];
  let last: Resume | undefined;
  let isTruncated = false;
  for await (const e of source) {
    if (!e.key.startsWith(q.prefix)) continue;
    if (resume) {
      if (compareKeys(e.key, resume.after) <= 0) continue;
      if (resume.isPrefix && e.key.startsWith(resume.after)) continue;
    }
    let rolled: string | undefined;
    if (q.delimiter) {
      const i = e.key.indexOf(q.delimiter, q.prefix.length);
      if (i >= 0) rolled = e.key.slice(0, i + q.delimiter.length);
    }
    if (rolled !== undefined && rolled === commonPrefixes[commonPrefixes.length - 1]) continue;
    if (contents.length + commonPrefixes.length >= q.maxKeys) {
      isTruncated = true;
      break;
    }
    if (rolled !== undefined) {
      commonPrefixes.push(rolled);
      last = { after: rolled, isPrefix: true };
    } else {
      contents.push(e);
      last = { after: e.key, isPrefix: false };
    }
  }
  const marker = last ?? resume ?? { after: '', isPrefix: false };
  return {
    contents,
    commonPrefixes,
    isTruncated,
    ...(isTruncated ? { nextContinuationToken: encodeToken(marker) } : {}),
    ...(last ? { lastMarker: last.after } : {}),
  };
}
