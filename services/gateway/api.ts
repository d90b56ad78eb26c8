// The /wolk/... HTTP API (docs/http-api.md): the router of its routes onto the flows, each in its own
// module — names.ts (claim a name, collection settings), put-file.ts (upload), get-file.ts (verified
// GET/HEAD, ?proof), list.ts (listing). Authentication is auth.ts, header parsing request.ts, and
// every domain error becomes problem+json in one place (problems.ts, applied by http.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../../lib/http/problem.js';
import { apiContext, type ApiDeps } from './context.js';
import { getFile } from './get-file.js';
import { listCollection, parseListQuery } from './list.js';
import { getName, putBucket, putName } from './names.js';
import { HttpProblem } from './problems.js';
import { createUploadFlow, type UploadStatus } from './put-file.js';
import { bucketJson } from './records.js';
import { parseWolkPath } from './request.js';

export type { ApiDeps } from './context.js';
export type { UploadStatus } from './put-file.js';
export { HttpProblem } from './problems.js';
export { parseWolkPath } from './request.js';

/** What one request is routed with. */
export interface Routed {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  /** The path as sent (RFC 9421 @path): what is parsed and what signatures cover. */
  readonly rawPath: string;
  /** Aborts when the client goes away before its answer is written. */
  readonly signal: AbortSignal;
}

export interface Api {
  handle(r: Routed): Promise<void>;
  uploadStatus(id: string): UploadStatus | undefined;
  readonly uploads: ReadonlyMap<string, UploadStatus>;
}

const methodNotAllowed = (allow: string) => new HttpProblem({ status: 405, title: 'Method Not Allowed', detail: `use ${allow.replace(/, (\w+)$/, ' or $1')}` }, { allow });

export function createApi(deps: ApiDeps): Api {
  const ctx = apiContext(deps);
  const uploads = createUploadFlow(ctx);
  return {
    uploads: uploads.uploads,
    uploadStatus: (id) => uploads.status(id),
    async handle({ req, res, url, rawPath, signal }) {
      const p = parseWolkPath(rawPath);
      const method = req.method ?? 'GET';
      // /wolk/{owner}
      if (p.collection === undefined) {
        if (method === 'PUT') return putName(ctx, req, res, rawPath, p.owner, signal);
        if (method === 'GET') return getName(ctx, res, p.owner);
        throw methodNotAllowed('GET, PUT');
      }
      // /wolk/{owner}/{collection}/
      if (p.listing) {
        if (method === 'PUT') return putBucket(ctx, req, res, rawPath, p.owner, p.collection, signal);
        if (method !== 'GET') throw methodNotAllowed('GET, PUT');
        if (url.searchParams.has('settings')) return sendJson(res, 200, await bucketJson(ctx, p.owner, p.collection));
        const listing = await listCollection(ctx, p.owner, p.collection, parseListQuery(url.searchParams));
        return sendJson(res, 200, { owner: p.owner, collection: p.collection, ...listing });
      }
      // /wolk/{owner}/{collection}/{key}
      const file = { owner: p.owner, collection: p.collection, key: p.key! };
      if (method === 'PUT') return uploads.put(req, res, rawPath, file, signal);
      if (method === 'GET' || method === 'HEAD') return getFile(ctx, req, res, url, file, signal);
      throw methodNotAllowed('GET, HEAD, PUT');
    },
  };
}
