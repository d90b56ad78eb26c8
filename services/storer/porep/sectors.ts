// Pre-labelled sectors ("capacity", docs/porep.md "Sectors"). Labels depend only on the replica id
// (storer id, sector id, sector seed), never on data, so the storer labels sectors AHEAD of time in the
// background and a file arriving later is only XORed onto a free node range of a labelled sector:
// sealing stays off the PUT latency path (what Filecoin's SnapDeals does with a sealed empty sector).
//
// On disk, under <data dir>/sectors/<sector id hex>/:
//   layer-1 … layer-L   the labels, nodes × 32 bytes each (written durably by the labelling worker)
//   sector.json         id, seed, nodes, layers, comm_c: written durably LAST; a sector is labelled iff
//                       it exists. A directory without it is a half-labelled sector (a crash, a kill)
//                       and is removed at start, never used.
//   used.json           {used}: nodes [0, used) are taken; rewritten durably before a placement is
//                       returned, so a range is never handed out twice, even across a crash.
//
// Files larger than one sector get a sector of their own, labelled on demand (nodes = the file's).
//
// Reclaiming (docs/porep.md "Space over time"): the store counts the sealed files that live in each
// sector (placements add one; the sealer's release() of a deleted file takes one away; at start the
// sealer's records give the counts). A sector with no live file that can take no more (a dedicated one,
// or a shared one with less than a quarter of its room left) is deleted: sector.json first (durably; a
// directory without it is removed at the next start), then its layers.
//
// Space inside a sector that still holds a live file is reused: the range of a released file becomes a
// gap, and a placement takes the smallest gap it fits (best fit) before room above the sector's `used`
// watermark. Labels depend on no data, so a gap is as good as new room: the next file is XORed onto the
// same labels. Gaps are not written anywhere: at start they are the complement of the live records'
// ranges below `used` (adoptLive), and a range taken from a gap but never recorded (a crash before its
// sealed record was written) is a gap again at the next start. `used` only grows, so a sector whose
// files are all gone is reclaimed whole, as before.
//
// Labelling builds the sector's column tree to get comm_c; the tree is kept in memory (not on disk) until
// the sealer takes it for the sector's first seal proof (takeColumnTree), so that proof does not build it
// again from the layer files. A restart loses it: the sealer then builds it in a worker as before.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { PorepNetworkParams } from '../../../lib/chain/sealed.js';
import type { Logger } from '../../../lib/log/logger.js';
import type { MerkleTree } from '../../../lib/merkle/tree.js';
import { NODE_SIZE, replicaIdOf } from '../../../lib/porep/index.js';
import { FileLayerStore, fsyncDir, writeDurable } from './layer-files.js';
import type { Labeller } from './labeller.js';

export interface Sector {
  readonly id: Uint8Array;
  readonly idHex: string;
  readonly seed: Uint8Array;
  readonly nodes: number;
  readonly layers: number;
  readonly commC: Uint8Array;
  readonly dir: string;
  /** Nodes [0, used) are taken. */
  used: number;
  /** A sector labelled for one large file. */
  readonly dedicated: boolean;
  /** Sealed files placed in it and not released since (SectorStore.release). */
  live: number;
  /** Free ranges below `used` (released files' ranges, merged when adjacent), by first node. */
  gaps: NodeRange[];
}

/** A range of a sector's nodes. */
export interface NodeRange {
  readonly first: number;
  readonly count: number;
}

export interface Placement {
  readonly sector: Sector;
  readonly first: number;
  readonly count: number;
}

