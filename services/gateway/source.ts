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
//
// An upload is served from an UploadSource: a spool written completely (resumable uploads), or one
// still being written by its PUT (spool.ts SpoolTail): then the storers' fetches follow the body as it
// arrives, and fail (UNAVAILABLE) when it does.
import { createReadStream } from 'node:fs';
import type { GetFileRequest, GetFileResponse } from '../../gen/wolk/storer/v1/storer.js';
import { storerServiceDefinition } from '../../lib/grpc/storer-wire.js';
import { WolkError } from '../../lib/grpc/errors.js';
import type { WolkGrpcServer } from '../../lib/grpc/server.js';
import { registration, type ServiceRegistration } from '../../lib/service/grpc-node.js';
import type { CallContext } from '../../lib/grpc/handlers.js';
import type { Spooled } from './spool.js';

/** What the gateway serves of an upload: its file's id and the bytes of a range, in order. */
export interface UploadSource {
  readonly filehash: Uint8Array;
  readonly size: number;
  readonly chunkSize: number;
  pieces(offset: number, end: number, signal: AbortSignal): AsyncIterable<Buffer>;
  /** True once the source can no longer serve (its body failed): another upload of the file serves instead. */
  failed?(): boolean;
  /** True once every byte is there and checked against the signed file (absent: always). */
  checked?(): boolean;
}

/** A spool written completely. */
export function spooledSource(spool: Spooled): UploadSource {
  return {
    filehash: spool.digest.filehash,
    size: spool.size,
    chunkSize: spool.digest.chunkSize,
    pieces: (offset, end, signal) => createReadStream(spool.path, { start: offset, end: end - 1, highWaterMark: PIECE, signal }) as AsyncIterable<Buffer>,
  };
}

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

/** A source whose body has not failed. */
const live = (x: UploadSource) => !x.failed?.();
/** A source whose bytes are all there and checked (a complete spool always is). */
const checked = (x: UploadSource) => x.checked?.() ?? true;

export class SpoolRegistry {
  private readonly files = new Map<string, { sources: UploadSource[]; gate: FetchGate }>();
  /**
   * Serves `spool` until the returned release is called; `fetchers`: how many storers may stream it at
   * once. Uploads of the same file at the same time share one gate (their fetchers add up) and are
   * served by the first of them whose body has not failed, so a bad body sent for a filehash does not
   * spoil another client's upload of the same file.
   */
  add(spool: UploadSource, fetchers = Number.POSITIVE_INFINITY): () => void {
    const id = Buffer.from(spool.filehash).toString('hex');
    let e = this.files.get(id);
    if (!e) {
      e = { sources: [], gate: new FetchGate(0) };
      this.files.set(id, e);
    }
    e.sources.push(spool);
    e.gate.raise(fetchers);
    let released = false;
    return () => {
      const cur = this.files.get(id);
      if (released || !cur) return;
      released = true;
      cur.sources.splice(cur.sources.indexOf(spool), 1);
      if (cur.sources.length === 0) {
        this.files.delete(id);
        cur.gate.close();
      }
    };
  }
  /**
   * The source a fetch reads: a checked one first (its bytes are the file), then one still arriving,
   * then (all failed) the first, whose failure the fetch reports.
   */
  get(filehash: Uint8Array): UploadSource | undefined {
    const sources = this.files.get(Buffer.from(filehash).toString('hex'))?.sources;
    return sources?.find((x) => live(x) && checked(x)) ?? sources?.find(live) ?? sources?.[0];
  }

  /** Whether an upload of `filehash` is being served whose body is not checked yet. */
  streaming(filehash: Uint8Array): boolean {
    return this.files.get(Buffer.from(filehash).toString('hex'))?.sources.some((x) => live(x) && !checked(x)) ?? false;
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
  const info = { filehash: Buffer.from(spool.filehash), size: BigInt(size), chunkSize: spool.chunkSize };
  if (end <= offset) {
    yield { offset: BigInt(offset), data: Buffer.alloc(0), info, treeRoot: Buffer.alloc(0), proof: undefined };
    return;
  }
  const slot = await (spools.gate(req.filehash)?.enter(ctx.signal) ?? { failed: () => undefined });
  let ok = false;
  try {
    let pos = offset;
    let first = true;
    try {
      for await (const piece of spool.pieces(offset, end, ctx.signal)) {
        yield { offset: BigInt(pos), data: piece, info: first ? info : undefined, treeRoot: Buffer.alloc(0), proof: undefined };
        first = false;
        pos += piece.length;
      }
    } catch (err) {
      if (err instanceof WolkError || ctx.signal.aborted) throw err;
      // The body failed while this storer followed it (spool.ts SpoolTail): the source is gone.
      throw new WolkError('UNAVAILABLE', `the upload stopped while it was being fetched: ${(err as Error).message}`);
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
