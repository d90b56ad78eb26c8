// The gateway as the source of a store request (DESIGN §4 step 3): StorerService.GetFile on the
// gateway's own gRPC server streams a spooled upload to the storers that fetch it. Only files with an
// upload in progress are served; every other StorerService method answers UNIMPLEMENTED.
//
// Sortition selects more storers than N on purpose (so that N answer in time); on a small network it
// selects nearly every storer. Each selected storer fetches, hashes and fsyncs the whole file, so
// letting all of them stream at once costs the gateway's uplink and the storers' CPU for copies that
// are thrown away. The gateway therefore streams an upload to at most N + FETCH_SPARE storers at a
// time (FetchGate): further fetches wait, and one is let through whenever a fetch fails or a storer's
// answer turns out unusable (upload.ts calls `raise`). When the upload ends, waiting fetches get
// UNAVAILABLE; their storers were not needed.
import { createReadStream } from 'node:fs';
import type { GetFileRequest, GetFileResponse } from '../../gen/wolk/storer/v1/storer.js';
import { storerServiceDefinition } from '../../lib/grpc/storer-wire.js';
import { WolkError } from '../../lib/grpc/errors.js';
import type { WolkGrpcServer } from '../../lib/grpc/server.js';
import { registration, type ServiceRegistration } from '../../lib/service/grpc-node.js';
import type { CallContext } from '../../lib/grpc/handlers.js';
import type { Spooled } from './spool.js';

const PIECE = 256 * 1024;

/** Storers beyond N that may fetch an upload at once: one slow or failing storer does not hold up the upload. */
export const FETCH_SPARE = 1;

/** Admission of concurrent fetches of one upload: at most `limit` streams that have not failed. */
export class FetchGate {
  /** Slots taken: fetches streaming or finished well (a failed one gives its slot back). */
  private taken = 0;
  private closed = false;
  private readonly waiting: Array<{ admit: () => void; refuse: (err: Error) => void }> = [];

  constructor(private limit: number) {}

  /** One more fetch may run (a storer's answer was unusable, or another upload of the same file began). */
  raise(by = 1): void {
    this.limit += by;
    this.wake();
  }

  /** Waits for a slot (taken on return); `failed` gives it back, a fetch that ends well keeps it. */
  async enter(signal: AbortSignal): Promise<{ failed(): void }> {
    if (this.closed) throw over();
    if (this.taken < this.limit && this.waiting.length === 0) this.taken++;
    else {
      // wake() takes the slot for us before admitting.
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(new WolkError('CANCELLED', 'fetch cancelled while waiting for its turn'));
        };
        const entry = {
          admit: () => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          },
          refuse: (err: Error) => {
            signal.removeEventListener('abort', onAbort);
            reject(err);
          },
        };
        signal.addEventListener('abort', onAbort, { once: true });
        this.waiting.push(entry);
      });
    }
    let given = false;
    return {
      failed: () => {
        if (given) return;
        given = true;
        this.taken--;
        this.wake();
      },
    };
  }

  /** Fetches waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** The upload is over: waiting fetches are refused. */
  close(): void {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.refuse(over());
  }

  private wake(): void {
    while (this.taken < this.limit && this.waiting.length > 0) {
      this.taken++;
      this.waiting.shift()!.admit();
    }
  }
}

const over = () => new WolkError('UNAVAILABLE', 'the upload is over: enough storers have the file');

export class SpoolRegistry {
  private readonly files = new Map<string, { spool: Spooled; refs: number; gate: FetchGate }>();
  /** Serves `spool` until the returned release is called; `fetchers`: how many storers may stream it at once. */
  add(spool: Spooled, fetchers = Number.POSITIVE_INFINITY): () => void {
    const id = Buffer.from(spool.digest.filehash).toString('hex');
    const hit = this.files.get(id);
    if (hit) {
      hit.refs++;
      hit.gate.raise(fetchers);
    } else this.files.set(id, { spool, refs: 1, gate: new FetchGate(fetchers) });
    return () => {
      const e = this.files.get(id);
      if (!e) return;
      if (--e.refs === 0) {
        this.files.delete(id);
        e.gate.close();
      }
    };
  }
  get(filehash: Uint8Array): Spooled | undefined {
    return this.files.get(Buffer.from(filehash).toString('hex'))?.spool;
  }
  /** Lets one more storer fetch this upload at once (a selected storer's answer was unusable). */
  raise(filehash: Uint8Array): void {
    this.files.get(Buffer.from(filehash).toString('hex'))?.gate.raise(1);
  }
  gate(filehash: Uint8Array): FetchGate | undefined {
    return this.files.get(Buffer.from(filehash).toString('hex'))?.gate;
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
  const slot = await (spools.gate(req.filehash)?.enter(ctx.signal) ?? { failed: () => undefined });
  let ok = false;
  try {
    let pos = offset;
    let first = true;
    const stream = createReadStream(spool.path, { start: offset, end: end - 1, highWaterMark: PIECE, signal: ctx.signal });
    for await (const piece of stream as AsyncIterable<Buffer>) {
      yield { offset: BigInt(pos), data: piece, info: first ? info : undefined, treeRoot: Buffer.alloc(0), proof: undefined };
      first = false;
      pos += piece.length;
    }
    ok = true;
  } finally {
    if (!ok) slot.failed();
  }
}

export function sourceService(spools: SpoolRegistry): ServiceRegistration {
  const why = 'the gateway serves StorerService.GetFile only, for uploads in progress';
  return registration({
    fullName: 'wolk.storer.v1.StorerService',
    definition: storerServiceDefinition,
    handlers: { getFile: (req, ctx) => getFile(spools, req, ctx) },
    unimplemented: { setShare: why, getShare: why, verifyShare: why, setFile: why, verifyFile: why, solicit: why, getInfo: why },
  });
}

/** Adds the source service to a server that is not started through the node runtime (test harnesses). */
export function registerSource(server: WolkGrpcServer, spools: SpoolRegistry): void {
  const s = sourceService(spools);
  server.addService(s.fullName, s.definition, s.handlers, s.unimplemented);
}
