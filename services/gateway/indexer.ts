// The gateway's view of the indexer (WOLK_INDEXER, IndexerService): collection listings (ListKeys) and
// which storers hold a file, best reputation first (GetFileLocations). The indexer is a convenience,
// not a source of truth: listings say which block they are as of, and reads still verify every chunk
// against the filehash the chain proves, so a wrong answer costs time, never integrity.
import { credentials } from '@grpc/grpc-js';
import type { KeyRecord } from '../../gen/wolk/common/v1/state.js';
import { IndexerServiceClient } from '../../gen/wolk/indexer/v1/indexer.js';
import { unary } from './rpc.js';

export interface IndexedListing {
  readonly keys: KeyRecord[];
  /** Opaque token of the next page; '' = none. */
  readonly next: string;
  /** The last finalized block the indexer had applied. */
  readonly round: bigint;
}

export interface RankedStorer {
  /** Hex storer id. */
  readonly id: string;
  readonly endpoint: string;
  readonly reputationPpm: number;
}

export interface IndexerView {
  readonly endpoint: string;
  listKeys(q: { owner: string; collection: string; prefix: string; pageSize: number; pageToken: string }, signal?: AbortSignal): Promise<IndexedListing>;
  /** The file's storers, best reputation first; null when the indexer knows no key pointing to it. */
  fileLocations(filehash: Uint8Array, signal?: AbortSignal): Promise<RankedStorer[] | null>;
  close(): void;
}

const OPTIONS = { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 2000 };

/** `rankTimeoutMs` is short: a ranking only orders storers, and a GET should not wait on a stuck indexer. */
export function createIndexerView(endpoint: string, timeoutMs = 3000, rankTimeoutMs = 1000): IndexerView {
  const client = new IndexerServiceClient(endpoint, credentials.createInsecure(), OPTIONS);
  return {
    endpoint,
    async listKeys(q, signal) {
      const r = await unary(endpoint, client.listKeys.bind(client), q, timeoutMs, signal);
      return { keys: r.keys, next: r.nextPageToken, round: r.round };
    },
    async fileLocations(filehash, signal) {
      try {
        const r = await unary(endpoint, client.getFileLocations.bind(client), { filehash: Buffer.from(filehash) }, rankTimeoutMs, signal);
        return r.locations.map((l) => ({ id: Buffer.from(l.storerId).toString('hex'), endpoint: l.endpoint, reputationPpm: l.reputationPpm }));
      } catch (err) {
        if ((err as { code?: number }).code === 5 /* NOT_FOUND */) return null;
        throw err;
      }
    },
    close: () => client.close(),
  };
}
