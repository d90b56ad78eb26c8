// The Repair transaction in the ledger (docs/repair.md §5, §6; issue #19): its stateless shape and its
// validation against state and chain data, then its effect, the KeyRecord's new storer set. Called from
// transactions.ts checkStateless / applyTx, so a Repair is judged by the same path as every other
// transaction (mempool admission, assembly, block validation).
import { NodeRole, type NodeRecord } from '../../../gen/wolk/common/v1/node.js';
import { ChunkSetRecord, KeyRecord, type AccountRecord } from '../../../gen/wolk/common/v1/state.js';
import { StorageCommitment } from '../../../gen/wolk/common/v1/storage.js';
import { RepairReason, type Repair } from '../../../gen/wolk/common/v1/tx.js';
import { verifyChunkCommitment } from '../../../lib/chain/commitment.js';
import { chunkSetFromBlock, chunkSetRecordRound, chunkSetShortfall, MAX_REPLACED, notLiveReason, REASON_NAME, recordRound, repairedChunkSet, repairedRecord } from '../../../lib/chain/repair.js';
import { chunkSetStateKey, COLLECTION_RE, isValidKey, NAME_RE, pathStateKey } from '../../../lib/chain/state-keys.js';
import { newChunksHash } from '../block-data.js';
import { readAccount, readKey, type StateOverlay } from './state-view.js';
import { checkCommitment, hasRole, invalid, precondition, seedAndRegistry, type BlockContext } from './transactions.js';

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const eq = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const short = (b: Uint8Array) => hex(b).slice(0, 16);
const encoded = (c: StorageCommitment) => StorageCommitment.encode(c).finish();

/** Shape only (INVALID_ARGUMENT): names, counts, distinct storers, known reasons. */
export function checkRepairStateless(r: Repair): void {
  if (r.chunkSetRound > 0n) {
    // A block's chunk set (docs/repair.md §9): named by its round alone.
    if (r.owner !== '' || r.collection !== '' || r.key !== '') invalid('a Repair of a chunk set (chunk_set_round > 0) names no owner, collection or key');
  } else if (!NAME_RE.test(r.owner)) invalid(`repair.owner "${r.owner}" is not a valid name`);
  if (r.chunkSetRound === 0n && !COLLECTION_RE.test(r.collection)) invalid(`repair.collection "${r.collection}" is not a valid collection name`);
  if (r.chunkSetRound === 0n && !isValidKey(r.key)) invalid('repair.key must be 1 to 1024 bytes of UTF-8 without NUL');
  const n = r.replaced.length;
  if (n < 1 || n > MAX_REPLACED) invalid(`repair must replace 1 to ${MAX_REPLACED} commitments, got ${n}`);
  if (r.commitments.length !== n) invalid(`repair replaces ${n} commitments but brings ${r.commitments.length}`);
  const old = new Set<string>();
  for (const [i, x] of r.replaced.entries()) {
    if (!x.commitment || x.commitment.storerId.length !== 32) invalid(`repair.replaced[${i}] must carry the replaced commitment`);
    if (x.reason !== RepairReason.REPAIR_REASON_DEREGISTERED && x.reason !== RepairReason.REPAIR_REASON_LOW_REPUTATION) invalid(`repair.replaced[${i}].reason must be DEREGISTERED or LOW_REPUTATION, got ${x.reason}`);
    const id = hex(x.commitment!.storerId);
    if (old.has(id)) invalid(`repair replaces storer ${id.slice(0, 16)} twice`);
    old.add(id);
  }
  const fresh = new Set<string>();
  for (const c of r.commitments) {
    if (c.storerId.length !== 32) invalid('repair.commitments: storer_id must be 32 bytes');
    const id = hex(c.storerId);
    if (fresh.has(id)) invalid(`repair: new storer ${id.slice(0, 16)} commits twice`);
    if (old.has(id)) invalid(`repair: storer ${id.slice(0, 16)} is both replaced and new`);
    fresh.add(id);
  }
}

