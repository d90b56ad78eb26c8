// The chain records the flows read (proofs checked in chain.ts): who owns a name, a collection's
// settings with the network's defaults filled in, a key's record.
import { BucketRecord, KeyRecord, NameRecord } from '../../gen/wolk/common/v1/state.js';
import { pathStateKey } from '../../lib/chain/state-keys.js';
import type { StateValue } from './chain.js';
import type { ApiContext } from './context.js';
import { problem } from './problems.js';

/** The name's record, or null if unclaimed. */
export async function nameRecord(ctx: ApiContext, owner: string): Promise<NameRecord | null> {
  const v = await ctx.chain.state(pathStateKey(owner));
  return v.value ? NameRecord.decode(v.value) : null;
}

/** 403 unless `signer` owns `owner` on chain. */
export async function requireOwner(ctx: ApiContext, owner: string, signer: Uint8Array): Promise<void> {
  const rec = await nameRecord(ctx, owner);
  if (!rec) throw problem(403, 'unclaimed-owner', 'Forbidden', `the name "${owner}" is not claimed; claim it first (PUT /wolk/${owner}, or wolk claim ${owner})`);
  if (!Buffer.from(rec.owner).equals(Buffer.from(signer))) throw problem(403, 'not-owner', 'Forbidden', `"${owner}" belongs to another key`);
}

export async function bucketRecord(ctx: ApiContext, owner: string, collection: string): Promise<BucketRecord | null> {
  const v = await ctx.chain.state(pathStateKey(owner, collection));
  return v.value ? BucketRecord.decode(v.value) : null;
}

export interface BucketSettings {
  readonly replication: number;
  readonly chunkSize: number;
  readonly maxFileBytes: number;
  readonly onChain: boolean;
}

/**
 * The collection's settings as the chain holds them (SetBucket), with the network's defaults for what
 * it leaves at 0 or when the collection does not exist yet (its first SetKey creates it so).
 */
export async function bucketSettings(ctx: ApiContext, owner: string, collection: string): Promise<BucketSettings> {
  const rec = await bucketRecord(ctx, owner, collection);
  const settings = rec?.settings;
  const limit = Number(settings?.maxFileSize ?? 0n);
  return {
    replication: settings?.replication || ctx.replication,
    chunkSize: settings?.chunkSize || ctx.chunkSize,
    maxFileBytes: limit > 0 ? Math.min(limit, ctx.maxFileBytes) : ctx.maxFileBytes,
    onChain: rec !== null,
  };
}

/** A collection's settings as a client needs them (GET ...?settings). */
export async function bucketJson(ctx: ApiContext, owner: string, collection: string): Promise<Record<string, unknown>> {
  const b = await bucketSettings(ctx, owner, collection);
  return { owner, collection, replication: b.replication, chunkSize: b.chunkSize, maxFileSize: b.maxFileBytes, onChain: b.onChain };
}

/** A key's record with its proof; 404 when the chain has none. */
export async function keyRecord(ctx: ApiContext, owner: string, collection: string, key: string): Promise<{ record: KeyRecord; proof: StateValue }> {
  const v = await ctx.chain.state(pathStateKey(owner, collection, key));
  if (!v.value) throw problem(404, 'not-found', 'Not Found', `wolk://${owner}/${collection}/${key} is not on chain`);
  return { record: KeyRecord.decode(v.value), proof: v };
}
