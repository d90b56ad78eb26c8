// GET /wolk/{owner}/{collection}/ (docs/http-api.md "Listing a collection"): keys in ascending byte
// order of their UTF-8, paged with ?limit (1-1000, default 100), ?prefix and ?page (the `next` token of
// the previous page). From the indexer's ListKeys when WOLK_INDEXER is set; otherwise, or when the
// indexer does not answer, from consensus: the finalized blocks are scanned (StreamBlocks, no follow)
// for SetKey transactions of the collection, the latest per key winning — linear in the chain's length,
// fine for a devnet. Both honour the same page tokens (base64url of the last key listed), so a client
// paging through a listing does not notice a switch. A listing is never older than the block
// finalized when the request arrived.
import { status } from '@grpc/grpc-js';
import type { KeyRecord } from '../../gen/wolk/common/v1/state.js';
import { serverStream } from '../../lib/grpc/client.js';
import { sleep } from '../../lib/grpc/retry.js';
import type { Logger } from '../../lib/log/logger.js';
import type { Chain } from './chain.js';
import type { IndexerView } from './indexer.js';
import { RpcError, type Clients } from './rpc.js';

export interface ListedKey {
  readonly key: string;
  readonly filehash: string;
  readonly size: string;
  readonly contentType: string;
  readonly round: string;
}

export interface ListQuery {
  readonly prefix: string;
  readonly limit: number;
  /** '' = first page. */
  readonly page: string;
}

export interface Listing {
  readonly keys: ListedKey[];
  /** Token for ?page= of the next page; absent on the last page. */
  readonly next?: string;
  /** The finalized block the listing is as of. */
  readonly round: string;
  readonly source: 'indexer' | 'consensus';
}

export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;

export class ListError extends Error {
  constructor(
    readonly kind: 'bad-request' | 'unavailable',
    message: string,
  ) {
    super(message);
    this.name = 'ListError';
  }
}

const TOKEN_RE = /^[A-Za-z0-9_-]+$/;

/** ?limit, ?prefix, ?page; a bad value is a ListError('bad-request'). */
export function parseListQuery(params: URLSearchParams): ListQuery {
  const rawLimit = params.get('limit');
  let limit = DEFAULT_LIST_LIMIT;
  if (rawLimit !== null) {
    limit = /^\d{1,4}$/.test(rawLimit) ? Number(rawLimit) : NaN;
    if (!(limit >= 1 && limit <= MAX_LIST_LIMIT)) throw new ListError('bad-request', `limit must be an integer from 1 to ${MAX_LIST_LIMIT}, got "${rawLimit}"`);
  }
  const prefix = params.get('prefix') ?? '';
  if (Buffer.byteLength(prefix) > 1024 || prefix.includes('\0')) throw new ListError('bad-request', 'prefix must be at most 1024 bytes of UTF-8 without NUL');
  const page = params.get('page') ?? '';
  if (page !== '') {
    if (!TOKEN_RE.test(page) || page.length > 1400) throw new ListError('bad-request', 'page is not a token this gateway issued (use the `next` of the previous page)');
    if (!Buffer.from(page, 'base64url').toString('utf8').startsWith(prefix)) throw new ListError('bad-request', 'page belongs to a listing with another prefix');
  }
  return { prefix, limit, page };
}

const listed = (r: Pick<KeyRecord, 'key' | 'file' | 'contentType' | 'round'>): ListedKey => ({
  key: r.key,
  filehash: Buffer.from(r.file?.filehash ?? []).toString('hex'),
  size: (r.file?.size ?? 0n).toString(),
  contentType: r.contentType,
  round: r.round.toString(),
});

export interface ListSources {
  readonly chain: Chain;
  readonly clients: Clients;
  readonly indexer?: IndexerView | undefined;
  readonly logger: Logger;
  readonly timeoutMs?: number;
  /** How long a lagging indexer may take to reach the finalized block before consensus answers. */
  readonly catchUpMs?: number;
}

export async function listCollection(s: ListSources, owner: string, collection: string, q: ListQuery): Promise<Listing> {
  let indexerProblem = '';
  if (s.indexer) {
    try {
      // Read-your-writes: a listing is never older than the block finalized when the request came
      // (a PUT answered 201 is listed right after). The indexer gets a moment to catch up; if it lags
      // further, consensus answers.
      const floor = await s.chain.status().then((st) => st.finalizedRound, () => 0n);
      const end = Date.now() + (s.catchUpMs ?? 5000);
      for (;;) {
        const r = await s.indexer.listKeys({ owner, collection, prefix: q.prefix, pageSize: q.limit, pageToken: q.page });
        if (r.round >= floor) return { keys: r.keys.map(listed), ...(r.next ? { next: r.next } : {}), round: r.round.toString(), source: 'indexer' };
        if (Date.now() > end) throw new Error(`the indexer is at block ${r.round}, behind the finalized ${floor}`);
        await sleep(150);
      }
    } catch (err) {
      if (err instanceof RpcError && err.code === status.INVALID_ARGUMENT) throw new ListError('bad-request', err.message);
      indexerProblem = (err as Error).message;
      s.logger.warn('indexer did not list; scanning consensus blocks instead', { indexer: s.indexer.endpoint, error: indexerProblem });
    }
  }
  try {
    return await scanConsensus(s, owner, collection, q);
  } catch (err) {
    const why = indexerProblem ? `indexer: ${indexerProblem}; consensus: ${(err as Error).message}` : (err as Error).message;
    throw new ListError('unavailable', `no listing source answered (${why})`);
  }
}

async function scanConsensus(s: ListSources, owner: string, collection: string, q: ListQuery): Promise<Listing> {
  const errors: string[] = [];
  for (const endpoint of s.chain.endpoints) {
    const client = s.clients.consensusNode(endpoint);
    const blocks = serverStream(client.streamBlocks.bind(client), { fromRound: 0n, follow: false }, { endpoint, timeoutMs: s.timeoutMs ?? 15_000 });
    const found = new Map<string, ListedKey>();
    let last = 0n;
    try {
      for await (const msg of blocks) {
        const block = msg.block?.block;
        const round = block?.header?.round ?? 0n;
        last = round;
        for (const stx of block?.txs ?? []) {
          const body = stx.tx?.body;
          if (body?.$case !== 'setKey' || body.value.owner !== owner || body.value.collection !== collection) continue;
          if (!body.value.key.startsWith(q.prefix)) continue;
          found.set(body.value.key, listed({ ...body.value, round }));
        }
      }
    } catch (err) {
      errors.push(`StreamBlocks from ${(err as Error).message}`);
      continue;
    }
    const after = q.page === '' ? null : Buffer.from(q.page, 'base64url');
    const sorted = [...found.values()]
      .map((k) => ({ k, b: Buffer.from(k.key, 'utf8') }))
      .filter((x) => after === null || Buffer.compare(x.b, after) > 0)
      .sort((a, b) => Buffer.compare(a.b, b.b));
    const page = sorted.slice(0, q.limit);
    const more = sorted.length > q.limit;
    return { keys: page.map((x) => x.k), ...(more ? { next: page[page.length - 1]!.b.toString('base64url') } : {}), round: last.toString(), source: 'consensus' };
  }
  throw new Error(errors.join('; ') || 'no consensus node configured');
}
