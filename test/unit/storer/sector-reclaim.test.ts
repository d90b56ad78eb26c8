// Sector space over time (services/storer/porep/{sectors,sealer}.ts; docs/porep.md "Space over time"),
// with real RocksDB, blob files and sector layer files on disk and the real labelling worker: a sector
// is deleted once no sealed file lives in it and it can take no more; one that still holds a file, or
// still has room, stays; a file asked for again after its release is sealed anew and its replica audit
// verifies; a restart after a deletion that was never released (a crash) drops the orphaned record and
// reclaims the sector then.
import test from 'ava';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PorepNetworkParams } from '../../../lib/chain/sealed.js';
import { verifyReplicaAudit, verifySealAnswer } from '../../../lib/chain/sealed.js';
import type { StorageCommitment } from '../../../gen/wolk/common/v1/storage.js';
import { nodeKeyFromSeeds } from '../../../lib/identity/node-key.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { NODE_SIZE } from '../../../lib/porep/index.js';
import { openFsBlobStore } from '../../../lib/storage/blob-fs.js';
import { openRocksKv } from '../../../lib/storage/rocksdb.js';
import { FileStore } from '../../../services/storer/files.js';
import { workerLabeller } from '../../../services/storer/porep/labeller.js';
import { Sealer } from '../../../services/storer/porep/sealer.js';
import { SectorStore } from '../../../services/storer/porep/sectors.js';
import { ShareStore } from '../../../services/storer/shares.js';
import { sha256 } from '../../../lib/crypto/hash.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';
import { infoOf } from './client.js';
import { pollUntil } from '../../helpers/poll.js';

const seeded = testRandom('unit/storer/sector-reclaim.test.ts');
logSeedOnFailure(test);

/** 64 KiB sectors: 2048 nodes of 32 bytes. */
const PARAMS: PorepNetworkParams = { sectorBytes: 64 * 1024, layers: 4, sealChallenges: 64, auditChallenges: 16 };
const SECTOR_NODES = PARAMS.sectorBytes / NODE_SIZE;
const SECTOR_LAYER_BYTES = PARAMS.sectorBytes * PARAMS.layers;

async function* once(b: Uint8Array): AsyncIterable<Uint8Array> {
  yield b;
}

/** A sealing storer's stores on disk (what services/storer/node.ts wires for a sealed network). */
async function openSealing(dir: string, key = nodeKeyFromSeeds(seeded.bytes(32), seeded.bytes(32))) {
  const kv = await openRocksKv(join(dir, 'db'));
  const blobs = await openFsBlobStore(join(dir, 'blobs'));
  const files = new FileStore({ kv, blobs, storerId: key.signPublicKey, logger: silentLogger, maxFileBytes: 1 << 24, maxConcurrentUploads: 4, segmentBytes: 8192 });
  await files.init();
  const shares = new ShareStore(kv);
  await shares.init();
  const sectors = new SectorStore({ dir: join(dir, 'sectors'), storerId: key.signPublicKey, params: PARAMS, labeller: workerLabeller, logger: silentLogger, random: (n) => seeded.bytes(n) });
  sectors.init();
  const sealer = new Sealer({ dir: join(dir, 'sealed'), sectors, files, shares, key, logger: silentLogger, columnTreeCacheBytes: 1 << 20 });
  const started = await sealer.init();
  const close = async () => {
    await sectors.stop();
    await blobs.close();
    await kv.close();
  };
  /** Stores `data` and seals it: the sealed replica the commitment would carry. */
  const storeSealed = async (data: Uint8Array) => {
    const info = infoOf(data);
    const { record } = await files.ingest({ filehash: info.filehash, size: data.length, chunkSize: 4096 }, once(data), new AbortController().signal);
    const sealed = await sealer.seal(info.filehash, record, AbortSignal.timeout(120_000));
    return { info, sealed };
  };
  /** What space reclamation does to an uncovered file: the file goes, then its sealed place. */
  const deleteFile = async (filehash: Uint8Array, release = true) => {
    const freed = await files.reclaim(filehash, async () => true);
    if (freed === null) throw new Error('the file was not deleted');
    if (release) await sealer.release(filehash);
  };
  const sectorDirs = () => readdirSync(join(dir, 'sectors')).sort();
  /** Stores a block's chunk set (4096-byte slots) and seals it as CommitChunks does. */
  const sealChunkSet = async (chunks: readonly Uint8Array[]) => {
    await shares.putMany(chunks);
    const ids = chunks.map((c) => sha256(c));
    const setHash = sha256(...ids);
    const sealed = await sealer.sealChunkSet(setHash, ids, 4096, AbortSignal.timeout(120_000));
    return { ids, setHash, sealed };
  };
  return { key, files, shares, sectors, sealer, started, close, storeSealed, deleteFile, sealChunkSet, sectorDirs };
}

