// The shared BlobStore compliance suite against the storer's on-volume stores, with the volume an RBD image
// (ext4 over rbd-fuse + loop): files (blob-fs, WOLK_STORE=rocksdb) and RocksDB (blob-kv).
import test from 'ava';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { openFsBlobStore } from '../../lib/storage/blob-fs.js';
import { createKvBlobStore } from '../../lib/storage/blob-kv.js';
import { Bucket } from '../../lib/storage/kv.js';
import { openRocksKv } from '../../lib/storage/rocksdb.js';
import { blobComplianceSuite } from '../unit/storage/blob-suite.js';
import { cephTierEnv, runId } from './env.js';

const env = cephTierEnv();
const base = join(env.mount, `blob-${runId}`);
mkdirSync(base, { recursive: true });
const fresh = (name: string) => mkdtempSync(join(base, `${name}-`));

let fsDir = '';
blobComplianceSuite(test.serial, 'blob-fs on rbd', {
  open: () => openFsBlobStore((fsDir = fresh('fs'))),
  reopen: () => openFsBlobStore(fsDir),
});

let kvDir = '';
blobComplianceSuite(test.serial, 'blob-kv (RocksDB) on rbd', {
  open: async () => createKvBlobStore(await openRocksKv((kvDir = fresh('kv'))), { bucket: Bucket.fileChunk, ownsKv: true }),
  reopen: async () => createKvBlobStore(await openRocksKv(kvDir), { bucket: Bucket.fileChunk, ownsKv: true }),
});
