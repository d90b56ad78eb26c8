// The /wolk/... HTTP API (docs/http-api.md): the router of its routes onto the flows, each in its own
// module — names.ts (claim a name, collection settings), put-file.ts (upload), resumable/ (tus resumable
// uploads: POST on a file path, /uploads/{id}), get-file.ts (verified GET/HEAD, ?proof), list.ts (listing). Authentication is auth.ts, header parsing request.ts, and
// every domain error becomes problem+json in one place (problems.ts, applied by http.ts).
import { sendJson } from '../../lib/http/problem.js';
import { apiContext, type ApiDeps, type Routed } from './context.js';
import { getFile } from './get-file.js';
import { listCollection, parseListQuery } from './list.js';
import { getName, putBucket, putName } from './names.js';
import { HttpProblem, problem } from './problems.js';
import { createResumable, type ResumableUploads } from './resumable/tus.js';
import { createUploadFlow, type UploadStatus } from './put-file.js';
import { bucketJson } from './records.js';
import { createConsole } from './console.js';
import { parseWolkPath } from './request.js';

export type { ApiDeps, Routed } from './context.js';
export type { UploadStatus } from './put-file.js';
export { HttpProblem } from './problems.js';
export { parseWolkPath } from './request.js';

export interface Api {
  handle(r: Routed): Promise<void>;
  uploadStatus(id: string, signal?: AbortSignal): Promise<UploadStatus | undefined>;
  readonly uploads: ReadonlyMap<string, UploadStatus>;
  /** Uploads in progress (holding an upload slot). */
  readonly activeUploads: number;
  /** Resumable uploads (tus), when configured: the node reclaims expired ones through it. */
  readonly resumable?: ResumableUploads;
}

const methodNotAllowed = (allow: string) => new HttpProblem({ status: 405, title: 'Method Not Allowed', detail: `use ${allow.replace(/, (\w+)$/, ' or $1')}` }, { allow });

export function createApi(deps: ApiDeps): Api {
  const ctx = apiContext(deps);
  const uploads = createUploadFlow(ctx);
  const webConsole = createConsole(ctx);
  const resumable = deps.resumable ? createResumable(ctx, uploads, deps.resumable) : undefined;
  const noResumable = () => problem(404, 'not-found', 'Not Found', 'this gateway does not offer resumable uploads');
  return {
    ...(resumable ? { resumable } : {}),
    uploads: uploads.uploads,
    uploadStatus: (id, signal) => uploads.status(id, signal),
    get activeUploads() {
      return uploads.active;
    },
    async handle(r) {
      const { req, res, query } = r;
      if (r.rawPath === '/console' || r.rawPath.startsWith('/console/')) return webConsole.handle(r); // the web console (console.ts)
      // /uploads/{id}: a resumable upload's capability URL (resumable/tus.ts)
      if (r.rawPath.startsWith('/uploads/')) {
        if (!resumable) throw noResumable();
        return resumable.handleUpload(r);
      }
      const p = parseWolkPath(r.rawPath);
      const method = req.method ?? 'GET';
      // /wolk/{owner}
      if (p.collection === undefined) {
        if (method === 'PUT') return putName(ctx, r, p.owner);
        if (method === 'GET') return getName(ctx, res, p.owner);
        throw methodNotAllowed('GET, PUT');
      }
      // /wolk/{owner}/{collection}/
      if (p.listing) {
        if (method === 'PUT') return putBucket(ctx, r, p.owner, p.collection);
        if (method !== 'GET') throw methodNotAllowed('GET, PUT');
        if (query.has('settings')) return sendJson(res, 200, await bucketJson(ctx, p.owner, p.collection));
        const listing = await listCollection(ctx, p.owner, p.collection, parseListQuery(query));
        return sendJson(res, 200, { owner: p.owner, collection: p.collection, ...listing });
      }
      // /wolk/{owner}/{collection}/{key}
      const file = { owner: p.owner, collection: p.collection, key: p.key! };
      if (method === 'PUT') return uploads.put(r, file);
      if (method === 'GET' || method === 'HEAD') return getFile(ctx, r, file);
      if (method === 'POST' || method === 'OPTIONS') {
        if (!resumable) throw method === 'POST' ? methodNotAllowed('GET, HEAD, PUT') : noResumable();
        return resumable.handleFile(r, file);
      }
      throw methodNotAllowed(resumable ? 'GET, HEAD, PUT, POST' : 'GET, HEAD, PUT');
    },
  };
}
