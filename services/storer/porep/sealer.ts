// Sealing a committed file into a pre-labelled sector, and answering ProveSeal / ProveReplica for it
// (docs/porep.md "Sectors"). On Solicit, once the file is durable, seal() places it at a free node range
// of a labelled sector (sectors.ts), encodes it by XOR only (r_j = d_j ⊕ label(L, first + j)), builds
// comm_r_last over the file's replica nodes and writes the sealed record durably before the commitment
// is signed. GET keeps serving the unsealed copy (files.ts).
//
// The replica is not stored separately: r = d ⊕ label(L) over the range, and both the plain copy and
// the sector's last layer stay on disk, so the storer holds the replica's worth of sector-bound space
// either way. Replica trees are rebuilt on demand and cached (bounded). A sector's column tree (comm_c's,
// opened by every seal proof) comes from labelling or is built from the sector's layers in a worker, and
// is cached per sector within `columnTreeCacheBytes`, least recently used first out: one dropped from the
// cache is built again when a proof needs it, as after a restart.
//
// On disk: <data dir>/sealed/<filehash hex>.json  {sector id, first node, nodes, comm_r_last, comm_r}.
//
// A block's chunk set (CommitChunks on a sealed network; docs/porep.md "Block chunk sets") is sealed the
// same way under its new_chunks_hash: its data is the set's chunks in slots of the set's chunk size
// (lib/porep data.ts chunkSetDataSource), read from the share store. Its record says kind "chunks" and
// the chunk size, and <new_chunks_hash hex>.ids beside it lists the chunk ids in order (written first;
// the .json is the commit point). Space reclamation releases a set that no certified block names
// (releaseChunkSet), as it releases a deleted file.
//
// A file deleted by space reclamation (reclaimer.ts) is released here: its record goes (durably), then
// its sector counts one live file less and its range becomes a gap later files may take (sectors.ts
// reclaims a sector left with none). init() drops the records of files that are gone (a crash between
// the file's deletion and its release) and gives the sector store the live ranges. Sealing and releasing one file run one at a time (a KeyedLock), so a file asked for
// again while it is being released is sealed anew instead of answering from a record about to go.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LRUCache } from 'lru-cache';
import type { SealedReplica } from '../../../gen/wolk/common/v1/storage.js';
import { KeyedLock } from '../../../lib/async/keyed-lock.js';
import { MAX_PROOF_CHALLENGES, auditProofToProto, sealProofToProto, signReplicaAudit } from '../../../lib/chain/sealed.js';
import type { SealProof as SealProofMsg, ReplicaAudit } from '../../../gen/wolk/common/v1/storage.js';
import { WolkError, invalidArgument, notFound } from '../../../lib/grpc/errors.js';
import type { NodeKey } from '../../../lib/identity/node-key.js';
import type { Logger } from '../../../lib/log/logger.js';
import { MerkleTree } from '../../../lib/merkle/tree.js';
import { chunkSetDataBytes, chunkSetDataSource, commROf, nodesFor, proveAudit, proveSeal, replicaTree, xorNodes, type DataSource } from '../../../lib/porep/index.js';
import type { FileStore } from '../files.js';
import type { FileRecord } from '../layout.js';
import { columnTreeInWorker } from './column-tree.js';
import { fsyncDir, writeDurable } from './layer-files.js';
import type { NodeRange, Sector, SectorStore } from './sectors.js';

interface SealedJson {
  v: 1;
  sector: string;
  first: number;
  count: number;
  commRLast: string;
  commR: string;
  /** Absent for a file; "chunks" for a block's chunk set. */
  kind?: 'chunks';
  /** A chunk set's slot size. */
  chunkSize?: number;
  /** When a chunk set was sealed (ms, this storer's clock): reclamation waits its deadline from it. */
  sealedAtMs?: number;
}

