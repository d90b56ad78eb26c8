// The storer's file-backed LayerStore (lib/porep/layer-store.ts): one file per layer of a sector,
// `<sector dir>/layer-<l>`, nodes × 32 bytes each. Writes go to `layer-<l>.tmp`, are fsynced and then
// renamed, so a layer file that exists is complete. Reads are small and random (a seal proof opens a few
// thousand columns) and come from the page cache: synchronous positional reads, one descriptor per layer;
// a seal proof's scattered nodes in one native call per layer (readNodes) when native/porep is built.
import { closeSync, fsyncSync, openSync, readSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_SIZE, type LayerStore } from '../../../lib/porep/index.js';
import { nativePorep } from '../../../lib/porep/native.js';

export const layerPath = (dir: string, layer: number) => join(dir, `layer-${layer}`);

/** fsync a directory, so the entries created or renamed in it are durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes bytes to `path` durably: a temporary file, fsynced, renamed over `path`, directory fsynced. */
export function writeDurable(dir: string, name: string, bytes: Uint8Array): void {
  const tmp = join(dir, `${name}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, name));
  fsyncDir(dir);
}

/** Layers of one sector, as files. */
export class FileLayerStore implements LayerStore {
  private readonly fds = new Map<number, number>();

  constructor(
    private readonly dir: string,
    private readonly nodes: number,
  ) {}

  put(layer: number, labels: Uint8Array): void {
    writeDurable(this.dir, `layer-${layer}`, labels);
  }

  private fdOf(layer: number): number {
    let fd = this.fds.get(layer);
    if (fd === undefined) {
      fd = openSync(layerPath(this.dir, layer), 'r');
      this.fds.set(layer, fd);
    }
    return fd;
  }

  readNodes(layer: number, indices: Uint32Array): Uint8Array {
    for (const i of indices) if (i >= this.nodes) throw new RangeError(`layer store: node ${i} outside a sector of ${this.nodes}`);
    const fd = this.fdOf(layer);
    const out = new Uint8Array(indices.length * NODE_SIZE);
    const native = nativePorep();
    if (native) {
      try {
        native.readNodes(fd, indices, out);
      } catch (err) {
        throw new RangeError(`layer store: layer ${layer} of ${this.dir}: ${(err as Error).message}`);
      }
      return out;
    }
    indices.forEach((i, j) => out.set(this.read(layer, i, 1), j * NODE_SIZE));
    return out;
  }

  read(layer: number, start: number, count: number): Uint8Array {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count < 0 || start + count > this.nodes) {
      throw new RangeError(`layer store: nodes [${start}, ${start + count}) outside a sector of ${this.nodes}`);
    }
    const fd = this.fdOf(layer);
    const out = new Uint8Array(count * NODE_SIZE);
    let got = 0;
    while (got < out.length) {
      const n = readSync(fd, out, got, out.length - got, start * NODE_SIZE + got);
      if (n === 0) throw new RangeError(`layer store: layer ${layer} of ${this.dir} is shorter than ${this.nodes} nodes`);
      got += n;
    }
    return out;
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}