/** Bytes whose node count is `nodes` exactly. */
const ofNodes = (nodes: number) => seeded.bytes(nodes * NODE_SIZE);

test('a sector is reclaimed when its last sealed file is deleted and it can take no more; one with a live file or with room stays', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-sector-reclaim-'));
  const s = await openSealing(dir);
  try {
    // Sector 1: a (1600 nodes) and b (300) fill it past three quarters: it is closed for new files.
    const a = await s.storeSealed(ofNodes(1600));
    const bBytes = ofNodes(300);
    const b = await s.storeSealed(bBytes);
    const one = Buffer.from(a.sealed.sectorId).toString('hex');
    t.is(Buffer.from(b.sealed.sectorId).toString('hex'), one, 'b fills the same sector');
    // Sector 2: c (1000 nodes) leaves it open (more than a quarter free).
    const c = await s.storeSealed(ofNodes(1000));
    const two = Buffer.from(c.sealed.sectorId).toString('hex');
    t.not(two, one);

    await s.deleteFile(a.info.filehash);
    t.truthy(s.sectors.get(one), 'b still lives in sector 1: it stays');
    t.true(existsSync(join(dir, 'sectors', one, 'layer-1')));
    t.is(s.sectors.reclaimedSectors, 0);

    await s.deleteFile(b.info.filehash);
    t.is(s.sectors.get(one), undefined, 'sector 1 has no live file and no room: reclaimed');
    t.false(s.sectorDirs().includes(one), 'its directory and layer files are gone');
    t.is(s.sectors.reclaimedSectors, 1);
    t.is(s.sectors.reclaimedBytes, SECTOR_LAYER_BYTES, 'all four layers of the 64 KiB sector freed');
    t.false(existsSync(join(dir, 'sealed', `${Buffer.from(b.info.filehash).toString('hex')}.json`)), 'the sealed record went with the file');

    await s.deleteFile(c.info.filehash);
    t.truthy(s.sectors.get(two), 'sector 2 is empty but still open for placements: it stays');
    t.is(s.sectors.reclaimedSectors, 1);

    // A file deleted and then asked for again is sealed anew, and its replica audit verifies.
    const bAgain = await s.storeSealed(bBytes);
    t.not(Buffer.from(bAgain.sealed.sectorId).toString('hex'), one, 'placed in a sector that still exists');
    const challenge = seeded.bytes(32);
    const audit = await s.sealer.proveReplica(bAgain.info.filehash, challenge, PARAMS.auditChallenges);
    const commitment = { storerId: Buffer.from(s.key.signPublicKey), filehash: Buffer.from(bAgain.info.filehash), size: BigInt(bAgain.info.size), sealed: bAgain.sealed };
    t.deepEqual(verifyReplicaAudit(audit, commitment, challenge, PARAMS.auditChallenges), { ok: true }, 'the re-sealed replica is proven in its new place');

    const big = await s.storeSealed(ofNodes(SECTOR_NODES + 10));
    t.is(Number(big.sealed.sectorNodes), SECTOR_NODES + 10, 'a file larger than a sector gets a sector of its own');
    const dedicated = Buffer.from(big.sealed.sectorId).toString('hex');
    await s.deleteFile(big.info.filehash);
    t.is(s.sectors.get(dedicated), undefined, 'a dedicated sector goes with its one file');
    t.is(s.sectors.reclaimedSectors, 2);
  } finally {
    await s.close();
  }
});