/** The chunk-set reads the sealer needs (the storer's ShareStore). */
export interface SealerShares {
  getMany(ids: readonly Uint8Array[]): Promise<(Uint8Array | null)[]>;
  lengths(ids: readonly Uint8Array[]): Promise<(number | null)[]>;
}

/** A sealed file's commitment data (Sealer.sealedMeta). */
export interface SealedMeta {
  readonly sectorId: Uint8Array;
  readonly sectorSeed: Uint8Array;
  readonly sectorNodes: number;
  readonly layers: number;
  readonly first: number;
  readonly count: number;
  readonly commRLast: Uint8Array;
  readonly commR: Uint8Array;
}

export interface SealerDeps {
  /** <data dir>/sealed */
  readonly dir: string;
  readonly sectors: SectorStore;
  readonly files: FileStore;
  /** Block chunks, for sealing chunk sets (CommitChunks); without it, chunk sets are not sealed here. */
  readonly shares?: SealerShares;
  readonly key: NodeKey;
  readonly logger: Logger;
  /** Bytes of replica trees kept in memory (default 256 MiB). */
  readonly cacheBytes?: number;
  /** Bytes of sectors' column trees kept in memory (WOLK_COLUMN_TREE_CACHE_BYTES; 0: none). */
  readonly columnTreeCacheBytes: number;
  /**
   * The encoding of a file's nodes with its range's last-layer labels: xorNodes (r = d ⊕ label). Only
   * the test-only wrong-sealer fault (faults.ts) passes another.
   */
  readonly encode?: (data: Uint8Array, key: Uint8Array) => Uint8Array;
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const unhex = (s: string) => Buffer.from(s, 'hex');
const asBuffer = (b: Uint8Array) => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

export class Sealer {
  private readonly log: Logger;
  /** Sealing and releasing of one file, one at a time (by filehash hex). */
  private readonly perFile = new KeyedLock();
  private readonly replicas = new Map<string, { replica: Uint8Array; tree: MerkleTree }>();
  /** Column trees by sector id (promises: proofs of a sector whose tree is being built share it); null: none kept. */
  private readonly columnTrees: LRUCache<string, Promise<MerkleTree>> | null;
  private cached = 0;
  sealedFiles = 0;
  sealedChunkSets = 0;
  /** When each chunk set was last asked for (sealChunkSet), by set hash hex. */
  private readonly chunkSetAskedAt = new Map<string, number>();
  private readonly startedAtMs = Date.now();
  /** Column trees built from a sector's layer files (a worker each), and taken from labelling instead. */
  columnTreesBuilt = 0;
  columnTreesFromLabelling = 0;

  constructor(private readonly deps: SealerDeps) {
    this.log = deps.logger.child({ module: 'sealer' });
    const columnTreeBytes = deps.columnTreeCacheBytes;
    if (!Number.isSafeInteger(columnTreeBytes) || columnTreeBytes < 0) throw new RangeError(`sealer: columnTreeCacheBytes must be an integer >= 0, got ${columnTreeBytes}`);
    this.columnTrees = columnTreeBytes > 0 ? new LRUCache({ maxSize: columnTreeBytes }) : null;
    mkdirSync(deps.dir, { recursive: true });
    deps.sectors.onReclaimed = (idHex) => void this.columnTrees?.delete(idHex);
  }

