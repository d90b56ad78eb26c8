// The gateway's view of the indexer (WOLK_INDEXER, IndexerService): collection listings (ListKeys) and
// which storers hold a file, best reputation first (GetFileLocations). The indexer is a convenience,
// not a source of truth: listings say which block they are as of, and reads still verify every chunk
// against the filehash the chain proves, so a wrong answer costs time, never integrity.
import { credentials, status } from '@grpc/grpc-js';
import type { KeyRecord } from '../../gen/wolk/common/v1/state.js';
import { IndexerServiceClient } from '../../gen/wolk/indexer/v1/indexer.js';
import { reconnectChannelOptions, unaryCall } from '../../lib/grpc/client.js';
import { grpcCode } from '../../lib/grpc/errors.js';

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

/** `rankTimeoutMs` is short: a ranking only orders storers, and a GET should not wait on a stuck indexer. */
export function createIndexerView(endpoint: string, timeoutMs = 3000, rankTimeoutMs = 1000): IndexerView {
  const client = new IndexerServiceClient(endpoint, credentials.createInsecure(), reconnectChannelOptions);
  return {
    endpoint,
    async listKeys(q, signal) {
      const r = await unaryCall(client.listKeys.bind(client), q, { endpoint, timeoutMs, signal });
      return { keys: r.keys, next: r.nextPageToken, round: r.round };
    },
    async fileLocations(filehash, signal) {
      try {
        const r = await unaryCall(client.getFileLocations.bind(client), { filehash: Buffer.from(filehash) }, { endpoint, timeoutMs: rankTimeoutMs, signal });
        return r.locations.map((l) => ({ id: Buffer.from(l.storerId).toString('hex'), endpoint: l.endpoint, reputationPpm: l.reputationPpm }));
      } catch (err) {
        if (grpcCode(err) === status.NOT_FOUND) return null;
        throw err;
      }
    },
    close: () => client.close(),
  };
}
