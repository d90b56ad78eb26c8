// The name and collection flows (docs/http-api.md "Owner names", "Collections"): PUT /wolk/{owner}
// claims a name with a user-signed SetName, GET /wolk/{owner} reads it; PUT /wolk/{owner}/{collection}/
// creates a collection or changes its settings with a user-signed SetBucket. Each answers 201 once
// final, 200 when the chain already holds what was asked, 202 when finality takes longer than the
// gateway waits.
import type { ServerResponse } from 'node:http';
import type { BucketRecord } from '../../gen/wolk/common/v1/state.js';
import { txId } from '../../lib/chain/tx-bytes.js';
import { sendJson } from '../../lib/http/problem.js';
import { isValidChunkSize } from '../../lib/merkle/index.js';
import { readSignedTransaction, requireUserSignature } from './auth.js';
import { hex, type ApiContext, type Routed } from './context.js';
import type { SignedTransaction } from '../../gen/wolk/common/v1/tx.js';
import { awaitFinal, followTx, rejectionMembers, submitTx } from './finality.js';
import { TxRejected, problem } from './problems.js';
import { bucketJson, bucketRecord, nameRecord, requireOwner } from './records.js';

/** PUT /wolk/{owner}: claims the name with a user-signed SetName (body: SignedTransaction). */
export async function putName(ctx: ApiContext, r: Routed, owner: string): Promise<void> {
  const { res, rawPath, signal } = r;
  const { sig, stx } = await readSignedTransaction(ctx, r, 'SetName');
  const tx = stx.tx;
  if (!tx || tx.body?.$case !== 'setName' || tx.body.value.name !== owner) throw problem(400, 'transaction-mismatch', 'Bad Request', `the body must be a SetName of "${owner}"`);
  if (!Buffer.from(tx.sender).equals(Buffer.from(sig.publicKey)) || !Buffer.from(tx.body.value.owner).equals(Buffer.from(sig.publicKey))) {
    throw problem(403, 'not-owner', 'Forbidden', 'the SetName must be sent by, and name as owner, the key that signed the request');
  }
  requireUserSignature(stx);
  const current = await nameRecord(ctx, owner);
  if (current && !Buffer.from(current.owner).equals(Buffer.from(sig.publicKey))) throw problem(409, 'name-taken', 'Conflict', `"${owner}" is already claimed by another key`);
  if (current) return sendJson(res, 200, { name: owner, owner: hex(current.owner), round: current.round.toString() });
  const id = txId(stx);
  const round = await submitAndFollow(ctx, stx, signal, async () => {
    // A SetName the ledger refuses (the name went to another key first) is in no block: the record says so.
    const rec = await nameRecord(ctx, owner);
    if (rec && !Buffer.from(rec.owner).equals(Buffer.from(sig.publicKey))) throw problem(409, 'name-taken', 'Conflict', `"${owner}" was claimed by another key first`);
  });
  const rec = round !== null ? await nameRecord(ctx, owner) : null;
  if (rec) return sendJson(res, 201, { name: owner, owner: hex(rec.owner), round: rec.round.toString(), txid: hex(id) }, { location: rawPath });
  sendJson(res, 202, { name: owner, txid: hex(id), state: 'submitted' });
}

/** GET /wolk/{owner}. */
export async function getName(ctx: ApiContext, res: ServerResponse, owner: string): Promise<void> {
  const rec = await nameRecord(ctx, owner);
  if (!rec) throw problem(404, 'not-found', 'Not Found', `the name "${owner}" is not claimed`);
  sendJson(res, 200, { name: rec.name, owner: hex(rec.owner), round: rec.round.toString() });
}

/**
 * PUT /wolk/{owner}/{collection}/: creates a collection or changes its settings with a user-signed
 * SetBucket (body: SignedTransaction). 201 once final, 200 if the chain already holds these settings,
 * 202 if finality takes longer than the gateway waits; 409 for a chunk-size change (files were cut
 * with it) or a ledger refusal.
 */
export async function putBucket(ctx: ApiContext, r: Routed, owner: string, collection: string): Promise<void> {
  const { res, rawPath, signal } = r;
  const { sig, stx } = await readSignedTransaction(ctx, r, 'SetBucket');
  const tx = stx.tx;
  if (!tx || tx.body?.$case !== 'setBucket' || tx.body.value.owner !== owner || tx.body.value.collection !== collection) {
    throw problem(400, 'transaction-mismatch', 'Bad Request', `the body must be a SetBucket of "${owner}/${collection}"`);
  }
  if (!Buffer.from(tx.sender).equals(Buffer.from(sig.publicKey))) throw problem(403, 'not-owner', 'Forbidden', 'the SetBucket must be sent by the key that signed the request');
  requireUserSignature(stx);
  await requireOwner(ctx, owner, sig.publicKey);
  const want = { replication: tx.body.value.settings?.replication ?? 0, maxFileSize: tx.body.value.settings?.maxFileSize ?? 0n, chunkSize: tx.body.value.settings?.chunkSize ?? 0 };
  if (want.replication < 0 || (want.chunkSize !== 0 && !isValidChunkSize(want.chunkSize))) {
    throw problem(400, 'bad-settings', 'Bad Request', `chunk_size ${want.chunkSize} must be 0 (the network's) or a power of two from 4096 to 32768`);
  }
  const same = (rec: BucketRecord): boolean =>
    (rec.settings?.replication ?? 0) === want.replication && (rec.settings?.maxFileSize ?? 0n) === want.maxFileSize && (rec.settings?.chunkSize ?? 0) === want.chunkSize;
  const before = await bucketRecord(ctx, owner, collection);
  if (before && same(before)) return sendJson(res, 200, { ...(await bucketJson(ctx, owner, collection)), round: before.round.toString() });
  if (before && (before.settings?.chunkSize ?? 0) !== want.chunkSize) {
    throw problem(409, 'chunk-size-fixed', 'Conflict', `the chunk size of ${owner}/${collection} is ${before.settings?.chunkSize || ctx.chunkSize} and cannot change (its files were cut with it)`);
  }
  const id = txId(stx);
  const round = await submitAndFollow(ctx, stx, signal);
  const after = round !== null ? await bucketRecord(ctx, owner, collection) : null;
  if (after) return sendJson(res, 201, { ...(await bucketJson(ctx, owner, collection)), round: after.round.toString(), txid: hex(id) }, { location: rawPath + '?settings' });
  sendJson(res, 202, { owner, collection, txid: hex(id), state: 'submitted' });
}

/**
 * Submits a user's transaction and waits for the block that includes it: its round, or null when the
 * wait ended first (202); TxRejected (409) when consensus refused it. `refused` may throw a refusal
 * the chain's state shows while waiting.
 */
async function submitAndFollow(ctx: ApiContext, stx: SignedTransaction, signal: AbortSignal, refused?: () => Promise<void>): Promise<bigint | null> {
  const { finalizedRound } = await ctx.chain.status(signal);
  await submitTx(ctx, stx);
  const follow = followTx(ctx, stx, finalizedRound);
  const outcome = await awaitFinal(
    ctx,
    async (s) => {
      const o = await follow(s);
      if (o === null && refused) await refused();
      return o;
    },
    { timeoutMs: ctx.finalityTimeoutMs, signal },
  );
  if (outcome?.state === 'rejected') throw new TxRejected(outcome.reason, rejectionMembers(outcome));
  return outcome?.round ?? null;
}