export interface SectorStoreDeps {
  /** <data dir>/sectors */
  readonly dir: string;
  readonly storerId: Uint8Array;
  readonly params: PorepNetworkParams;
  readonly labeller: Labeller;
  readonly logger: Logger;
  /** Labelled sectors with free room kept ready (default 1), besides the spares. */
  readonly ahead?: number;
  /**
   * Labelled sectors kept completely empty (WOLK_SPARE_SECTORS; default 0 here, the storer's option
   * defaults to 1): a file that fits no partly used sector goes into a spare at once instead of waiting
   * for a sector to be labelled, and the labeller prepares the next spare in the background.
   */
  readonly spares?: number;
  /** Randomness for sector ids and seeds (injected for tests). */
  readonly random?: (n: number) => Uint8Array;
  /**
   * Column trees from labelling kept for the sealer (default 2): a 32 MiB sector's is 64 MiB. Past the
   * bound the oldest is dropped; its sector's first seal proof then builds it from the layers.
   */
  readonly keptColumnTrees?: number;
}

interface SectorJson {
  v: 1;
  id: string;
  seed: string;
  nodes: number;
  layers: number;
  commC: string;
  dedicated: boolean;
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

export class SectorStore {
  private readonly sectors = new Map<string, Sector>();
  private readonly stores = new Map<string, FileLayerStore>();
  /** Column trees from labelling that the sealer has not taken yet, oldest first. */
  private readonly labelledTrees = new Map<string, MerkleTree>();
  private readonly log: Logger;
  private readonly ahead: number;
  private readonly spares: number;
  private readonly random: (n: number) => Uint8Array;
  private readonly sectorNodes: number;
  /** Placements run one at a time (the used watermark is read, then written). */
  private placing: Promise<unknown> = Promise.resolve();
  /** Woken when a sector has been labelled, or when room was used. */
  private wake: (() => void) | null = null;
  private changed: Promise<void> = Promise.resolve();
  private readonly stopping = new AbortController();
  private loop: Promise<void> | null = null;
  /** Labelling errors in a row (the ahead loop backs off; a placement waiting gives up after a few). */
  private failures = 0;
  /**
   * Nodes a placement is waiting for (0: none). Placements run one at a time, so one number: a sector
   * is "open" for the ahead loop only if it has room for this too.
   */
  private waitingFor = 0;
  labelledSectors = 0;
  /** Sectors deleted since start because no live file was left in them, and the bytes of their layers. */
  reclaimedSectors = 0;
  reclaimedBytes = 0;
  /** Nodes placed into released files' ranges since start (space reused inside live sectors). */
  reusedNodes = 0;
  /** Called with a sector's id (hex) once it is deleted (the sealer drops what it keeps of it). */
  onReclaimed: ((idHex: string) => void) | null = null;

  constructor(private readonly deps: SectorStoreDeps) {
    this.log = deps.logger.child({ module: 'sectors' });
    this.ahead = Math.max(1, deps.ahead ?? 1);
    this.spares = Math.max(0, deps.spares ?? 0);
    this.random = deps.random ?? ((n) => new Uint8Array(randomBytes(n)));
    this.sectorNodes = deps.params.sectorBytes / NODE_SIZE;
    this.resetChanged();
  }

  private resetChanged(): void {
    this.changed = new Promise<void>((resolve) => {
      this.wake = resolve;
    });
  }

  private notify(): void {
    const w = this.wake;
    this.resetChanged();
    w?.();
  }

  /** Loads labelled sectors, removes half-labelled ones. Returns what it found. */
  init(): { sectors: number; removed: number } {
    mkdirSync(this.deps.dir, { recursive: true });
    let removed = 0;
    for (const name of readdirSync(this.deps.dir)) {
      const dir = join(this.deps.dir, name);
      const metaPath = join(dir, 'sector.json');
      if (!/^[0-9a-f]{64}$/.test(name) || !existsSync(metaPath)) {
        rmSync(dir, { recursive: true, force: true });
        removed++;
        continue;
      }
      const j = JSON.parse(readFileSync(metaPath, 'utf8')) as SectorJson;
      if (j.v !== 1 || j.id !== name || j.layers !== this.deps.params.layers) {
        this.log.warn('a sector of other parameters is ignored', { sector: name, layers: j.layers });
        continue;
      }
      const usedPath = join(dir, 'used.json');
      const used = existsSync(usedPath) ? (JSON.parse(readFileSync(usedPath, 'utf8')) as { used: number }).used : 0;
      this.sectors.set(name, { id: unhex(j.id), idHex: j.id, seed: unhex(j.seed), nodes: j.nodes, layers: j.layers, commC: unhex(j.commC), dir, used, dedicated: j.dedicated, live: 0, gaps: [] });
    }
    if (removed > 0) fsyncDir(this.deps.dir);
    this.labelledSectors = this.sectors.size;
    return { sectors: this.sectors.size, removed };
  }

