// StorerService handlers: thin. They check and convert messages, call the core (files.ts, shares.ts,
// solicit.ts) and convert back; errors are thrown as WolkError and become statuses in lib/grpc.
import type { FileInfo } from '../../gen/wolk/common/v1/storage.js';
import type { GetFileResponse, StorerServiceService } from '../../gen/wolk/storer/v1/storer.js';
import { MAX_AUDIT_LEAVES, auditIndices, signFileAudit, signShareProof, shareDigest } from '../../lib/chain/commitment.js';
import type { ServiceHandlers } from '../../lib/grpc/handlers.js';
import { invalidArgument, outOfRange, resourceExhausted } from '../../lib/grpc/errors.js';
import type { NodeKey } from '../../lib/identity/node-key.js';
import { checkFileInfo, type FileStore } from './files.js';
import type { FileRecord } from './layout.js';
import { checkChunkSizes, MAX_CHUNKS_PER_CALL, type ShareStore } from './shares.js';
import type { Admission } from './admission.js';
import { fileWriteMessage, shareWriteMessage } from '../../lib/chain/write-request.js';
import { sha256 } from '../../lib/crypto/hash.js';
import { SignDomain } from '../../lib/crypto/sign.js';
import type { Solicitor } from './solicit.js';
import type { ChunkCommitter } from './chunk-commit.js';
import type { Sealer } from './porep/sealer.js';
import { WolkError } from '../../lib/grpc/errors.js';

/** Largest GetFile piece (storer.proto: pieces of at most 1 MiB). */
const MAX_PIECE = 1024 * 1024;
/** Room left in a message for the offset, info, tree root and a multiproof. */
const MESSAGE_OVERHEAD = 16 * 1024;

export interface StorerServerDeps {
  readonly key: NodeKey;
  /** Who may write (admission.ts): SetShare(s) from consensus nodes, SetFile from gateways and the rewards node. */
  readonly admission: Admission;
  readonly files: FileStore;
  readonly shares: ShareStore;
  readonly solicitor: Solicitor;
  readonly chunkCommitter: ChunkCommitter;
  /** Proof of replication (genesis params.porep); null on a network without it. */
  readonly sealer: Sealer | null;
  readonly maxFileBytes: number;
  readonly maxMessageBytes: number;
  readonly advertise: () => string;
  readonly freeBytes: () => Promise<number | undefined>;
  /** Fault switch corrupt-reads: flip a byte of every chunk and file piece served. */
  readonly corruptReads: boolean;
}

const asBuffer = (b: Uint8Array) => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** A copy with its first byte flipped (never the stored bytes themselves). */
function corrupt(data: Uint8Array): Buffer {
  const copy = Buffer.from(data);
  if (copy.length > 0) copy[0]! ^= 0xff;
  return copy;
}

/** Largest power of two that fits a message, at least one chunk. */
function pieceBytesFor(chunkSize: number, maxMessageBytes: number): number {
  let p = MAX_PIECE;
  while (p > chunkSize && p > maxMessageBytes - MESSAGE_OVERHEAD) p /= 2;
  return p;
}

function fileInfoOf(filehash: Uint8Array, r: FileRecord): FileInfo {
  return { filehash: asBuffer(filehash), size: BigInt(r.size), chunkSize: r.chunkSize };
}

