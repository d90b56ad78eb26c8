// The gateway as the source of a store request (DESIGN §4 step 3): StorerService.GetFile on the
// gateway's own gRPC server streams a spooled upload to the storers that fetch it. Only files with an
// upload in progress are served; every other StorerService method answers UNIMPLEMENTED.
import { createReadStream } from 'node:fs';
import { StorerServiceService, type GetFileRequest, type GetFileResponse } from '../../gen/wolk/storer/v1/storer.js';
import { WolkError } from '../../lib/grpc/errors.js';
import type { WolkGrpcServer } from '../../lib/grpc/server.js';
import type { CallContext } from '../../lib/grpc/handlers.js';
import type { Spooled } from './spool.js';

const PIECE = 256 * 1024;

export class SpoolRegistry {
  private readonly files = new Map<string, { spool: Spooled; refs: number }>();
  add(spool: Spooled): () => void {
    const id = Buffer.from(spool.digest.filehash).toString('hex');
    const hit = this.files.get(id);
    if (hit) hit.refs++;
    else this.files.set(id, { spool, refs: 1 });
    return () => {
      const e = this.files.get(id);
      if (!e) return;
      if (--e.refs === 0) this.files.delete(id);
    };
  }
  get(filehash: Uint8Array): Spooled | undefined {
    return this.files.get(Buffer.from(filehash).toString('hex'))?.spool;
  }
  get size(): number {
    return this.files.size;
  }
}

async function* getFile(spools: SpoolRegistry, req: GetFileRequest, ctx: CallContext): AsyncIterable<GetFileResponse> {
  const spool = spools.get(req.filehash);
  if (!spool) throw new WolkError('NOT_FOUND', 'this gateway has no upload in progress with that filehash');
  const size = spool.size;
  const offset = Number(req.offset ?? 0n);
  if (offset > size) throw new WolkError('OUT_OF_RANGE', `offset ${offset} is past the end (${size})`);
  const end = req.length === undefined ? size : Math.min(size, offset + Number(req.length));
  const info = { filehash: Buffer.from(spool.digest.filehash), size: BigInt(size), chunkSize: spool.digest.chunkSize };
  if (end <= offset) {
    yield { offset: BigInt(offset), data: Buffer.alloc(0), info, treeRoot: Buffer.alloc(0), proof: undefined };
    return;
  }
  let pos = offset;
  let first = true;
  const stream = createReadStream(spool.path, { start: offset, end: end - 1, highWaterMark: PIECE, signal: ctx.signal });
  for await (const piece of stream as AsyncIterable<Buffer>) {
    yield { offset: BigInt(pos), data: piece, info: first ? info : undefined, treeRoot: Buffer.alloc(0), proof: undefined };
    first = false;
    pos += piece.length;
  }
}

export function registerSource(server: WolkGrpcServer, spools: SpoolRegistry): void {
  const why = 'the gateway serves StorerService.GetFile only, for uploads in progress';
  server.addService('wolk.storer.v1.StorerService', StorerServiceService, { getFile: (req, ctx) => getFile(spools, req, ctx) }, {
    setShare: why,
    getShare: why,
    verifyShare: why,
    setFile: why,
    verifyFile: why,
    solicit: why,
    getInfo: why,
  });
}
