// The shared BlobStore compliance suite against the two stores the storer can keep file bytes in:
// files on the data volume (blob-fs) and RocksDB (blob-kv, on a real on-disk database and in memory).
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFsBlobStore } from '../../../lib/storage/blob-fs.js';
import { createKvBlobStore } from '../../../lib/storage/blob-kv.js';
import { Bucket } from '../../../lib/storage/kv.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { openRocksKv } from '../../../lib/storage/rocksdb.js';
import { blobComplianceSuite } from '../storage/blob-suite.js';

const fresh = (name: string) => mkdtempSync(join(tmpdir(), `wolk-blob-${name}-`));

let fsDir = '';
blobComplianceSuite(test.serial, 'blob-fs', {
  open: () => openFsBlobStore((fsDir = fresh('fs'))),
  reopen: () => openFsBlobStore(fsDir),
});

let kvDir = '';
blobComplianceSuite(test.serial, 'blob-kv (RocksDB)', {
  open: async () => createKvBlobStore(await openRocksKv((kvDir = fresh('kv'))), { bucket: Bucket.fileChunk, ownsKv: true }),
  reopen: async () => createKvBlobStore(await openRocksKv(kvDir), { bucket: Bucket.fileChunk, ownsKv: true }),
});

blobComplianceSuite(test.serial, 'blob-kv (memory)', {
  open: async () => createKvBlobStore(createMemoryKv(), { bucket: Bucket.fileChunk, ownsKv: true }),
});