test('space inside a live sector is reused: a released file\'s range takes the next file that fits (smallest gap first), whose seal proof and replica audit verify beside its live neighbours; after a restart the gaps come from the records', async (t) => {
  t.timeout(180_000);
  const dir = mkdtempSync(join(tmpdir(), 'wolk-sector-gaps-'));
  let s = await openSealing(dir);
  const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');
  /** The file's seal proof and replica audit, checked as consensus and the rewards auditor check them. */
  const proves = async (f: { info: ReturnType<typeof infoOf>; sealed: Awaited<ReturnType<typeof s.storeSealed>>['sealed'] }) => {
    const commitment = { storerId: Buffer.from(s.key.signPublicKey), filehash: Buffer.from(f.info.filehash), size: BigInt(f.info.size), chunkSize: 4096, sealed: f.sealed };
    const challenge = seeded.bytes(32);
    const seal = await s.sealer.proveSeal(f.info.filehash, challenge, PARAMS.sealChallenges);
    const audit = await s.sealer.proveReplica(f.info.filehash, challenge, PARAMS.auditChallenges);
    return verifySealAnswer(commitment as StorageCommitment, PARAMS, challenge, PARAMS.sealChallenges, seal).ok && verifyReplicaAudit(audit, commitment, challenge, PARAMS.auditChallenges).ok;
  };
  try {
    // One sector: a 400, b 300, c 200, d 500 nodes, in that order.
    const [a, b, c, d] = [await s.storeSealed(ofNodes(400)), await s.storeSealed(ofNodes(300)), await s.storeSealed(ofNodes(200)), await s.storeSealed(ofNodes(500))];
    const sector = hexOf(a.sealed.sectorId);
    t.deepEqual([b, c, d].map((f) => hexOf(f.sealed.sectorId)), [sector, sector, sector], 'all four in one sector');
    t.deepEqual([a, b, c, d].map((f) => Number(f.sealed.firstNode)), [0, 400, 700, 900]);
    await s.deleteFile(b.info.filehash);
    await s.deleteFile(c.info.filehash);
    t.deepEqual(s.sectors.get(sector)?.gaps, [{ first: 400, count: 500 }], 'b and c left one merged gap');
    await s.deleteFile(a.info.filehash);
    t.deepEqual(s.sectors.get(sector)?.gaps, [{ first: 0, count: 900 }], 'and a joined it');
    const used = s.sectors.get(sector)!.used;
    // e fits the gap: it goes there, not above the watermark.
    const e = await s.storeSealed(ofNodes(250));
    t.is(hexOf(e.sealed.sectorId), sector);
    t.is(Number(e.sealed.firstNode), 0, 'e is placed at the start of the gap');
    t.is(s.sectors.get(sector)!.used, used, 'the watermark did not move');
    t.is(s.sectors.reusedNodes, 250);
    t.true(await proves(e), 'e\'s seal proof and replica audit verify in the reused range');
    t.true(await proves(d), 'd, its live neighbour, still proves');
    await s.close();

    // After a restart (the same storer key) the gap is the complement of the live records (e at 0..250, d at 900..1400).
    s = await openSealing(dir, s.key);
    t.deepEqual(s.sectors.get(sector)?.gaps, [{ first: 250, count: 650 }], 'the gap found again from the records');
    const f = await s.storeSealed(ofNodes(600));
    t.deepEqual([hexOf(f.sealed.sectorId), Number(f.sealed.firstNode)], [sector, 250], 'the next file that fits goes into it');
    t.true(await proves(f));
    t.true(await proves(e));
  } finally {
    await s.close();
  }
});

test('a restart after a deletion that was never released drops the orphaned sealed record and reclaims the sector then', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-sector-reclaim-'));
  let s = await openSealing(dir);
  let sector: string;
  const bBytes = ofNodes(100);
  try {
    const a = await s.storeSealed(ofNodes(1800));
    sector = Buffer.from(a.sealed.sectorId).toString('hex');
    const b = await s.storeSealed(bBytes);
    t.is(Buffer.from(b.sealed.sectorId).toString('hex'), sector);
    // The file goes but its release does not happen (a crash right after the file's commit point).
    await s.deleteFile(a.info.filehash, false);
    t.truthy(s.sectors.get(sector));
  } finally {
    await s.close();
  }
  s = await openSealing(dir);
  try {
    t.deepEqual(s.started, { sealed: 1, dropped: 1, reclaimedSectors: 0 }, 'the record of the deleted file is dropped at start; b still lives in the sector');
    t.truthy(s.sectors.get(sector));
    const b = infoOf(bBytes);
    await s.deleteFile(b.filehash);
    t.is(s.sectors.get(sector), undefined, 'with b gone the sector is reclaimed');
    t.false(s.sectorDirs().includes(sector));
  } finally {
    await s.close();
  }
  // Nothing left to drop, nothing live in a closed sector: a clean start.
  s = await openSealing(dir);
  try {
    t.deepEqual(s.started, { sealed: 0, dropped: 0, reclaimedSectors: 0 });
  } finally {
    await s.close();
  }
});

