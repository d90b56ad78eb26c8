// What `wolk s3` asks of Wolk, through lib/client's WolkClient against any gateway, signed with the
// user's own Ed25519 key (non-custodial: the key never leaves this process). Gateway answers become
// S3 errors here, in one place.
import type { Readable } from 'node:stream';
import { WolkClient, WolkHttpError } from '../client/client.js';
import type { ClientKey } from '../client/signing.js';
import { GatewayUnreachableError, send, text } from '../client/transport.js';
import { gatewayPath } from '../client/uri.js';
import { S3Error } from './errors.js';

export interface ObjectEntry {
  readonly key: string;
  readonly filehash: string;
  readonly size: number;
  readonly round?: string;
}

export interface StoredObject {
  readonly filehash: string;
  readonly size: number;
  readonly round: string;
}

/** A GET or HEAD of an object as the gateway answered it (status 200 or 206). */
export interface ObjectRead {
  readonly status: number;
  readonly filehash: string;
  readonly round: string | undefined;
  readonly contentType: string;
  readonly contentLength: number;
  readonly contentRange: string | undefined;
  readonly body: Readable;
}

/** The Wolk operations the S3 endpoint needs; the server is written against this, tests may swap it. */
export interface WolkBackend {
  readonly owner: string;
  bucketExists(collection: string, signal?: AbortSignal): Promise<boolean>;
  makeBucket(collection: string): Promise<void>;
  putFile(collection: string, key: string, file: string, contentType: string): Promise<StoredObject>;
  read(method: 'GET' | 'HEAD', collection: string, key: string, range: string | undefined, signal?: AbortSignal): Promise<ObjectRead>;
  keys(collection: string, prefix: string, signal?: AbortSignal): AsyncIterable<ObjectEntry>;
}

/** How long a PutObject waits for the SetKey to become final after the gateway answered 202. */
const FINALITY_WAIT_MS = 300_000;

/** A gateway failure as the S3 error a client understands. */
export function s3ErrorOf(err: unknown, what: string): S3Error {
  if (err instanceof S3Error) return err;
  if (err instanceof GatewayUnreachableError) return new S3Error('ServiceUnavailable', `${what}: ${err.message}`);
  if (err instanceof WolkHttpError) {
    const detail = `${what}: the gateway answered ${err.message}`;
    if (err.status === 413) return new S3Error('EntityTooLarge', detail);
    if (err.status === 403) return new S3Error('AccessDenied', detail);
    if (err.status === 404) return new S3Error('NoSuchKey', detail);
    // The gateway's rate limit (429, docs/http-api.md "Limits"): S3's own word for it, which SDKs retry with backoff.
    if (err.status === 429) return new S3Error('SlowDown', detail);
    if (err.status === 503 || err.status === 502) return new S3Error('ServiceUnavailable', detail);
    if (err.status === 400 || err.status === 422) return new S3Error('InvalidRequest', detail);
    return new S3Error('InternalError', detail);
  }
  return new S3Error('InternalError', `${what}: ${err instanceof Error ? err.message : String(err)}`);
}

async function problem(res: { status: number; body: Readable & { statusMessage?: string } } & Parameters<typeof text>[0]): Promise<WolkHttpError> {
  const body = await text(res);
  try {
    return new WolkHttpError(res.status, JSON.parse(body) as Record<string, unknown>);
  } catch {
    return new WolkHttpError(res.status, { detail: body.slice(0, 300) });
  }
}

/**
 * `uploadStateDir`: objects of RESUMABLE_MIN_BYTES or more (a CompleteMultipartUpload's assembled
 * object, a large PutObject) go to the gateway as resumable (tus) uploads with their state there, so a
 * gateway cut or restart mid-transfer is resumed from the gateway's offset instead of sent again.
 */