  /**
   * Start-up, after the sector store's init and before any Solicit: drops the records of files that are
   * gone, then hands the live count of each sector to the sector store (which reclaims the empty ones).
   */
  async init(): Promise<{ sealed: number; dropped: number; reclaimedSectors: number }> {
    const live = new Map<string, NodeRange[]>();
    let sealed = 0;
    let dropped = 0;
    for (const name of readdirSync(this.deps.dir)) {
      const m = /^([0-9a-f]{64})\.json$/.exec(name);
      if (!m) continue;
      const filehash = unhex(m[1]!);
      const json = JSON.parse(readFileSync(join(this.deps.dir, name), 'utf8')) as SealedJson;
      if (!(await this.stillHeld(filehash, json))) {
        rmSync(join(this.deps.dir, name), { force: true });
        rmSync(join(this.deps.dir, `${m[1]!}.ids`), { force: true });
        dropped++;
        continue;
      }
      live.set(json.sector, [...(live.get(json.sector) ?? []), { first: json.first, count: json.count }]);
      sealed++;
    }
    // .ids files whose record never got written (a crash between the two writes).
    for (const name of readdirSync(this.deps.dir)) {
      const m = /^([0-9a-f]{64})\.ids$/.exec(name);
      if (m && !existsSync(join(this.deps.dir, `${m[1]!}.json`))) rmSync(join(this.deps.dir, name), { force: true });
    }
    if (dropped > 0) fsyncDir(this.deps.dir);
    const reclaimedSectors = await this.deps.sectors.adoptLive(live);
    return { sealed, dropped, reclaimedSectors };
  }

  /**
   * A file space reclamation deleted: its sealed record goes and its sector counts one live file less.
   * Nothing happens when the file is back (asked for again since) or was never sealed.
   */
  release(filehash: Uint8Array): Promise<void> {
    const k = hex(filehash);
    return this.perFile.run(k, async () => {
      if (await this.deps.files.get(filehash)) return;
      const path = join(this.deps.dir, `${k}.json`);
      if (!existsSync(path)) return;
      const json = JSON.parse(readFileSync(path, 'utf8')) as SealedJson;
      rmSync(path, { force: true });
      fsyncDir(this.deps.dir);
      this.forget(k);
      await this.deps.sectors.release(json.sector, { first: json.first, count: json.count });
    });
  }

  /** Whether the data a record seals is still here: the file, or every chunk of the set. */
  private async stillHeld(id: Uint8Array, json: SealedJson): Promise<boolean> {
    if (json.kind !== 'chunks') return (await this.deps.files.get(id)) !== null;
    const ids = this.chunkIdsOf(hex(id));
    if (ids === null || !this.deps.shares) return false;
    return (await this.deps.shares.lengths(ids)).every((n) => n !== null);
  }

  private chunkIdsOf(k: string): Uint8Array[] | null {
    const path = join(this.deps.dir, `${k}.ids`);
    if (!existsSync(path)) return null;
    const b = readFileSync(path);
    const out: Uint8Array[] = [];
    for (let i = 0; i + 32 <= b.length; i += 32) out.push(b.subarray(i, i + 32));
    return out;
  }

  /**
   * The sealed replica of a block's chunk set (CommitChunks): sealed now, or as sealed before. Every
   * chunk must be held (the caller checked); `chunkSize` is the set's (chunkSetShape). Waits for a
   * labelled sector with room, as a file does, until `signal` ends.
   */
  sealChunkSet(setHash: Uint8Array, chunkIds: readonly Uint8Array[], chunkSize: number, signal: AbortSignal): Promise<SealedReplica> {
    const shares = this.deps.shares;
    if (!shares) throw new WolkError('FAILED_PRECONDITION', 'this storer seals no chunk sets (no share store given to the sealer)');
    const k = hex(setHash);
    return this.perFile.run(k, async () => {
      this.chunkSetAskedAt.set(k, Date.now());
      const existing = this.recordOf(setHash);
      if (existing) return this.toProto(existing.json, existing.sector);
      const started = Date.now();
      const size = chunkSetDataBytes(chunkIds.length, chunkSize);
      const count = nodesFor(size);
      const { sector, first } = await this.deps.sectors.place(count, signal);
      const placedMs = Date.now() - started;
      writeDurable(this.deps.dir, `${k}.ids`, Buffer.concat(chunkIds.map(asBuffer)));
      const json: SealedJson = { v: 1, sector: sector.idHex, first, count, commRLast: '', commR: '', kind: 'chunks', chunkSize, sealedAtMs: Date.now() };
      const replica = await this.encode(await this.chunkSetBytes(json, chunkIds), sector, first, count);
      const tree = replicaTree(replica);
      json.commRLast = hex(tree.root());
      json.commR = hex(commROf(sector.commC, tree.root()));
      writeDurable(this.deps.dir, `${k}.json`, new TextEncoder().encode(JSON.stringify(json)));
      this.remember(k, replica, tree);
      this.sealedChunkSets++;
      this.log.info('chunk set sealed', { set: k.slice(0, 16), chunks: chunkIds.length, chunkSize, sector: sector.idHex.slice(0, 16), first, nodes: count, waitedForSectorMs: placedMs, ms: Date.now() - started });
      return this.toProto(json, sector);
    });
  }

