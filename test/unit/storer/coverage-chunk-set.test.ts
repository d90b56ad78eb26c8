// A storer's coverage (services/storer/coverage.ts) through a block chunk-set Repair (docs/repair.md §9)
// and what the reclaimer (services/storer/reclaimer.ts) does with it: block R's chunk set is committed to
// by storers 0-2 (N = 3); storer 0 leaves and a Repair gives storer 3 its place. Every block is
// assembled, validated and committed by the real ledger (whose block store answers CommitChunks with
// chunk-set commitments signed as a storer signs them, test/unit/consensus/ledger-repair-chunk-set.test.ts)
// with a real certificate of the genesis committee (test/unit/consensus/block-storage-fixture.ts), and
// each storer's Coverage follows the certified blocks as it follows StreamBlocks.
import test from 'ava';
import type { CertifiedBlock } from '../../../gen/wolk/common/v1/chain.js';
import { NodeRole } from '../../../gen/wolk/common/v1/node.js';
import { RepairReason, type SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { createCertificateVerifier } from '../../../lib/chain/certificate.js';
import { chunkSetShape } from '../../../lib/chain/commitment.js';
import { nodesWithRole } from '../../../lib/chain/genesis.js';
import { sha256, toHex } from '../../../lib/crypto/index.js';
import type { NodeKey } from '../../../lib/identity/node-key.js';
import { createLogger } from '../../../lib/log/logger.js';
import { createKvBlobStore } from '../../../lib/storage/blob-kv.js';
import { Bucket } from '../../../lib/storage/kv.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import type { BlockChunk } from '../../../services/consensus/block-data.js';
import { Ledger } from '../../../services/consensus/ledger/ledger.js';
import { Coverage } from '../../../services/storer/coverage.js';
import { FileStore } from '../../../services/storer/files.js';
import { Reclaimer } from '../../../services/storer/reclaimer.js';
import { ShareStore } from '../../../services/storer/shares.js';
import { committeeOf, finalize } from '../consensus/block-storage-fixture.js';
import { chunkSetCommitment, makeNet, newUser, runNext, setName, txOf, type User } from '../consensus/ledger-fixture.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

const seeded = testRandom('unit/storer/coverage-chunk-set.test.ts');
logSeedOnFailure(test);

const STORERS = 5;
const AFTER = 5 * 60_000;
const quiet = createLogger({ level: 'error', write: () => undefined });
const userOf = (k: NodeKey): User => ({ publicKey: Buffer.from(k.signPublicKey), secretKey: k.signSecretKey, nonce: 0n });

/** A real ledger of 5 storers (sortition selects every one), N = 3, 1 rewards node; `committers` commit to each block's chunk set. */
async function chain() {
  const net = makeNet({ storers: STORERS, rewards: 1 });
  const expectedSize = net.genesis.params.storerCommitteeSize;
  let committers: number[] = [];
  /** The chunks each block's proposer stored (what the storers hold of its set). */
  const chunksOf = new Map<number, readonly BlockChunk[]>();
  const ledger = await Ledger.open({
    kv: createMemoryKv(),
    genesis: net.genesis,
    crypto: { hash: (...p: Uint8Array[]) => sha256(...p) },
    blockStore: {
      store: async (round, chunks, set) => {
        chunksOf.set(round, chunks);
        const shape = chunkSetShape(chunks.map((c) => c.data.length));
        const total = nodesWithRole(net.genesis, 'storer').totalStake;
        return { chunkCommitments: committers.map((i) => chunkSetCommitment(net.storers[i]!, set.newChunksHash, shape, set.seed, set.seedRound, total, expectedSize)) };
      },
    },
  });
  const committee = committeeOf(net);
  const certified = async (round: number): Promise<CertifiedBlock> => {
    const b = (await ledger.certifiedBlock(round))!;
    return { block: b.block, certificate: b.certificate, blockHash: Buffer.alloc(0) };
  };
  /** A certified block of `txs` (each must be included) whose chunk set the storers `who` commit to. */
  const block = async (txs: SignedTransaction[], who: number[] = []) => {
    committers = who;
    const { included } = await finalize(ledger, committee, txs).finally(() => void (committers = []));
    if (included.length !== txs.length) throw new Error(`test: ${txs.length - included.length} of the block's transactions were rejected`);
    return ledger.tip().round;
  };
  return { net, ledger, certified, block, chunksOf };
}

/** Storer `me`'s coverage (in memory) and a `follow` that applies the certified blocks after its cursor up to `upTo`. */
function storerCoverage(c: Awaited<ReturnType<typeof chain>>, me: number) {
  const kv = createMemoryKv();
  const coverage = new Coverage(kv, { genesisSeedHex: c.net.genesis.seed, certificates: createCertificateVerifier(c.net.genesis), storerId: c.net.storers[me]!.signPublicKey });
  const follow = async (upTo = c.ledger.tip().round) => {
    for (let r = ((await coverage.cursor())?.round ?? -1) + 1; r <= upTo; r++) await coverage.apply(await c.certified(r));
  };
  return { kv, coverage, follow };
}

test('a chunk-set Repair covers the set for the storer it adds, from its block on, and changes no other storer\'s coverage', async (t) => {
  const c = await chain();
  const { net, ledger } = c;
  const R = await c.block([setName(newUser(), 'alice')], [0, 1, 2]);
  const setR = (await c.certified(R)).block!.header!.newChunksHash;
  t.deepEqual((await c.certified(R)).block!.newChunks!.chunkCommitments.map((x) => toHex(x.storerId)), [0, 1, 2].map((i) => net.storers[i]!.id).sort(), 'the ledger kept storers 0-2\'s commitments');
  // Another block with a chunk set storer 3 commits to: its coverage of that set is not R's.
  const other = await c.block([setName(newUser(), 'bob')], [3, 4]);
  await c.block([txOf(userOf(net.storers[0]!), { $case: 'updateNode', value: { roles: { roles: [NodeRole.NODE_ROLE_GATEWAY] } } })]);
  const at = ledger.tip().round;
  const storers = [...Array(STORERS).keys()].map((i) => storerCoverage(c, i));
  for (const s of storers) await s.follow();
  const covered = async () => Promise.all(storers.map((s) => s.coverage.chunkSetCovered(setR)));
  const before = await covered();
  t.deepEqual(before, [true, true, true, false, false], 'before the Repair: R\'s committers');

  // The Repair: storer 3 in storer 0's place, on the tip's seed, made and finalized by the ledger.
  const blockR = (await c.certified(R)).block!;
  const replaced = blockR.newChunks!.chunkCommitments.find((x) => toHex(x.storerId) === net.storers[0]!.id)!;
  const total = nodesWithRole(net.genesis, 'storer').totalStake - 1000n;
  const fresh = chunkSetCommitment(net.storers[3]!, setR, replaced, ledger.seedAt(at)!, at, total, net.genesis.params.storerCommitteeSize);
  const repair = txOf(userOf(net.rewards[0]!), {
    $case: 'repair',
    value: { owner: '', collection: '', key: '', recordRound: BigInt(R), chunkSetRound: BigInt(R), replaced: [{ commitment: replaced, reason: RepairReason.REPAIR_REASON_DEREGISTERED }], commitments: [fresh] },
  });
  await t.notThrowsAsync(runNext(ledger, repair), 'the ledger accepts the Repair');
  const repairRound = await c.block([repair]);
  const repairBlock = (await c.certified(repairRound)).block!;
  t.deepEqual((repairBlock.newChunks?.repairedChunkSets ?? []).map((x) => [Number(x.round), x.commitments.map((y) => toHex(y.storerId))]), [[R, [net.storers[3]!.id]]], 'the repair block carries R\'s set with storer 3');

  // Every storer follows the Repair block without throwing.
  for (const [i, s] of storers.entries()) await t.notThrowsAsync(s.follow(), `storer ${i} follows the Repair block`);
  for (const s of storers) t.is((await s.coverage.cursor())!.round, repairRound);
  t.deepEqual(await covered(), [true, true, true, true, false], 'storer 3 (added) now covers R\'s set; storers 0-2 and 4 as before');
  const setOther = (await c.certified(other)).block!.header!.newChunksHash;
  t.deepEqual(await Promise.all(storers.map((s) => s.coverage.chunkSetCovered(setOther))), [false, false, false, true, true], 'the other set\'s coverage is unchanged');
  // R's chunks stay covered for everyone (the block lists them), as before the Repair.
  for (const ch of c.chunksOf.get(R)!) t.deepEqual(await Promise.all(storers.map((s) => s.coverage.chunkCovered(ch.id))), [true, true, true, true, true]);
  // Not taken for a key's Repair (the key path of empty names): no file is covered by R's set hash.
  t.false(await storers[3]!.coverage.fileCovered(setR));
});

test('the sealed chunk set a Repair gave this storer is not released, however far past the deadline both clocks are; before the Repair it would have been', async (t) => {
  const c = await chain();
  const { net, ledger } = c;
  const R = await c.block([setName(newUser(), 'carol')], [0, 1, 2]);
  const blockR = (await c.certified(R)).block!;
  const setR = blockR.header!.newChunksHash;
  await c.block([txOf(userOf(net.storers[0]!), { $case: 'updateNode', value: { roles: { roles: [NodeRole.NODE_ROLE_GATEWAY] } } })]);
  const at = ledger.tip().round;
  const replaced = blockR.newChunks!.chunkCommitments.find((x) => toHex(x.storerId) === net.storers[0]!.id)!;
  const total = nodesWithRole(net.genesis, 'storer').totalStake - 1000n;
  const fresh = chunkSetCommitment(net.storers[3]!, setR, replaced, ledger.seedAt(at)!, at, total, net.genesis.params.storerCommitteeSize);
  const repairRound = await c.block([
    txOf(userOf(net.rewards[0]!), {
      $case: 'repair',
      value: { owner: '', collection: '', key: '', recordRound: BigInt(R), chunkSetRound: BigInt(R), replaced: [{ commitment: replaced, reason: RepairReason.REPAIR_REASON_DEREGISTERED }], commitments: [fresh] },
    }),
  ]);

  // Storer 3's sealer holds R's set (sealed when it committed for the Repair) and a set of a proposal
  // never certified, both sealed long before the chain began.
  const s = storerCoverage(c, 3);
  const files = new FileStore({ kv: s.kv, blobs: createKvBlobStore(s.kv, { bucket: Bucket.fileChunk }), storerId: net.storers[3]!.signPublicKey, logger: quiet, maxFileBytes: 1 << 20, maxConcurrentUploads: 1, segmentBytes: 8192 });
  const shares = new ShareStore(s.kv);
  await files.init();
  await shares.init();
  const losing = seeded.bytes(32);
  const sealedAtMs = Number(net.genesis.timestampMs) - 100 * AFTER;
  const hexR = toHex(setR);
  const sets = new Map([
    [hexR, sealedAtMs],
    [toHex(losing), sealedAtMs],
  ]);
  const released: string[] = [];
  /** The sealer's side; `keep` refuses every release (a dry run: what the sweep would release). */
  const sealer = (keep: boolean) => ({
    release: async () => undefined,
    listChunkSets: () => [...sets].map(([h, at]) => ({ setHash: Buffer.from(h, 'hex'), sealedAtMs: at })),
    releaseChunkSet: async (setHash: Uint8Array) => {
      released.push(toHex(setHash));
      return keep ? false : sets.delete(toHex(setHash));
    },
  });
  const clock = { now: Date.now() + 100 * AFTER };
  const reclaimer = (keep: boolean) => new Reclaimer({ files, shares, kv: s.kv, coverage: s.coverage, afterMs: AFTER, now: () => clock.now, logger: quiet, sealed: sealer(keep) });

  // Followed up to the block before the Repair: R's set is not this storer's, so the sweep would release it.
  await s.follow(repairRound - 1);
  t.false(await s.coverage.chunkSetCovered(setR));
  await reclaimer(true).sweep();
  t.deepEqual(released.sort(), [hexR, toHex(losing)].sort(), 'before the Repair block: both sets are due and uncovered');
  released.length = 0;

  // After the Repair block: R's set stays, the uncovered one goes; the clocks moving on changes nothing.
  await s.follow();
  t.true(await s.coverage.chunkSetCovered(setR));
  const chainMs = (await s.coverage.cursor())!.timestampMs;
  t.true(clock.now - sealedAtMs >= 100 * AFTER && chainMs - sealedAtMs >= 100 * AFTER, 'both clocks are far past the deadline');
  const r = reclaimer(false);
  await r.sweep();
  t.deepEqual(released, [toHex(losing)], 'only the set no certified block gives this storer');
  t.is(r.total.chunkSets, 1);
  clock.now += 1000 * AFTER;
  await r.sweep();
  t.deepEqual(released, [toHex(losing)]);
  t.true(sets.has(hexR), 'R\'s sealed set is kept');
});
