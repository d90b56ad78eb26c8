// The node's parts around the core: wire conversions (block hash from a header alone, votes and
// certificates round-trip), the mempool's bounds and order, the state proof's proto form, and the
// ledger's block checks (a tampered block is refused; a block replayed on another parent re-executes).
import test from 'ava';
import { sha256 } from '../../../lib/crypto/index.js';
import { SparseMerkleTree, verifySmtProof } from '../../../lib/smt/index.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { blockHash } from '../../../services/consensus/agreement/codec.js';
import type { Block, Vote } from '../../../services/consensus/agreement/types.js';
import { Mempool } from '../../../services/consensus/mempool.js';
import { smtProofFromProto, smtProofToProto } from '../../../services/consensus/server.js';
import * as wire from '../../../services/consensus/wire.js';
import { blockFromHeader, certificateFromProto, certificateToProto, headerOf, voteFromProto, voteToProto, WireError } from '../../../services/consensus/wire.js';
import { txId } from '../../../lib/chain/tx-bytes.js';
import { makeNet, newUser, openLedger, setName } from './ledger-fixture.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

/** Test data and keys, seeded (test/helpers/seed.ts): the same on every run with the same WOLK_TEST_SEED. */
const seeded = testRandom('unit/consensus/node-parts.test.ts');
logSeedOnFailure(test);

const crypto = { hash: (...p: Uint8Array[]) => sha256(...p) } as Parameters<typeof blockHash>[0];
const rnd = (n: number) => new Uint8Array(seeded.bytes(n));

function sampleVote(step: number, value: Uint8Array | null): Vote {
  return { round: 7, period: 1, step, value, credential: { voterId: 'ab'.repeat(32), vrfProof: rnd(80), vrfOutput: rnd(64), weight: 3 }, signature: rnd(64) };
}

test('a block survives header → proto → header, and its hash is recomputed from the header alone', (t) => {
  const body = wire.encodeLedgerPart({ stateRoot: Buffer.from(rnd(32)), txRoot: Buffer.from(rnd(32)), newChunksHash: Buffer.from(rnd(32)), timestampMs: 123n });
  const b: Omit<Block, 'hash'> = {
    round: 5,
    prevHash: rnd(32),
    seed: rnd(32),
    proposer: 'cd'.repeat(32),
    period: 2,
    credential: { voterId: 'cd'.repeat(32), vrfProof: rnd(80), vrfOutput: rnd(64), weight: 4 },
    body,
  };
  const block: Block = { ...b, hash: blockHash(crypto, b) };
  const again = blockFromHeader(crypto, headerOf(block));
  t.deepEqual(again.hash, block.hash);
  t.deepEqual(again.body, block.body);
  const tampered = { ...headerOf(block), timestampMs: 124n };
  t.notDeepEqual(blockFromHeader(crypto, tampered).hash, block.hash, 'the ledger part is covered by the hash');
  t.throws(() => blockFromHeader(crypto, { ...headerOf(block), seed: Buffer.alloc(3) }), { instanceOf: WireError, message: /seed/ });
});

test('votes and certificates round-trip; malformed ones are refused with a reason', (t) => {
  const v = sampleVote(2, rnd(32));
  t.deepEqual(voteFromProto(voteToProto(v)), v);
  const bottom = sampleVote(3, null);
  t.deepEqual(voteFromProto(voteToProto(bottom)), bottom);
  const cert = { round: 7, period: 1, value: v.value!, votes: [v], equivocations: [[v, sampleVote(2, rnd(32))] as const] };
  t.deepEqual(certificateFromProto(certificateToProto(cert)), cert);
  t.throws(() => voteFromProto({ ...voteToProto(v), value: Buffer.alloc(5) }), { instanceOf: WireError, message: /value/ });
  t.throws(() => voteFromProto({ ...voteToProto(v), voterId: Buffer.alloc(3) }), { instanceOf: WireError, message: /voter id/ });
  t.throws(() => voteFromProto({ ...voteToProto(v), round: 1n << 60n }), { instanceOf: WireError, message: /out of range/ });
});