  /**
   * Chunk sets sealed here, each with the last time it was asked for (sealed, or committed to again by
   * a later proposal of the same set), for reclamation (reclaimer.ts). That time lives in memory: after
   * a restart every set counts from the start, so a set is reclaimed later, never earlier.
   */
  listChunkSets(): { setHash: Uint8Array; sealedAtMs: number }[] {
    const out: { setHash: Uint8Array; sealedAtMs: number }[] = [];
    for (const name of readdirSync(this.deps.dir)) {
      const m = /^([0-9a-f]{64})\.json$/.exec(name);
      if (!m) continue;
      let json: SealedJson;
      try {
        json = JSON.parse(readFileSync(join(this.deps.dir, name), 'utf8')) as SealedJson;
      } catch {
        continue;
      }
      if (json.kind === 'chunks') out.push({ setHash: unhex(m[1]!), sealedAtMs: Math.max(json.sealedAtMs ?? 0, this.chunkSetAskedAt.get(m[1]!) ?? this.startedAtMs) });
    }
    return out;
  }

  /**
   * A chunk set no certified block names: its record goes and its sector counts one live piece less.
   * Nothing happens when the set was asked for after `lastAskedMs` (what listChunkSets said): a proposal
   * committed to it again meanwhile. True when released.
   */
  releaseChunkSet(setHash: Uint8Array, lastAskedMs: number): Promise<boolean> {
    const k = hex(setHash);
    return this.perFile.run(k, async () => {
      if ((this.chunkSetAskedAt.get(k) ?? 0) > lastAskedMs) return false;
      const path = join(this.deps.dir, `${k}.json`);
      if (!existsSync(path)) return false;
      const json = JSON.parse(readFileSync(path, 'utf8')) as SealedJson;
      if (json.kind !== 'chunks') return false;
      rmSync(path, { force: true });
      rmSync(join(this.deps.dir, `${k}.ids`), { force: true });
      fsyncDir(this.deps.dir);
      this.forget(k);
      this.chunkSetAskedAt.delete(k);
      await this.deps.sectors.release(json.sector, { first: json.first, count: json.count });
      return true;
    });
  }

  /** A chunk set's sealed data: chunk j at [j·C, j·C + len_j), zeros elsewhere. */
  private async chunkSetBytes(json: SealedJson, ids: readonly Uint8Array[]): Promise<Uint8Array> {
    const c = json.chunkSize!;
    const data = new Uint8Array(chunkSetDataBytes(ids.length, c));
    const chunks = await this.chunksOf(ids);
    chunks.forEach((chunk, j) => data.set(chunk, j * c));
    return data;
  }

  private async chunksOf(ids: readonly Uint8Array[]): Promise<Uint8Array[]> {
    const got = await this.deps.shares!.getMany(ids);
    return got.map((chunk, j) => {
      if (chunk === null) throw new WolkError('FAILED_PRECONDITION', `chunk ${hex(ids[j]!).slice(0, 16)} of a sealed chunk set is gone`);
      return chunk;
    });
  }

  /** The bytes a record seals (a file's, or a chunk set's slots). */
  private async sealedBytes(id: Uint8Array, json: SealedJson): Promise<Uint8Array> {
    if (json.kind === 'chunks') {
      const ids = this.chunkIdsOf(hex(id));
      if (ids === null) throw new WolkError('FAILED_PRECONDITION', `the chunk list of sealed set ${hex(id).slice(0, 16)} is gone`);
      return this.chunkSetBytes(json, ids);
    }
    const record = await this.deps.files.require(id);
    return this.bytesOf(id, record);
  }