test('sealed chunk sets: listed with when they were asked for; a set asked for again is not released; a released set frees its place while the other still proves its replica; a restart drops a set whose chunks are gone', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-sector-reclaim-'));
  let s = await openSealing(dir);
  let kept: Awaited<ReturnType<typeof s.sealChunkSet>>;
  let sector: string;
  try {
    // 1000 slots of 4 KiB would not fit a 64 KiB sector: sets of 4 and 5 chunks (128 and 160 nodes).
    const first = await s.sealChunkSet(Array.from({ length: 4 }, (_, i) => seeded.bytes(300 + i)));
    kept = await s.sealChunkSet(Array.from({ length: 5 }, (_, i) => seeded.bytes(400 + i)));
    sector = Buffer.from(first.sealed.sectorId).toString('hex');
    t.is(Buffer.from(kept.sealed.sectorId).toString('hex'), sector, 'both sets share the labelled sector');
    t.is(Number(kept.sealed.firstNode), 4 * 4096 / NODE_SIZE, 'the second set after the first one\'s slots');
    const listed = s.sealer.listChunkSets();
    t.deepEqual(listed.map((x) => Buffer.from(x.setHash).toString('hex')).sort(), [first.setHash, kept.setHash].map((h) => Buffer.from(h).toString('hex')).sort());
    const askedAt = listed.find((x) => Buffer.from(x.setHash).equals(Buffer.from(first.setHash)))!.sealedAtMs;
    // Asked for again (a later proposal of the same set) after the listing: not released.
    await pollUntil(async () => Date.now(), { what: 'the clock to move on', deadlineMs: 5000, intervalMs: 5, until: (n) => n > askedAt });
    const again = await s.sealer.sealChunkSet(first.setHash, first.ids, 4096, AbortSignal.timeout(10_000));
    t.deepEqual(again, first.sealed, 'the same sealed place');
    t.false(await s.sealer.releaseChunkSet(first.setHash, askedAt), 'asked for since the listing: kept');
    const now = s.sealer.listChunkSets().find((x) => Buffer.from(x.setHash).equals(Buffer.from(first.setHash)))!.sealedAtMs;
    t.true(await s.sealer.releaseChunkSet(first.setHash, now), 'released');
    t.false(existsSync(join(dir, 'sealed', `${Buffer.from(first.setHash).toString('hex')}.json`)));
    t.false(existsSync(join(dir, 'sealed', `${Buffer.from(first.setHash).toString('hex')}.ids`)));
    t.truthy(s.sectors.get(sector), 'the other set still lives in the sector');
    // The kept set still proves its replica.
    const challenge = seeded.bytes(32);
    const audit = await s.sealer.proveReplica(kept.setHash, challenge, PARAMS.auditChallenges);
    t.deepEqual(verifyReplicaAudit(audit, { storerId: Buffer.from(s.key.signPublicKey), filehash: Buffer.from(kept.setHash), size: 0n, sealed: kept.sealed }, challenge, PARAMS.auditChallenges, 5 * 4096), { ok: true });
  } finally {
    await s.close();
  }
  // After a restart with every chunk there, the set is kept; with one gone, it is dropped.
  s = await openSealing(dir);
  try {
    t.deepEqual(s.started, { sealed: 1, dropped: 0, reclaimedSectors: 0 });
    await s.shares.drop([kept.ids[2]!]);
  } finally {
    await s.close();
  }
  s = await openSealing(dir);
  try {
    t.is(s.started.dropped, 1, 'the set whose chunk is gone is dropped at start');
    t.deepEqual(s.sealer.listChunkSets(), []);
  } finally {
    await s.close();
  }
});
