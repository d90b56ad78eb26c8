// The read model on a KvStore: applying blocks (one synced batch per block, cursor included) and the
// queries behind the RPCs. Page tokens are opaque to clients: base64url of where the next page starts.
import { NodeRecord, type NodeRole } from '../../gen/wolk/common/v1/node.js';
import { ChunkSetRecord, KeyRecord } from '../../gen/wolk/common/v1/state.js';
import { FileInfo, StorageCommitment } from '../../gen/wolk/common/v1/storage.js';
import type { CertifiedBlock } from '../../gen/wolk/common/v1/chain.js';
import { prefixEnd, type KvStore } from '../../lib/storage/kv.js';
import { applyCertifiedBlock, type Applied, type IndexerCoreContext } from './core.js';
import { collectionPrefix, CURSOR_KEY, decodeCursor, fileInfoKey, NODE_PREFIX, nodeKey, storerChunkSetsPrefix, storerKeysPrefix, type Cursor } from './keys.js';

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

/** A query the caller got wrong (bad page token or size): INVALID_ARGUMENT at the edge. */
export class QueryError extends Error {
  override readonly name = 'QueryError';
}

export interface FileLocationRow {
  readonly storerId: Uint8Array;
  readonly endpoint: string;
  readonly reputationPpm: number;
  readonly commitment: StorageCommitment;
}

function pageSizeOf(n: number): number {
  if (n === 0) return DEFAULT_PAGE;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) throw new QueryError(`page_size must be 1 to ${MAX_PAGE} (0 = ${DEFAULT_PAGE}), got ${n}`);
  return n;
}

const token = (b: Uint8Array) => Buffer.from(b).toString('base64url');
function untoken(t: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]+$/.test(t)) throw new QueryError('page_token is not one this indexer issued');
  return new Uint8Array(Buffer.from(t, 'base64url'));
}
const startsWith = (b: Uint8Array, p: Uint8Array) => b.length >= p.length && Buffer.from(b.subarray(0, p.length)).equals(Buffer.from(p));

export class ReadModel {
  private cursorCache: Cursor | null | undefined;

  constructor(
    private readonly kv: KvStore,
    private readonly ctx: IndexerCoreContext,
  ) {}

  async cursor(): Promise<Cursor | null> {
    if (this.cursorCache === undefined) {
      const b = await this.kv.get(CURSOR_KEY);
      this.cursorCache = b === null ? null : decodeCursor(b);
    }
    return this.cursorCache;
  }

  /** Verifies and applies the next block; read-model writes and the cursor land in one synced batch. */
  async apply(cb: CertifiedBlock): Promise<Applied> {
    const applied = await applyCertifiedBlock(this.kv, await this.cursor(), cb, this.ctx);
    await this.kv.batch(applied.ops, { sync: true });
    this.cursorCache = applied.cursor;
    return applied;
  }

  async listKeys(owner: string, collection: string, prefix: string, pageSize: number, pageToken: string): Promise<{ keys: KeyRecord[]; next: string }> {
    const size = pageSizeOf(pageSize);
    const base = collectionPrefix(owner, collection);
    const from = new Uint8Array([...base, ...new TextEncoder().encode(prefix)]);
    const lt = prefixEnd(from.length > 0 ? from : base);
    let gte = from;
    if (pageToken !== '') {
      // The token is the last key of the previous page (UTF-8, base64url): the gateway's fallback
      // listing from consensus state continues the same tokens.
      const after = new Uint8Array([...base, ...untoken(pageToken)]);
      if (!startsWith(after, from)) throw new QueryError('page_token belongs to another listing');
      gte = new Uint8Array([...after, 0]);
    }
    const keys: KeyRecord[] = [];
    let last: Uint8Array | null = null;
    let more = false;
    for await (const e of this.kv.range({ gte, lt, limit: size + 1 })) {
      if (keys.length === size) {
        more = true;
        break;
      }
      keys.push(KeyRecord.decode(e.value));
      last = e.key;
    }
    return { keys, next: more && last ? token(last.subarray(base.length)) : '' };
  }