  private recordOf(filehash: Uint8Array): { json: SealedJson; sector: Sector } | null {
    const path = join(this.deps.dir, `${hex(filehash)}.json`);
    if (!existsSync(path)) return null;
    const json = JSON.parse(readFileSync(path, 'utf8')) as SealedJson;
    const sector = this.deps.sectors.get(json.sector);
    if (!sector) throw new WolkError('FAILED_PRECONDITION', `the sector ${json.sector.slice(0, 16)} of file ${hex(filehash).slice(0, 16)} is gone`);
    return { json, sector };
  }

  private toProto(json: SealedJson, sector: Sector): SealedReplica {
    return {
      sectorId: asBuffer(sector.id),
      sectorSeed: asBuffer(sector.seed),
      sectorNodes: BigInt(sector.nodes),
      layers: sector.layers,
      firstNode: BigInt(json.first),
      commC: asBuffer(sector.commC),
      commRLast: unhex(json.commRLast),
      commR: unhex(json.commR),
    };
  }

  /** The sealed replica of a committed file: sealed now, or as sealed before. Concurrent calls share one sealing. */
  seal(filehash: Uint8Array, record: FileRecord, signal: AbortSignal): Promise<SealedReplica> {
    return this.perFile.run(hex(filehash), async () => {
      const existing = this.recordOf(filehash);
      if (existing) return this.toProto(existing.json, existing.sector);
      return this.sealNow(filehash, record, signal);
    });
  }

  private async sealNow(filehash: Uint8Array, record: FileRecord, signal: AbortSignal): Promise<SealedReplica> {
    const started = Date.now();
    const count = nodesFor(record.size);
    const { sector, first } = await this.deps.sectors.place(count, signal);
    const placedMs = Date.now() - started;
    const replica = await this.encode(await this.bytesOf(filehash, record), sector, first, count);
    const tree = replicaTree(replica);
    const commRLast = tree.root();
    const commR = commROf(sector.commC, commRLast);
    const json: SealedJson = { v: 1, sector: sector.idHex, first, count, commRLast: hex(commRLast), commR: hex(commR) };
    writeDurable(this.deps.dir, `${hex(filehash)}.json`, new TextEncoder().encode(JSON.stringify(json)));
    this.remember(hex(filehash), replica, tree);
    this.sealedFiles++;
    this.log.info('file sealed', { file: hex(filehash).slice(0, 16), size: record.size, sector: sector.idHex.slice(0, 16), first, nodes: count, waitedForSectorMs: placedMs, ms: Date.now() - started });
    return this.toProto(json, sector);
  }

  /** r = d ⊕ label(L) over the data's range. */
  private async encode(data: Uint8Array, sector: Sector, first: number, count: number): Promise<Uint8Array> {
    const key = this.deps.sectors.layers(sector).read(sector.layers, first, count);
    return (this.deps.encode ?? xorNodes)(data, key);
  }

  private async bytesOf(filehash: Uint8Array, record: FileRecord): Promise<Uint8Array> {
    const data = new Uint8Array(record.size);
    for await (const p of this.deps.files.read(filehash, record, 0, record.size, 1024 * 1024)) data.set(p.data, p.offset);
    return data;
  }

  private remember(k: string, replica: Uint8Array, tree: MerkleTree): void {
    const limit = this.deps.cacheBytes ?? 256 * 1024 * 1024;
    const cost = replica.length * 3;
    if (cost > limit) return;
    this.replicas.set(k, { replica, tree });
    this.cached += cost;
    for (const [key, v] of this.replicas) {
      if (this.cached <= limit) break;
      this.replicas.delete(key);
      this.cached -= v.replica.length * 3;
    }
  }