/**
 * Validates a (statelessly checked) Repair against the block's state and chain data and writes the
 * repaired KeyRecord (docs/repair.md §5 rules 1-5; rule 6, the per-block bound, is the ledger's). Every
 * refusal is FAILED_PRECONDITION with the reason.
 */
export async function applyRepair(r: Repair, state: StateOverlay, ctx: BlockContext, sender: AccountRecord, id: Uint8Array): Promise<void> {
  const params = ctx.rules.repair;
  // 1. Who may repair: the repairer is a role of the rewards service.
  if (!hasRole(sender, NodeRole.NODE_ROLE_REWARDS)) precondition('Repair: the sender is not a registered rewards node');
  if (r.chunkSetRound > 0n) return applyChunkSetRepair(r, state, ctx);
  // 2. The record, at the version the repairer saw (two repairers racing: the second is stale).
  const where = `wolk://${r.owner}/${r.collection}/${r.key}`;
  const rec = await readKey(state, r.owner, r.collection, r.key);
  if (rec === null || !rec.file) return precondition(`Repair: ${where} is not bound to a file`);
  const version = recordRound(rec);
  if (r.recordRound !== version) precondition(`Repair: stale: ${where} was last written in round ${version}, the repair is for round ${r.recordRound}`);
  await checkEvidence(r, rec.commitments, where, state, ctx);
  // 5. The new commitments: live storers not already holding the key, on a fresh seed, valid like a SetKey's.
  const idHex = ctx.rules.verified ? hex(id) : '';
  await checkNewStorers(r, rec.commitments, version, where, state, ctx, async (c, i) => checkCommitment(c, rec.file!, ctx, idHex, i));
  state.put(pathStateKey(r.owner, r.collection, r.key), KeyRecord.encode(repairedRecord(rec, r, BigInt(ctx.round), eq)).finish());
}

/** Rules 3 and 4 (docs/repair.md §5): each replaced commitment is in the set held, and its storer is not live for the stated reason. */
async function checkEvidence(r: Repair, commitments: readonly StorageCommitment[], where: string, state: StateOverlay, ctx: BlockContext): Promise<void> {
  const params = ctx.rules.repair;
  const held = commitments.map(encoded);
  for (const [i, x] of r.replaced.entries()) {
    const c = x.commitment!;
    const who = short(c.storerId);
    const bytes = encoded(c);
    if (!held.some((h) => eq(h, bytes))) precondition(`Repair: forged evidence: replaced[${i}] (storer ${who}) is not a commitment of ${where}`);
    const node = (await readAccount(state, c.storerId)).node;
    const actual = notLiveReason(node, params);
    if (actual === null) precondition(`Repair: storer ${who} is still live (reputation ${node!.reputationPpm} ppm, threshold ${params.liveReputationPpm}): a storer in good standing is never replaced`);
    if (actual !== x.reason) precondition(`Repair: forged evidence: replaced[${i}] (storer ${who}) claims ${REASON_NAME[x.reason]}, the state says ${REASON_NAME[actual!]}`);
  }
}

/** Rule 5's part common to keys and chunk sets: live registered storers not already in the set, on a seed at or after its last write; `valid` is the commitment rule of what is repaired. */
async function checkNewStorers(r: Repair, commitments: readonly StorageCommitment[], version: bigint, where: string, state: StateOverlay, ctx: BlockContext, valid: (c: StorageCommitment, i: number) => Promise<void>): Promise<void> {
  const holders = new Set(commitments.map((c) => hex(c.storerId)));
  for (const [i, c] of r.commitments.entries()) {
    const who = short(c.storerId);
    if (holders.has(hex(c.storerId))) precondition(`Repair: duplicate replacement: storer ${who} already holds a commitment for ${where}`);
    const storer = await readAccount(state, c.storerId);
    if (!hasRole(storer, NodeRole.NODE_ROLE_STORER)) precondition(`Repair: new storer ${who} is not a registered storer`);
    const why = notLiveReason(storer.node, ctx.rules.repair);
    if (why !== null) precondition(`Repair: new storer ${who} is not live (${REASON_NAME[why]})`);
    if (c.seedRound < version) precondition(`Repair: new storer ${who}: seed_round ${c.seedRound} is before the record's last write (round ${version}): not a fresh seed`);
    await valid(c, i);
  }
}