  /** Starts labelling ahead in the background (one sector at a time, in a worker thread). */
  start(): void {
    if (this.loop) return;
    this.loop = this.aheadLoop();
  }

  async stop(): Promise<void> {
    this.stopping.abort(new Error('the sector store is closing'));
    this.notify();
    await this.loop;
    for (const s of this.stores.values()) s.close();
    this.stores.clear();
    this.labelledTrees.clear();
  }

  get(idHex: string): Sector | undefined {
    return this.sectors.get(idHex);
  }

  /**
   * The column tree labelling built for `sector`, handed over once (the store forgets it): undefined
   * after a restart, when the bound dropped it, or when it was taken before.
   */
  takeColumnTree(sector: Sector): MerkleTree | undefined {
    const tree = this.labelledTrees.get(sector.idHex);
    this.labelledTrees.delete(sector.idHex);
    return tree;
  }

  private keepColumnTree(idHex: string, tree: MerkleTree): void {
    const bound = this.deps.keptColumnTrees ?? 2;
    if (bound <= 0) return;
    this.labelledTrees.set(idHex, tree);
    for (const k of this.labelledTrees.keys()) {
      if (this.labelledTrees.size <= bound) break;
      this.labelledTrees.delete(k);
    }
  }

  /** The layer store of a sector (kept open). */
  layers(sector: Sector): FileLayerStore {
    let s = this.stores.get(sector.idHex);
    if (!s) {
      s = new FileLayerStore(sector.dir, sector.nodes);
      this.stores.set(sector.idHex, s);
    }
    return s;
  }

  /** Free nodes in labelled shared sectors. */
  get freeNodes(): number {
    let free = 0;
    for (const s of this.sectors.values()) if (!s.dedicated) free += s.nodes - s.used;
    return free;
  }

  private openSectors(): number {
    let n = 0;
    // "open": room for at least a quarter of a sector, and for the placement waiting, if one is (else a
    // file larger than the free room of a sector still counted open would wait for a sector never labelled)
    for (const s of this.sectors.values()) if (!s.dedicated && s.nodes - s.used >= Math.max(s.nodes / 4, this.waitingFor)) n++;
    return n;
  }

  /** Shared sectors nothing was ever placed in. */
  private emptySectors(): number {
    let n = 0;
    for (const s of this.sectors.values()) if (!s.dedicated && s.used === 0) n++;
    return n;
  }

  /** Whether the ahead loop has what it keeps ready: `ahead` open sectors besides `spares` empty ones. */
  private readyEnough(): boolean {
    return this.openSectors() >= this.ahead + this.spares && this.emptySectors() >= this.spares;
  }

