// The browser's parts of a resumable (tus 1.0) upload; the protocol itself is lib/client/tus.ts, the
// same code `wolk put` runs. Here: requests through XMLHttpRequest (it reports upload progress, which
// fetch does not), the file's bytes from the File the user chose (read in slices, never whole), and the
// upload's URL kept in localStorage, keyed by the gateway, the target key and the file (name, size,
// last modified), so choosing the same file again after a reload resumes from the gateway's offset.
import { offersTus, sha256, type TusSaved, type TusStore, type TusTransport } from './wolk.js';

/** A request that got no answer: refused, cut, or the browser offline (worth another try). */
export class ConnectionLost extends Error {
  override readonly name = 'ConnectionLost';
}

export type Headers = Record<string, string>;

/** The headers a page may not set itself (the browser computes them). */
const FORBIDDEN = new Set(['content-length', 'host', 'connection']);

export function xhrTransport(file: Blob): TusTransport<Headers> {
  return {
    request(method, path, r) {
      return new Promise((resolve, reject) => {
        const x = new XMLHttpRequest();
        x.open(method, path);
        for (const [k, v] of Object.entries(r.headers)) if (!FORBIDDEN.has(k.toLowerCase())) x.setRequestHeader(k, v);
        if (r.onSent) x.upload.addEventListener('progress', (e) => r.onSent!(e.loaded));
        if (r.onBodySent) x.upload.addEventListener('load', () => r.onBodySent!());
        x.addEventListener('load', () =>
          resolve({
            status: x.status,
            headers: parseHeaders(x.getAllResponseHeaders()),
            header: (name) => x.getResponseHeader(name) ?? undefined,
            text: async () => x.responseText,
            discard: () => undefined,
          }),
        );
        const what = `${method} ${path.startsWith('/uploads/') ? '/uploads/…' : path}`;
        x.addEventListener('error', () => reject(new ConnectionLost(`the connection to the gateway was lost (${what})`)));
        x.addEventListener('abort', () => reject(new ConnectionLost(`the request was aborted (${what})`)));
        x.send(r.body ? file.slice(r.body.start, r.body.end) : null);
      });
    },
    lost: (err) => err instanceof ConnectionLost,
  };
}

function parseHeaders(all: string): Headers {
  const out: Headers = {};
  for (const line of all.trim().split(/[\r\n]+/)) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}

/** The File's bytes from the start, piece by piece (Blob.stream, never the whole file in memory). */
export function blobFile(file: Blob): { size: number; pieces(): AsyncIterable<Uint8Array> } {
  return {
    size: file.size,
    async *pieces() {
      const reader = file.stream().getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    },
  };
}

/** Whether the gateway offers tus 1.0 (OPTIONS /uploads/); a gateway that does not answer: no. */
export async function gatewayOffersTus(): Promise<boolean> {
  try {
    const res = await fetch('/uploads/', { method: 'OPTIONS' });
    return offersTus(res.status, res.headers.get('tus-version') ?? undefined);
  } catch {
    return false;
  }
}

const STATE = 'wolk.console.upload.';

/** The upload of `file` to `uri` as kept in this browser. */
export function localStore(uri: string, file: File): TusStore {
  const id = Array.from(sha256(new TextEncoder().encode(JSON.stringify([location.origin, uri, file.name, file.size, file.lastModified]))), (b) => b.toString(16).padStart(2, '0')).join('');
  const key = `${STATE}${id}`;
  return {
    async load() {
      try {
        const s = JSON.parse(localStorage.getItem(key) ?? 'null') as TusSaved | null;
        return s && typeof s.uploadUrl === 'string' && s.uploadUrl.startsWith('/uploads/') && /^[0-9a-f]{64}$/.test(s.filehash) && Number.isInteger(s.chunkSize) ? s : undefined;
      } catch {
        return undefined;
      }
    },
    async save(s) {
      localStorage.setItem(key, JSON.stringify({ filehash: s.filehash, chunkSize: s.chunkSize, uploadUrl: s.uploadUrl }));
    },
    async remove() {
      localStorage.removeItem(key);
    },
  };
}