  private forget(k: string): void {
    const hit = this.replicas.get(k);
    if (!hit) return;
    this.replicas.delete(k);
    this.cached -= hit.replica.length * 3;
  }

  private async replicaOf(filehash: Uint8Array, json: SealedJson, sector: Sector): Promise<{ replica: Uint8Array; tree: MerkleTree }> {
    const k = hex(filehash);
    const hit = this.replicas.get(k);
    if (hit) return hit;
    const replica = await this.encode(await this.sealedBytes(filehash, json), sector, json.first, json.count);
    const tree = replicaTree(replica);
    if (hex(tree.root()) !== json.commRLast) throw new WolkError('INTERNAL', `the replica of ${k.slice(0, 16)} no longer matches its comm_r_last (data or sector damaged)`);
    this.remember(k, replica, tree);
    return { replica, tree };
  }

  private columnTree(sector: Sector): Promise<MerkleTree> {
    const cached = this.columnTrees?.get(sector.idHex);
    if (cached) return cached;
    let t: Promise<MerkleTree>;
    // The tree labelling built (sectors.ts), when this process labelled the sector: the same hashes
    // again would cost seconds of CPU on the sector's first seal proof, the one consensus time-boxes.
    const labelled = this.deps.sectors.takeColumnTree(sector);
    if (labelled && hex(labelled.root()) === hex(sector.commC)) {
      this.columnTreesFromLabelling++;
      t = Promise.resolve(labelled);
    } else {
      // Off the main thread (column-tree.ts): seconds of hashing per sector would stall audit answers.
      // Also the way back for a tree the cache dropped.
      this.columnTreesBuilt++;
      this.log.info('building a sector\'s column tree from its layers', { sector: sector.idHex.slice(0, 16), nodes: sector.nodes });
      t = columnTreeInWorker({ dir: sector.dir, nodes: sector.nodes, layers: sector.layers }).then((treeC) => {
        if (hex(treeC.root()) !== hex(sector.commC)) throw new WolkError('INTERNAL', `sector ${sector.idHex.slice(0, 16)}: its layers no longer give its comm_c`);
        return treeC;
      });
    }
    if (this.columnTrees) {
      const cache = this.columnTrees;
      // A tree larger than the whole cache is not kept (lru-cache skips it): built again per proof.
      cache.set(sector.idHex, t, { size: MerkleTree.bytesFor(sector.nodes) });
      t.catch(() => {
        if (cache.peek(sector.idHex) === t) cache.delete(sector.idHex);
      });
    }
    return t;
  }

  private sealedOrThrow(filehash: Uint8Array): { json: SealedJson; sector: Sector } {
    if (filehash.length !== 32) throw invalidArgument(`filehash: expected 32 bytes, got ${filehash.length}`);
    const r = this.recordOf(filehash);
    if (!r) throw notFound(`this storer has no sealed replica of ${hex(filehash)}`);
    return r;
  }

  /** ProveSeal: the seal proof for `k` challenges drawn from `challenge` (a file's, or a chunk set's). */
  async proveSeal(filehash: Uint8Array, challenge: Uint8Array, k: number): Promise<{ sealed: SealedReplica; proof: SealProofMsg }> {
    checkChallenge(challenge, k);
    const { json, sector } = this.sealedOrThrow(filehash);
    const source = await this.dataSourceOf(filehash, json);
    const { replica, tree } = await this.replicaOf(filehash, json, sector);
    const treeC = await this.columnTree(sector);
    const sealed = this.toProto(json, sector);
    const proof = await proveSeal(
      {
        layers: sector.layers,
        store: this.deps.sectors.layers(sector),
        replica,
        sectorNodes: sector.nodes,
        first: json.first,
        treeC,
        treeR: tree,
        commitment: { commC: sector.commC, commRLast: sealed.commRLast, commR: sealed.commR },
        data: source,
      },
      challenge,
      k,
    );
    return { sealed, proof: sealProofToProto(proof) };
  }

