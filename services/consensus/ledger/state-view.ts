// State keys and records (proto/wolk/common/v1/state.proto is normative for both), and the overlay a
// block is executed in: reads fall through to the state tree at the parent's root, writes stay in the
// overlay until the block's changes are handed to the tree in one batch.
import { createHash } from 'node:crypto';
import { AccountRecord, BucketRecord, KeyRecord, NameRecord } from '../../../gen/wolk/common/v1/state.js';
import type { SmtChange } from '../../../lib/smt/index.js';

const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const utf8 = new TextEncoder();

/** wolk://OWNER[/COLLECTION[/KEY]] → SHA-256 of the path, UTF-8 (state.proto). */
export function pathKey(owner: string, collection?: string, key?: string): Uint8Array {
  let path = `wolk://${owner}`;
  if (collection !== undefined) path += `/${collection}`;
  if (key !== undefined) path += `/${key}`;
  return sha256(utf8.encode(path));
}

/** SHA-256("wolk/account/v1" ‖ 0x00 ‖ P) (state.proto). */
export function accountKey(publicKey: Uint8Array): Uint8Array {
  return sha256(utf8.encode('wolk/account/v1'), Uint8Array.of(0), publicKey);
}

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
  const bytes = await s.get(accountKey(publicKey));
  if (bytes === null) return { publicKey: Buffer.from(publicKey), nonce: 0n, balance: 0n, node: undefined };
  return AccountRecord.decode(bytes);
}

export function writeAccount(s: StateOverlay, a: AccountRecord): void {
  s.put(accountKey(a.publicKey), AccountRecord.encode(a).finish());
}

export async function readName(s: StateReader, name: string): Promise<NameRecord | null> {
  const bytes = await s.get(pathKey(name));
  return bytes === null ? null : NameRecord.decode(bytes);
}

export async function readBucket(s: StateReader, owner: string, collection: string): Promise<BucketRecord | null> {
  const bytes = await s.get(pathKey(owner, collection));
  return bytes === null ? null : BucketRecord.decode(bytes);
}

export async function readKey(s: StateReader, owner: string, collection: string, key: string): Promise<KeyRecord | null> {
  const bytes = await s.get(pathKey(owner, collection, key));
  return bytes === null ? null : KeyRecord.decode(bytes);
}