/**
 * A Repair of the chunk set of block R = chunk_set_round (docs/repair.md §9), after rule 1: the set as
 * the state holds it (its ChunkSetRecord) or, never repaired, as block R made it; the version check;
 * the evidence; the shortfall rule (fewer than N live, at most N − live replaced); the new commitments
 * as chunk-set commitments of R's set on a fresh seed; then the ChunkSetRecord written.
 */
async function applyChunkSetRepair(r: Repair, state: StateOverlay, ctx: BlockContext): Promise<void> {
  const params = ctx.rules.repair;
  const round = r.chunkSetRound;
  const where = `the chunk set of block ${round}`;
  if (round >= BigInt(ctx.round) || round > BigInt(Number.MAX_SAFE_INTEGER)) return precondition(`Repair: ${where} is not of an earlier block`);
  // The block's NewChunks: its chunk ids (the set's shape, and what the new storers hold) and, never
  // repaired, its commitments.
  const nc = round >= 1n ? await ctx.rules.newChunksAt(Number(round)) : null;
  if (nc === null) return precondition(`Repair: ${where} is unknown to this node (its NewChunks could not be read)`);
  const stored = await state.get(chunkSetStateKey(round));
  const set = stored !== null ? ChunkSetRecord.decode(stored) : chunkSetFromBlock(round, newChunksHash(nc), nc);
  if (set.commitments.length === 0) return precondition(`Repair: block ${round} has no chunk-set commitments to repair`);
  const version = chunkSetRecordRound(set);
  if (r.recordRound !== version) precondition(`Repair: stale: ${where} was last written in round ${version}, the repair is for round ${r.recordRound}`);
  await checkEvidence(r, set.commitments, where, state, ctx);
  // Repaired back to N, not to the set's first count (lib/chain/repair.ts chunkSetShortfall).
  const n = ctx.rules.defaultReplication;
  const nodes = new Map<string, NodeRecord | undefined>();
  for (const c of set.commitments) nodes.set(hex(c.storerId), (await readAccount(state, c.storerId)).node);
  const shortfall = chunkSetShortfall(set.commitments, (x) => nodes.get(hex(x)), params, n);
  if (shortfall === 0) precondition(`Repair: ${where} still has N = ${n} live commitments or more: nothing to repair`);
  if (r.replaced.length > shortfall) precondition(`Repair: ${where} has ${n - shortfall} live commitments; a repair brings it back to N = ${n}, so replaces at most ${shortfall}, not ${r.replaced.length}`);
  // Its shape (size, chunk size, chunk count) from the set's own commitments and the block's chunk ids:
  // the block's validation checked every commitment against the chunks' lengths.
  const first = set.commitments[0]!;
  const chunks = nc.chunkIds.length;
  const porep = ctx.rules.porep;
  await checkNewStorers(r, set.commitments, version, where, state, ctx, async (c) => {
    const { seed, registry } = await seedAndRegistry(c, ctx);
    const v = verifyChunkCommitment(c, {
      lookupStorer: (x) => registry.lookup(x),
      totalWeight: registry.totalWeight,
      expectedSize: ctx.rules.storers.expectedSize,
      seed,
      seedRound: c.seedRound,
      newChunksHash: set.newChunksHash,
      shape: { size: first.size, chunkSize: first.chunkSize, chunks },
      ...(porep ? { porep } : {}),
    });
    if (!v.ok) precondition(`Repair: new storer ${short(c.storerId)}: ${v.reason}`);
  });
  state.put(chunkSetStateKey(round), ChunkSetRecord.encode(repairedChunkSet(set, r, BigInt(ctx.round), eq)).finish());
}