export function storerHandlers(d: StorerServerDeps): ServiceHandlers<typeof StorerServiceService> {
  const { key, files, shares } = d;
  const storerId = asBuffer(key.signPublicKey);

  return {
    async setShare(req) {
      checkChunkSizes([req.data]);
      const id = sha256(req.data);
      const writer = await d.admission.admit({ kind: 'chunks', rpc: 'SetShare', requesterId: req.requesterId, signature: req.signature, domain: SignDomain.ShareWrite, message: () => shareWriteMessage(storerId, [id]) });
      d.admission.charge(writer, req.data.length, 'SetShare');
      const chunkId = await shares.put(req.data, req.chunkId);
      return { chunkId: asBuffer(chunkId) };
    },

    async setShares(req) {
      checkChunkSizes(req.data);
      const ids = req.data.map((c) => sha256(c));
      const writer = await d.admission.admit({ kind: 'chunks', rpc: 'SetShares', requesterId: req.requesterId, signature: req.signature, domain: SignDomain.ShareWrite, message: () => shareWriteMessage(storerId, ids) });
      d.admission.charge(writer, req.data.reduce((n, c) => n + c.length, 0), 'SetShares');
      await shares.putMany(req.data, ids);
      return { chunkIds: ids.map(asBuffer) };
    },

    async getShare(req) {
      const data = await shares.require(req.chunkId);
      return { data: d.corruptReads ? corrupt(data) : asBuffer(data) };
    },

    async verifyShare(req) {
      if (req.nonce.length !== 32) throw invalidArgument(`nonce: expected 32 bytes, got ${req.nonce.length}`);
      const chunk = await shares.require(req.chunkId);
      const proof = signShareProof(
        { chunkId: asBuffer(req.chunkId), storerId, nonce: asBuffer(req.nonce), digest: asBuffer(shareDigest(req.nonce, storerId, chunk)) },
        key.signSecretKey,
      );
      return { proof };
    },

    async verifyShares(req) {
      if (req.challenges.length > MAX_CHUNKS_PER_CALL) throw invalidArgument(`${req.challenges.length} challenges in one call: at most ${MAX_CHUNKS_PER_CALL}`);
      req.challenges.forEach((c, i) => {
        if (c.chunkId.length !== 32) throw invalidArgument(`challenges[${i}].chunk_id: expected 32 bytes, got ${c.chunkId.length}`);
        if (c.nonce.length !== 32) throw invalidArgument(`challenges[${i}].nonce: expected 32 bytes, got ${c.nonce.length}`);
      });
      const chunks = await shares.getMany(req.challenges.map((c) => c.chunkId));
      return {
        answers: req.challenges.map((c, i) => {
          const chunk = chunks[i];
          if (!chunk) return { result: { $case: 'notFound' as const, value: `this storer has no chunk ${Buffer.from(c.chunkId).toString('hex')}` } };
          const proof = signShareProof(
            { chunkId: asBuffer(c.chunkId), storerId, nonce: asBuffer(c.nonce), digest: asBuffer(shareDigest(c.nonce, storerId, chunk)) },
            key.signSecretKey,
          );
          return { result: { $case: 'proof' as const, value: proof } };
        }),
      };
    },

    async setFile(requests, ctx) {
      const it = requests[Symbol.asyncIterator]();
      const first = await it.next();
      if (first.done) throw invalidArgument('empty SetFile stream: the first message must carry info (FileInfo)');
      const part = first.value.part;
      if (part?.$case !== 'info') throw invalidArgument('the first SetFile message must carry info (FileInfo), not data');
      const id = checkFileInfo(part.value, d.maxFileBytes);
      const info = part.value;
      const writer = await d.admission.admit({ kind: 'file', rpc: 'SetFile', requesterId: first.value.requesterId, signature: first.value.signature, domain: SignDomain.FileWrite, message: () => fileWriteMessage(storerId, info) });
      if (!(await files.get(id.filehash))) d.admission.charge(writer, id.size, 'SetFile');
      const unreserve = await files.reserveSpace(id.size);
      let release: () => void;
      try {
        release = files.acquireUpload();
      } catch (err) {
        unreserve();
        throw err;
      }
      try {
        const pieces = async function* (): AsyncIterable<Uint8Array> {
          for (;;) {
            const r = await it.next();
            if (r.done) return;
            const p = r.value.part;
            if (p?.$case === 'info') throw invalidArgument('info may only be sent in the first SetFile message');
            if (p?.$case === 'data') yield p.value;
          }
        };
        const { record } = await files.ingest(id, pieces(), ctx.signal);
        return { info: fileInfoOf(id.filehash, record), replicaRoot: asBuffer(record.replicaRoot) };
      } finally {
        release();
        unreserve();
      }
    },

    async *getFile(req, ctx): AsyncIterable<GetFileResponse> {
      const record = await files.require(req.filehash);
      const size = BigInt(record.size);
      const offset = req.offset ?? 0n;
      if (offset > size) throw outOfRange(`offset ${offset} is past the end of the file (${size} bytes)`);
      // Absent or 0 length: to the end (a client that cannot leave the field unset still gets a file).
      const wanted = req.length === undefined || req.length === 0n ? size - offset : req.length;
      let start = Number(offset);
      let end = Number(offset + wanted > size ? size : offset + wanted);
      const C = record.chunkSize;
      const withProofs = req.withProofs === true;
      if (withProofs) {
        start = Math.floor(start / C) * C;
        end = Math.min(record.size, Math.ceil(end / C) * C);
      }
      const info = fileInfoOf(req.filehash, record);
      const treeRoot = withProofs ? asBuffer(record.treeRoot) : undefined;
      if (start >= end) {
        yield { offset: BigInt(start), data: Buffer.alloc(0), info, treeRoot, proof: undefined };
        return;
      }
      const trees = withProofs ? await files.treesOf(req.filehash, record) : null;
      const leafCount = BigInt(Math.ceil(record.size / C));
      let first = true;
      for await (const p of files.read(req.filehash, record, start, end, pieceBytesFor(C, d.maxMessageBytes))) {
        if (ctx.signal.aborted) return;
        let proof: GetFileResponse['proof'];
        if (trees) {
          const from = p.offset / C;
          const indices = Array.from({ length: Math.ceil(p.data.length / C) }, (_, i) => from + i);
          const mp = trees.file.multiproof(indices);
          proof = { leafIndices: mp.indices.map(BigInt), leafCount, nodes: mp.hashes.map(asBuffer) };
        }
        yield {
          offset: BigInt(p.offset),
          data: d.corruptReads ? corrupt(p.data) : asBuffer(p.data),
          info: first ? info : undefined,
          treeRoot: first ? treeRoot : undefined,
          proof,
        };
        first = false;
      }
    },

    async verifyFile(req) {
      if (req.challenge.length !== 32) throw invalidArgument(`challenge: expected 32 bytes, got ${req.challenge.length}`);
      if (!Number.isInteger(req.k) || req.k < 1 || req.k > MAX_AUDIT_LEAVES) throw invalidArgument(`k: expected 1 to ${MAX_AUDIT_LEAVES}, got ${req.k}`);
      const record = await files.require(req.filehash);
      const leafCount = Math.ceil(record.size / record.chunkSize);
      const indices = auditIndices(req.challenge, leafCount, req.k);
      const trees = indices.length > 0 ? await files.treesOf(req.filehash, record) : null;
      const leaves = [];
      for (const i of indices) {
        const chunk = await files.readChunk(req.filehash, record, i);
        const at = { leafIndex: BigInt(i), leafCount: BigInt(leafCount) };
        leaves.push({
          chunk: asBuffer(chunk),
          replicaBranch: { ...at, siblings: trees!.replica.branch(i).map(asBuffer) },
          fileBranch: { ...at, siblings: trees!.file.branch(i).map(asBuffer) },
        });
      }
      const audit = signFileAudit(
        { storerId, filehash: asBuffer(req.filehash), replicaRoot: asBuffer(record.replicaRoot), challenge: asBuffer(req.challenge), k: req.k, leaves },
        key.signSecretKey,
      );
      return { audit };
    },

    async solicit(req, ctx) {
      return d.solicitor.solicit(req, ctx.signal);
    },

    async commitChunks(req, ctx) {
      return d.chunkCommitter.commit(req, ctx.signal);
    },

    async proveSeal(req) {
      if (!d.sealer) throw new WolkError('UNIMPLEMENTED', 'this network does not seal (no genesis params.porep)');
      return d.sealer.proveSeal(req.filehash, req.challenge, req.k);
    },

    async proveReplica(req) {
      if (!d.sealer) throw new WolkError('UNIMPLEMENTED', 'this network does not seal (no genesis params.porep)');
      return { audit: await d.sealer.proveReplica(req.filehash, req.challenge, req.k) };
    },

    async getInfo() {
      const free = await d.freeBytes();
      return {
        storerId,
        vrfPublicKey: asBuffer(key.vrfPublicKey),
        endpoint: d.advertise(),
        stats: {
          chunks: BigInt(shares.count),
          files: BigInt(files.files),
          bytesUsed: BigInt(files.bytes + shares.bytes),
          bytesFree: BigInt(free ?? 0),
          solicitsSelected: BigInt(d.solicitor.selected),
          solicitsNotSelected: BigInt(d.solicitor.notSelected),
        },
      };
    },
  };
}