  async fileLocations(filehash: Uint8Array): Promise<{ file: FileInfo; locations: FileLocationRow[] } | null> {
    const infoKey = fileInfoKey(filehash);
    const info = await this.kv.get(infoKey);
    if (info === null) return null;
    const rows: FileLocationRow[] = [];
    for await (const e of this.kv.range({ gte: infoKey, lt: prefixEnd(infoKey) })) {
      if (e.key.length !== infoKey.length + 32) continue;
      const c = StorageCommitment.decode(e.value);
      const nb = await this.kv.get(nodeKey(c.storerId));
      const n = nb === null ? null : NodeRecord.decode(nb);
      rows.push({ storerId: c.storerId, endpoint: n?.endpoint ?? '', reputationPpm: n?.reputationPpm ?? 0, commitment: c });
    }
    // Best first: reputation, then (for a stable order) storer id.
    rows.sort((a, b) => b.reputationPpm - a.reputationPpm || Buffer.compare(Buffer.from(a.storerId), Buffer.from(b.storerId)));
    return { file: FileInfo.decode(info), locations: rows };
  }

  /** The keys whose current commitments include `storerId`, in the order of their state keys (docs/repair.md §2). */
  async storerKeys(storerId: Uint8Array, pageSize: number, pageToken: string): Promise<{ keys: KeyRecord[]; next: string }> {
    const { records, next } = await this.storerPage(storerKeysPrefix(storerId), 32, storerId, pageSize, pageToken, KeyRecord.decode);
    return { keys: records, next };
  }

  /** The block chunk sets whose current commitments include `storerId`, oldest block first (docs/repair.md §9). */
  async storerChunkSets(storerId: Uint8Array, pageSize: number, pageToken: string): Promise<{ chunkSets: ChunkSetRecord[]; next: string }> {
    const { records, next } = await this.storerPage(storerChunkSetsPrefix(storerId), 8, storerId, pageSize, pageToken, ChunkSetRecord.decode);
    return { chunkSets: records, next };
  }

  /**
   * One page of a storer → record index (entries `base ‖ suffix` whose value is the record's key), in
   * key order. The token is the last entry's suffix (`suffixLength` bytes), base64url.
   */
  private async storerPage<T>(base: Uint8Array, suffixLength: number, storerId: Uint8Array, pageSize: number, pageToken: string, decode: (b: Uint8Array) => T): Promise<{ records: T[]; next: string }> {
    if (storerId.length !== 32) throw new QueryError(`storer_id must be 32 bytes, got ${storerId.length}`);
    const size = pageSizeOf(pageSize);
    let gte = base;
    if (pageToken !== '') {
      const after = untoken(pageToken);
      if (after.length !== suffixLength) throw new QueryError('page_token is not one this indexer issued');
      gte = new Uint8Array([...base, ...after, 0]);
    }
    const records: T[] = [];
    let last: Uint8Array | null = null;
    let more = false;
    for await (const e of this.kv.range({ gte, lt: prefixEnd(base), limit: size + 1 })) {
      if (records.length === size) {
        more = true;
        break;
      }
      const rec = await this.kv.get(e.value);
      if (rec !== null) records.push(decode(rec));
      last = e.key;
    }
    return { records, next: more && last ? token(last.subarray(base.length)) : '' };
  }

  async node(id: Uint8Array): Promise<NodeRecord | null> {
    const b = await this.kv.get(nodeKey(id));
    return b === null ? null : NodeRecord.decode(b);
  }

  async listNodes(role: NodeRole, pageSize: number, pageToken: string): Promise<{ nodes: NodeRecord[]; next: string }> {
    const size = pageSizeOf(pageSize);
    let gte = NODE_PREFIX;
    if (pageToken !== '') {
      const after = untoken(pageToken);
      if (after.length !== 32) throw new QueryError('page_token is not one this indexer issued');
      gte = new Uint8Array([...nodeKey(after), 0]);
    }
    const nodes: NodeRecord[] = [];
    let more = false;
    for await (const e of this.kv.range({ gte, lt: prefixEnd(NODE_PREFIX) })) {
      const n = NodeRecord.decode(e.value);
      if (role !== 0 && !n.roles.includes(role)) continue;
      if (nodes.length === size) {
        more = true;
        break;
      }
      nodes.push(n);
    }
    const last = nodes[nodes.length - 1];
    return { nodes, next: more && last ? token(last.id) : '' };
  }
}
