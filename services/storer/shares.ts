// Chunks by chunk id (SetShare / GetShare / VerifyShare): each chunk is one RocksDB value under
// chunk ‖ SHA-256(chunk), written with a synchronous write before SetShare answers.
import { sha256 } from '../../lib/crypto/hash.js';
import { invalidArgument, notFound } from '../../lib/grpc/errors.js';
import { MAX_CHUNK_SIZE } from '../../lib/merkle/index.js';
import type { KvStore } from '../../lib/storage/kv.js';
import { prefixEnd } from '../../lib/storage/kv.js';
import { chunkKey, chunkPrefix, hex } from './layout.js';

export class ShareStore {
  /** Chunks stored and their bytes (GetInfo). */
  count = 0;
  bytes = 0;
  /** Writes in progress by chunk id, so concurrent puts of one new chunk write (and count) it once. */
  private readonly writing = new Map<string, Promise<void>>();

  constructor(private readonly kv: KvStore) {}

  /** Counts what is stored (one scan at start: reads every chunk once). */
  async init(): Promise<void> {
    const prefix = chunkPrefix();
    for await (const e of this.kv.range({ gte: prefix, lt: prefixEnd(prefix) })) {
      this.count++;
      this.bytes += e.value.length;
    }
  }

  /** Stores a chunk (idempotent); `expectedId`, when not empty, must be its SHA-256. */
  async put(data: Uint8Array, expectedId: Uint8Array): Promise<Uint8Array> {
    if (data.length > MAX_CHUNK_SIZE) throw invalidArgument(`chunk of ${data.length} bytes: at most ${MAX_CHUNK_SIZE}`);
    const id = sha256(data);
    if (expectedId.length > 0) {
      if (expectedId.length !== 32) throw invalidArgument(`chunk_id: expected 32 bytes, got ${expectedId.length}`);
      if (Buffer.compare(Buffer.from(expectedId), Buffer.from(id)) !== 0) {
        throw invalidArgument(`chunk_id ${hex(expectedId)} is not the SHA-256 of the data (${hex(id)}); nothing was stored`);
      }
    }
    const k = hex(id);
    const pending = this.writing.get(k);
    if (pending) {
      await pending;
      return id;
    }
    if ((await this.kv.get(chunkKey(id))) !== null) return id;
    if (this.writing.has(k)) {
      await this.writing.get(k);
      return id;
    }
    const write = this.kv.put(chunkKey(id), data, { sync: true }).then(() => {
      this.count++;
      this.bytes += data.length;
    });
    this.writing.set(k, write);
    try {
      await write;
    } finally {
      this.writing.delete(k);
    }
    return id;
  }

  async require(chunkId: Uint8Array): Promise<Uint8Array> {
    if (chunkId.length !== 32) throw invalidArgument(`chunk_id: expected 32 bytes, got ${chunkId.length}`);
    const data = await this.kv.get(chunkKey(chunkId));
    if (data === null) throw notFound(`this storer has no chunk ${hex(chunkId)}`);
    return data;
  }
}