test('mempool: duplicates, per-sender and total bounds, nonce-then-arrival order, pruning', async (t) => {
  const pool = new Mempool({ maxSize: 5, maxPerSender: 2 });
  const a = newUser();
  const b = newUser();
  const a0 = setName(a, 'a0');
  const a1 = setName(a, 'a1');
  const b0 = setName(b, 'b0');
  t.is(pool.add(a1, txId(a1)), 'added');
  t.is(pool.add(a0, txId(a0)), 'added');
  t.is(pool.add(a0, txId(a0)), 'duplicate');
  const a2 = setName(a, 'a2');
  t.is(pool.add(a2, txId(a2)), 'sender-full');
  t.is(pool.add(b0, txId(b0)), 'added');
  t.deepEqual(pool.candidates(10).map((s) => s.tx!.body!.$case === 'setName' && s.tx!.body!.value.name), ['a0', 'b0', 'a1']);
  for (let i = 0; i < 2; i++) {
    const u = newUser();
    const s = setName(u, `c${i}`);
    t.is(pool.add(s, txId(s)), 'added');
  }
  const extra = setName(newUser(), 'x');
  t.is(pool.add(extra, txId(extra)), 'full');
  const dropped = await pool.prune(async (sender) => (Buffer.from(sender).equals(a.publicKey) ? 1n : 0n));
  t.is(dropped, 1);
  t.false(pool.has(txId(a0)));
  t.true(pool.has(txId(a1)));
});

test('state proofs in proto form verify against the root, for present and absent keys', async (t) => {
  const tree = new SparseMerkleTree({ kv: createMemoryKv() });
  const entries = Array.from({ length: 50 }, () => ({ key: rnd(32), value: rnd(40) }));
  const root = await tree.update(SparseMerkleTree.emptyRoot, entries);
  for (const e of entries.slice(0, 10)) {
    const pb = smtProofToProto(e.key, e.value, root, await tree.prove(root, e.key));
    t.is(pb.bitmap.length, 32);
    const p = smtProofFromProto(pb)!;
    t.true(verifySmtProof(root, e.key, e.value, p));
    t.false(verifySmtProof(root, e.key, rnd(40), p), 'another value does not verify');
  }
  // An absent key whose path ends at an empty subtree.
  for (let i = 0; i < 20; i++) {
    const k = rnd(32);
    const proof = await tree.prove(root, k);
    if (proof.leaf !== null) continue;
    const p = smtProofFromProto(smtProofToProto(k, null, root, proof))!;
    t.true(verifySmtProof(root, k, null, p));
    return;
  }
  t.fail('no absent key ended at an empty subtree');
});

test('ledger: a block with a wrong state root or foreign transactions is invalid; a valid one commits', async (t) => {
  const ledger = await openLedger(makeNet());
  const tip = ledger.tip();
  const alice = newUser();
  const { body, payload } = await ledger.assemble(1, [setName(alice, 'alice')]);
  const mk = (bodyBytes: Uint8Array): Block => {
    const b: Omit<Block, 'hash'> = { round: 1, prevHash: tip.hash, seed: rnd(32), proposer: 'aa'.repeat(32), period: 0, credential: { voterId: 'aa'.repeat(32), vrfProof: rnd(80), vrfOutput: rnd(64), weight: 1 }, body: bodyBytes };
    return { ...b, hash: blockHash(crypto, b) };
  };
  const good = mk(body);
  const h = headerOf(good);
  const wrongRoot = mk(wire.encodeLedgerPart({ ...h, stateRoot: Buffer.from(rnd(32)) }));
  const r1 = await ledger.validate(wrongRoot, payload);
  t.false(r1.valid);
  t.regex(r1.reason!, /state_root/);
  const r2 = await ledger.validate(good, { txs: [setName(newUser(), 'bob')], newChunks: payload.newChunks });
  t.false(r2.valid);
  t.regex(r2.reason!, /tx_root/);
  const r3 = await ledger.validate(good, undefined);
  t.false(r3.valid);
  t.true((await ledger.validate(good, payload)).valid);
  await ledger.commit(good, { round: 1, period: 0, value: good.hash, votes: [], equivocations: [] }, payload);
  t.is(ledger.tip().round, 1);
  const stored = await ledger.certifiedBlock(1);
  t.deepEqual(blockFromHeader(crypto, stored!.block.header).hash, good.hash);
  t.deepEqual(await ledger.chain.roundOf(good.hash), 1);
  // The same body on the new tip (a replay of its transactions) re-executes and fails.
  const tip2 = ledger.tip();
  const replay: Omit<Block, 'hash'> = { ...good, round: 2, prevHash: tip2.hash };
  const r4 = await ledger.validate({ ...replay, hash: blockHash(crypto, replay) }, payload);
  t.false(r4.valid);
  t.regex(r4.reason ?? '', /nonce|state_root|timestamp/);
});
