// Where the storer keeps what (docs/storer.md, "On-disk layout"). RocksDB (WOLK_DATA_DIR/db) holds
// chunks and every file's metadata and leaf hashes; file bytes are blobs (WOLK_DATA_DIR/blobs, or RADOS).
//
//   chunk   ‖ chunkId(32)                         → chunk bytes                       (SetShare)
//   file    ‖ 0x00 ‖ filehash(32)                 → FileRecord (JSON)                 (the commit point)
//   file    ‖ 0x01 ‖ filehash(32) ‖ upload(8) ‖ u32be(group) → leaf hashes LH(chunk_i), 32 bytes each,
//                                                             LEAF_GROUP per value
//   replica ‖ 0x00 ‖ filehash(32) ‖ upload(8) ‖ u32be(group) → replica leaf hashes RL_i, same grouping
//   file    ‖ 0x02 ‖ upload(8)                 → filehash: an upload in progress (its leaves may exist)
//   blob    f/<filehash hex>/<upload hex>/<segment, 8 digits>  → file bytes [s·S, (s+1)·S)
//
// A file exists iff its FileRecord exists; the record names the upload whose leaves and segments hold
// the file. During an upload, leaf groups are written as they fill (plain writes, after the upload's
// in-progress marker); segments are durable blobs. The commit is ONE synchronous batch: the record, the
// last leaf groups and the deletion of the marker (a sync write also makes every earlier write of the
// WAL durable). What a crash leaves of an uncommitted upload is found at start by its marker (leaves)
// or by its upload id not being any record's (segments) and removed.
import { Bucket, bucketKey } from '../../lib/storage/kv.js';

/** Leaf hashes per RocksDB value: 4096 × 32 B = 128 KiB. */
export const LEAF_GROUP = 4096;
/** Bytes per file segment (blob): a multiple of every chunk size and every GetFile piece. */
export const SEGMENT_BYTES = 4 * 1024 * 1024;

const RECORD = Uint8Array.of(0x00);
const LEAVES = Uint8Array.of(0x01);
const REPLICA_LEAVES = Uint8Array.of(0x00);

function u32be(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, false);
  return b;
}

export const chunkKey = (chunkId: Uint8Array) => bucketKey(Bucket.chunk, chunkId);
export const chunkPrefix = () => bucketKey(Bucket.chunk);
export const fileRecordKey = (filehash: Uint8Array) => bucketKey(Bucket.file, RECORD, filehash);
export const fileRecordPrefix = () => bucketKey(Bucket.file, RECORD);
const PENDING = Uint8Array.of(0x02);
const uploadBytes = (uploadId: string) => new Uint8Array(Buffer.from(uploadId, 'hex'));
export const leafGroupKey = (filehash: Uint8Array, uploadId: string, group: number) => bucketKey(Bucket.file, LEAVES, filehash, uploadBytes(uploadId), u32be(group));
export const leafPrefix = (filehash: Uint8Array, uploadId: string) => bucketKey(Bucket.file, LEAVES, filehash, uploadBytes(uploadId));
export const replicaGroupKey = (filehash: Uint8Array, uploadId: string, group: number) =>
  bucketKey(Bucket.replica, REPLICA_LEAVES, filehash, uploadBytes(uploadId), u32be(group));
export const replicaPrefix = (filehash: Uint8Array, uploadId: string) => bucketKey(Bucket.replica, REPLICA_LEAVES, filehash, uploadBytes(uploadId));
export const pendingKey = (uploadId: string) => bucketKey(Bucket.file, PENDING, uploadBytes(uploadId));
export const pendingPrefix = () => bucketKey(Bucket.file, PENDING);

export const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Blob name of one segment of one upload of a file. */
export function segmentName(filehashHex: string, uploadId: string, segment: number): string {
  return `f/${filehashHex}/${uploadId}/${String(segment).padStart(8, '0')}`;
}

/** Parses a segment name back; null for anything else found under f/. */
export function parseSegmentName(name: string): { filehashHex: string; uploadId: string; segment: number } | null {
  const m = /^f\/([0-9a-f]{64})\/([0-9a-f]{16})\/(\d{8})$/.exec(name);
  return m ? { filehashHex: m[1]!, uploadId: m[2]!, segment: Number(m[3]) } : null;
}

/** A committed file. */
export interface FileRecord {
  readonly size: number;
  readonly chunkSize: number;
  /** Which upload's segments hold the bytes. */
  readonly uploadId: string;
  readonly segmentBytes: number;
  /** MTH over the leaf hashes (filehash = fileHashOf(size, C, treeRoot)). */
  readonly treeRoot: Uint8Array;
  /** This storer's replica root (bound to its id). */
  readonly replicaRoot: Uint8Array;
  /** When the file was stored or last asked for again (SetFile, Solicit): the reclamation deadline counts from it. */
  readonly storedAtMs: number;
}

interface FileRecordJson {
  v: 1;
  size: number;
  chunkSize: number;
  uploadId: string;
  segmentBytes: number;
  treeRoot: string;
  replicaRoot: string;
  storedAtMs: number;
}

export function encodeFileRecord(r: FileRecord): Uint8Array {
  const json: FileRecordJson = {
    v: 1,
    size: r.size,
    chunkSize: r.chunkSize,
    uploadId: r.uploadId,
    segmentBytes: r.segmentBytes,
    treeRoot: hex(r.treeRoot),
    replicaRoot: hex(r.replicaRoot),
    storedAtMs: r.storedAtMs,
  };
  return new TextEncoder().encode(JSON.stringify(json));
}

export function decodeFileRecord(bytes: Uint8Array): FileRecord {
  const j = JSON.parse(new TextDecoder().decode(bytes)) as FileRecordJson;
  if (j.v !== 1) throw new Error(`unknown file record version ${String(j.v)}`);
  return {
    size: j.size,
    chunkSize: j.chunkSize,
    uploadId: j.uploadId,
    segmentBytes: j.segmentBytes,
    treeRoot: new Uint8Array(Buffer.from(j.treeRoot, 'hex')),
    replicaRoot: new Uint8Array(Buffer.from(j.replicaRoot, 'hex')),
    storedAtMs: j.storedAtMs,
  };
}