  /** What a seal proof opens the data with: a file's chunks against its filehash, or a set's chunks by id. */
  private async dataSourceOf(id: Uint8Array, json: SealedJson): Promise<DataSource> {
    if (json.kind === 'chunks') {
      const ids = this.chunkIdsOf(hex(id));
      if (ids === null) throw new WolkError('FAILED_PRECONDITION', `the chunk list of sealed set ${hex(id).slice(0, 16)} is gone`);
      const chunks = await this.chunksOf(ids);
      return chunkSetDataSource(ids.length, json.chunkSize!, (j) => chunks[j]!);
    }
    const record = await this.deps.files.require(id);
    const trees = await this.deps.files.treesOf(id, record);
    const data = await this.bytesOf(id, record);
    return {
      size: record.size,
      chunkSize: record.chunkSize,
      open(chunkIndices) {
        const mp = trees.file.multiproof(chunkIndices);
        return {
          chunkIndices: mp.indices,
          chunks: mp.indices.map((c) => data.slice(c * record.chunkSize, Math.min((c + 1) * record.chunkSize, record.size))),
          proof: mp.hashes,
        };
      },
    };
  }

  /** ProveReplica: k replica nodes opened against comm_r_last, signed. */
  async proveReplica(filehash: Uint8Array, challenge: Uint8Array, k: number): Promise<ReplicaAudit> {
    checkChallenge(challenge, k);
    const { json, sector } = this.sealedOrThrow(filehash);
    const { replica, tree } = await this.replicaOf(filehash, json, sector);
    return this.signAudit(filehash, replica, tree, json, sector, challenge, k);
  }

  private signAudit(filehash: Uint8Array, replica: Uint8Array, tree: MerkleTree, json: SealedJson, sector: Sector, challenge: Uint8Array, k: number): ReplicaAudit {
    const commR = unhex(json.commR);
    const proof = proveAudit(replica, tree, sector.commC, commR, challenge, k);
    return signReplicaAudit(
      { storerId: asBuffer(this.deps.key.signPublicKey), filehash: asBuffer(filehash), commR, challenge: asBuffer(challenge), k, proof: auditProofToProto(proof) },
      this.deps.key.signSecretKey,
    );
  }

  /**
   * The commitment data of a sealed file without touching its sector's layers or the file's bytes
   * (sealed/<filehash>.json and sector.json only): what the test-only outsourcer keeps (faults.ts).
   */
  sealedMeta(filehash: Uint8Array): SealedMeta {
    const { json, sector } = this.sealedOrThrow(filehash);
    return { sectorId: sector.id, sectorSeed: sector.seed, sectorNodes: sector.nodes, layers: sector.layers, first: json.first, count: json.count, commRLast: unhex(json.commRLast), commR: unhex(json.commR) };
  }

  /**
   * ProveReplica from a replica the caller rebuilt (the test-only outsourcer re-seals it from fetched
   * plain data): refused unless it opens this file's comm_r_last, then proven and signed as proveReplica.
   */
  proveReplicaFrom(filehash: Uint8Array, replica: Uint8Array, challenge: Uint8Array, k: number): ReplicaAudit {
    checkChallenge(challenge, k);
    const { json, sector } = this.sealedOrThrow(filehash);
    const tree = replicaTree(replica);
    if (hex(tree.root()) !== json.commRLast) throw new WolkError('INTERNAL', `the rebuilt replica of ${hex(filehash).slice(0, 16)} does not match its comm_r_last`);
    return this.signAudit(filehash, replica, tree, json, sector, challenge, k);
  }
}

function checkChallenge(challenge: Uint8Array, k: number): void {
  if (challenge.length !== 32) throw invalidArgument(`challenge: expected 32 bytes, got ${challenge.length}`);
  if (!Number.isInteger(k) || k < 1 || k > MAX_PROOF_CHALLENGES) throw invalidArgument(`k: expected 1 to ${MAX_PROOF_CHALLENGES}, got ${k}`);
}