export function wolkBackend(gateway: string, key: ClientKey, owner: string, o: { uploadStateDir?: string } = {}): WolkBackend {
  const client = new WolkClient(gateway, key);
  const uri = (collection: string, k?: string) => `wolk://${owner}/${collection}/${k ?? ''}`;
  // Writes run side by side: the client hands concurrent transactions of this key consecutive nonces
  // (lib/client/nonces.ts) and signs again after a refusal for the nonce.
  return {
    owner,
    async bucketExists(collection, signal) {
      try {
        const s = await client.json<{ onChain?: boolean }>(`${gatewayPath({ owner, collection })}?settings`, signal);
        if (s.onChain) return true;
        // A collection also exists once its first key is written, without a SetBucket (docs/http-api.md).
        const page = await client.json<{ keys?: unknown[] }>(`${gatewayPath({ owner, collection })}?limit=1`, signal);
        return (page.keys?.length ?? 0) > 0;
      } catch (err) {
        if (err instanceof WolkHttpError && err.status === 404) return false;
        throw s3ErrorOf(err, `looking up bucket ${collection}`);
      }
    },
    async makeBucket(collection) {
      try {
        await client.makeBucket(uri(collection), {});
      } catch (err) {
        throw s3ErrorOf(err, `creating bucket ${collection}`);
      }
    },
    putFile(collection, k, file, contentType) {
      return put(collection, k, file, contentType);
    },
    async read(method, collection, k, range, signal) {
      return read(method, collection, k, range, signal);
    },
    keys,
  };

  async function put(collection: string, k: string, file: string, contentType: string): Promise<StoredObject> {
      let r;
      try {
        r = await client.put(file, uri(collection, k), { contentType, ...(o.uploadStateDir ? { resumable: { stateDir: o.uploadStateDir } } : {}) });
        if (r.state !== 'final' && r.uploadId) {
          const s = await client.waitUpload(r.uploadId, { timeoutMs: FINALITY_WAIT_MS });
          if (s.state !== 'final') {
            const why = s.problem ? String(s.problem['detail'] ?? s.problem['title'] ?? '') : `still ${s.state} after ${FINALITY_WAIT_MS / 1000} s`;
            throw new S3Error(s.state === 'failed' || s.state === 'rejected' ? 'InternalError' : 'ServiceUnavailable', `the upload of ${k} is ${s.state}: ${why} (status ${s.statusUrl})`);
          }
          return { filehash: s.filehash, size: s.size, round: s.round ?? '' };
        }
      } catch (err) {
        throw s3ErrorOf(err, `storing ${k}`);
      }
      return { filehash: r.filehash, size: r.size, round: r.round ?? '' };
  }

  async function read(method: 'GET' | 'HEAD', collection: string, k: string, range: string | undefined, signal?: AbortSignal): Promise<ObjectRead> {
      let res;
      try {
        res = await send(gateway, method, gatewayPath({ owner, collection, key: k }), { ...(range ? { headers: { range } } : {}), ...(signal ? { signal } : {}) });
      } catch (err) {
        throw s3ErrorOf(err, `reading ${k}`);
      }
      if (res.status === 404) {
        res.body.resume();
        throw new S3Error('NoSuchKey', 'The specified key does not exist.');
      }
      if (res.status === 416) {
        res.body.resume();
        const cr = res.headers['content-range'];
        throw new S3Error('InvalidRange', 'The requested range is not satisfiable', cr ? { 'content-range': String(cr) } : {});
      }
      if (res.status !== 200 && res.status !== 206) {
        if (method === 'HEAD') {
          res.body.resume();
          throw s3ErrorOf(new WolkHttpError(res.status, {}), `reading ${k}`);
        }
        throw s3ErrorOf(await problem(res), `reading ${k}`);
      }
      const round = res.headers['wolk-round'];
      return {
        status: res.status,
        filehash: String(res.headers['etag'] ?? '').replace(/"/g, ''),
        round: typeof round === 'string' ? round : undefined,
        contentType: String(res.headers['content-type'] ?? 'application/octet-stream'),
        contentLength: Number(res.headers['content-length'] ?? 0),
        contentRange: typeof res.headers['content-range'] === 'string' ? res.headers['content-range'] : undefined,
        body: res.body,
      };
  }

  async function* keys(collection: string, prefix: string, signal?: AbortSignal): AsyncGenerator<ObjectEntry> {
      let next: string | undefined;
      do {
        const q = new URLSearchParams({ limit: '1000', ...(prefix ? { prefix } : {}), ...(next ? { page: next } : {}) });
        let page;
        try {
          page = await client.json<{ keys: { key: string; filehash: string; size: unknown; round?: string }[]; next?: string }>(`${gatewayPath({ owner, collection })}?${q}`, signal);
        } catch (err) {
          if (err instanceof WolkHttpError && err.status === 404) return;
          throw s3ErrorOf(err, `listing ${collection}`);
        }
        for (const e of page.keys) yield { key: e.key, filehash: e.filehash, size: Number(e.size), ...(e.round ? { round: e.round } : {}) };
        next = page.next;
      } while (next);
  }
}