  private async aheadLoop(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      if (this.readyEnough()) {
        await this.changed;
        continue;
      }
      try {
        await this.label(this.sectorNodes, false, signal);
        this.failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        this.failures++;
        this.log.error('labelling a sector failed', { error: (err as Error).message, failures: this.failures });
        this.notify();
        // back off, bounded, without a timer that outlives stop()
        await Promise.race([new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** this.failures)).unref()), this.changed]);
      }
    }
  }

  /** Labels a new sector and publishes it. */
  private async label(nodes: number, dedicated: boolean, signal: AbortSignal): Promise<Sector> {
    const id = this.random(32);
    const seed = this.random(32);
    const idHex = hex(id);
    const dir = join(this.deps.dir, idHex);
    mkdirSync(dir, { recursive: true });
    fsyncDir(this.deps.dir);
    const started = Date.now();
    const replicaId = replicaIdOf(this.deps.storerId, id, seed);
    let commC: Uint8Array;
    let treeC: MerkleTree;
    try {
      ({ commC, treeC } = await this.deps.labeller({ dir, replicaId, nodes, layers: this.deps.params.layers }, signal));
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    const json: SectorJson = { v: 1, id: idHex, seed: hex(seed), nodes, layers: this.deps.params.layers, commC: hex(commC), dedicated };
    writeDurable(dir, 'sector.json', new TextEncoder().encode(JSON.stringify(json)));
    const sector: Sector = { id, idHex, seed, nodes, layers: this.deps.params.layers, commC, dir, used: 0, dedicated, live: 0, gaps: [] };
    this.sectors.set(idHex, sector);
    this.keepColumnTree(idHex, treeC);
    this.labelledSectors++;
    const ms = Date.now() - started;
    this.log.info('sector labelled', { sector: idHex.slice(0, 16), nodes, layers: json.layers, dedicated, ms, mbPerS: Number(((nodes * NODE_SIZE) / 1e6 / (ms / 1000)).toFixed(2)) });
    this.notify();
    return sector;
  }

  /**
   * A free range of `count` nodes in a labelled sector, durably taken before it is returned. A file
   * larger than a sector gets a sector of its own, labelled now. Otherwise, when no labelled sector has
   * room, this waits for the background labeller (aborted by `signal`).
   */
  place(count: number, signal: AbortSignal): Promise<Placement> {
    return this.inTurn(() => this.placeNow(count, signal));
  }

  /** Runs `fn` after every placement, release and reclamation queued before it (they read, then change, a sector's room). */
  private inTurn<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.placing.then(fn);
    this.placing = run.catch(() => undefined);
    return run;
  }

  private async placeNow(count: number, signal: AbortSignal): Promise<Placement> {
    if (count > this.sectorNodes) {
      const sector = await this.label(count, true, signal);
      this.take(sector, count);
      return { sector, first: 0, count };
    }
    for (;;) {
      signal.throwIfAborted();
      // A released file's range first: the smallest gap it fits, in any shared sector.
      let gapOf: { sector: Sector; index: number; gap: NodeRange } | undefined;
      for (const s of this.sectors.values()) {
        if (s.dedicated) continue;
        s.gaps.forEach((gap, index) => {
          if (gap.count >= count && (!gapOf || gap.count < gapOf.gap.count)) gapOf = { sector: s, index, gap };
        });
      }
      if (gapOf) {
        const { sector, index, gap: g } = gapOf;
        if (g.count === count) sector.gaps.splice(index, 1);
        else sector.gaps[index] = { first: g.first + count, count: g.count - count };
        sector.live++;
        this.reusedNodes += count;
        return { sector, first: g.first, count };
      }
      // best fit: the fullest sector that still has room, so sectors fill up one after another
      let best: Sector | undefined;
      for (const s of this.sectors.values()) {
        if (s.dedicated || s.nodes - s.used < count) continue;
        if (!best || s.nodes - s.used < best.nodes - best.used) best = s;
      }
      if (best) {
        const first = best.used;
        this.take(best, first + count);
        this.notify(); // the ahead loop may need to label the next one
        return { sector: best, first, count };
      }
      if (!this.loop) this.start();
      if (this.failures >= 3) throw new Error(`no labelled sector has room for ${count} nodes and labelling failed ${this.failures} times`);
      this.waitingFor = count;
      this.notify(); // wakes the ahead loop: it labels a sector with room for this one
      try {
        await new Promise<void>((resolve, reject) => {
          const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
          signal.addEventListener('abort', onAbort, { once: true });
          this.changed.then(() => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          }, reject);
        });
      } finally {
        this.waitingFor = 0;
      }
    }
  }

  private take(sector: Sector, used: number): void {
    writeDurable(sector.dir, 'used.json', new TextEncoder().encode(JSON.stringify({ used })));
    sector.used = used;
    sector.live++;
  }

  /**
   * The live files of each sector, from the sealer's records at start (before any placement): sectors
   * not named hold none. Then every sector that can be reclaimed is. Returns how many were.
   */
  async adoptLive(ranges: ReadonlyMap<string, readonly NodeRange[]>): Promise<number> {
    for (const s of this.sectors.values()) {
      const live = ranges.get(s.idHex) ?? [];
      s.live = live.length;
      s.gaps = s.dedicated ? [] : gapsBelow(s.used, live);
    }
    let n = 0;
    for (const s of [...this.sectors.values()]) if (await this.reclaimIfEmpty(s.idHex)) n++;
    return n;
  }

  /**
   * A sealed file of the sector was deleted (its record is gone, durably): one live file less, its range
   * a gap the next placements may take; the sector is reclaimed if it can be.
   */
  async release(idHex: string, range: NodeRange): Promise<boolean> {
    await this.inTurn(() => {
      const s = this.sectors.get(idHex);
      if (!s) return;
      s.live = Math.max(0, s.live - 1);
      if (!s.dedicated) s.gaps = addGap(s.gaps, range);
    });
    return this.reclaimIfEmpty(idHex);
  }

  /** No live file, and no room a placement could use: a dedicated sector, or a shared one not open. */
  private reclaimable(s: Sector): boolean {
    return s.live === 0 && (s.dedicated || s.nodes - s.used < s.nodes / 4);
  }

  /** Deletes the sector if it is reclaimable, between placements (none can pick it meanwhile). */
  private reclaimIfEmpty(idHex: string): Promise<boolean> {
    return this.inTurn(() => {
      const s = this.sectors.get(idHex);
      if (!s || !this.reclaimable(s)) return false;
      this.sectors.delete(idHex);
      this.stores.get(idHex)?.close();
      this.stores.delete(idHex);
      this.labelledTrees.delete(idHex);
      // sector.json is what makes a directory a labelled sector: gone first, so a crash from here on
      // leaves a directory init() removes.
      rmSync(join(s.dir, 'sector.json'), { force: true });
      fsyncDir(s.dir);
      rmSync(s.dir, { recursive: true, force: true });
      fsyncDir(this.deps.dir);
      const bytes = s.nodes * NODE_SIZE * s.layers;
      this.reclaimedSectors++;
      this.reclaimedBytes += bytes;
      this.log.info('sector reclaimed: no live file left in it', { sector: idHex.slice(0, 16), nodes: s.nodes, used: s.used, dedicated: s.dedicated, bytes });
      this.onReclaimed?.(idHex);
      this.notify();
      return true;
    });
  }
}

/** The free ranges of [0, used) that no live range covers, by first node. */
export function gapsBelow(used: number, live: readonly NodeRange[]): NodeRange[] {
  const out: NodeRange[] = [];
  let at = 0;
  for (const r of [...live].sort((a, b) => a.first - b.first)) {
    if (r.first > at) out.push({ first: at, count: Math.min(r.first, used) - at });
    at = Math.max(at, r.first + r.count);
    if (at >= used) break;
  }
  if (at < used) out.push({ first: at, count: used - at });
  return out.filter((g) => g.count > 0);
}

/** `gaps` with `range` added, merged with the gaps it touches. */
export function addGap(gaps: readonly NodeRange[], range: NodeRange): NodeRange[] {
  const all = [...gaps, range].sort((a, b) => a.first - b.first);
  const out: NodeRange[] = [];
  for (const g of all) {
    const last = out[out.length - 1];
    if (last && g.first <= last.first + last.count) out[out.length - 1] = { first: last.first, count: Math.max(last.first + last.count, g.first + g.count) - last.first };
    else out.push(g);
  }
  return out;
}
