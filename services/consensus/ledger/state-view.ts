// Records of the state tree (proto/wolk/common/v1/state.proto is normative; their keys are
// lib/chain/state-keys.ts), and the overlay a block is executed in: reads fall through to the state
// tree at the parent's root, writes stay in the overlay until the block's changes are handed to the
// tree in one batch.
import { accountStateKey, pathStateKey } from '../../../lib/chain/state-keys.js';
import { AccountRecord, BucketRecord, KeyRecord, NameRecord } from '../../../gen/wolk/common/v1/state.js';
import type { SmtChange } from '../../../lib/smt/index.js';

export interface StateReader {
  /** The record bytes under `key`, or null when absent. */
  get(key: Uint8Array): Promise<Uint8Array | null>;
}

const hexOf = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Writes of one block (or one mempool check) over a read-only base. */
export class StateOverlay implements StateReader {
  private readonly writes = new Map<string, { key: Uint8Array; value: Uint8Array }>();

  constructor(private readonly base: StateReader) {}

  async get(key: Uint8Array): Promise<Uint8Array | null> {
    const w = this.writes.get(hexOf(key));
    if (w !== undefined) return w.value;
    return this.base.get(key);
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.writes.set(hexOf(key), { key, value });
  }

  /** A child overlay: a transaction runs in one and is merged only if it applies completely. */
  fork(): StateOverlay {
    return new StateOverlay(this);
  }

  /** Merges a child's writes into this overlay. */
  absorb(child: StateOverlay): void {
    for (const [k, w] of child.writes) this.writes.set(k, w);
  }

  changes(): SmtChange[] {
    return [...this.writes.values()].map((w) => ({ key: w.key, value: w.value }));
  }
}

// ---- typed record access ----

export async function readAccount(s: StateReader, publicKey: Uint8Array): Promise<AccountRecord> {
  const bytes = await s.get(accountStateKey(publicKey));
  if (bytes === null) return { publicKey: Buffer.from(publicKey), nonce: 0n, balance: 0n, node: undefined };
  return AccountRecord.decode(bytes);
}

export function writeAccount(s: StateOverlay, a: AccountRecord): void {
  s.put(accountStateKey(a.publicKey), AccountRecord.encode(a).finish());
}

export async function readName(s: StateReader, name: string): Promise<NameRecord | null> {
  const bytes = await s.get(pathStateKey(name));
  return bytes === null ? null : NameRecord.decode(bytes);
}

export async function readBucket(s: StateReader, owner: string, collection: string): Promise<BucketRecord | null> {
  const bytes = await s.get(pathStateKey(owner, collection));
  return bytes === null ? null : BucketRecord.decode(bytes);
}

export async function readKey(s: StateReader, owner: string, collection: string, key: string): Promise<KeyRecord | null> {
  const bytes = await s.get(pathStateKey(owner, collection, key));
  return bytes === null ? null : KeyRecord.decode(bytes);
}
