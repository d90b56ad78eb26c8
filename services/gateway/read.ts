// Verified reads (issue 6, GET): a file streams from the storers that committed to it with
// GetFile(with_proofs): the first message's tree_root must give the key's filehash
// (fileHashOf(size, chunkSize, treeRoot), lib/merkle/file.ts) and every message's chunks must pass
// their multiproof against tree_root BEFORE a byte of them reaches the client. A storer that sends
// anything else, or nothing for READ_STALL_MS, is dropped and another continues from the same offset,
// invisibly to the client.
//
// Reads of more than one segment from a file with several storers go in parallel (issue 21, as Storj
// and BitTorrent clients do): the range is cut into READ_SEGMENT_BYTES segments, READ_WINDOW of them in
// flight at once, segment k asked first of storer k mod n; each is verified whole before it is handed
// over, in order, so the client still gets one ordered stream and the gateway holds at most
// READ_WINDOW segments per read. A storer that fails a segment is not asked again in that read; its
// segment goes to the next storer.
import { RpcError, serverStream } from '../../lib/grpc/client.js';
import { fileHashOf, leafHashesOf, verifyMultiproof } from '../../lib/merkle/index.js';
import type { Logger } from '../../lib/log/logger.js';
import { stallTolerantTimeout, type StallTolerance, type StallTolerantTimer } from '../../lib/time/stall-tolerant.js';
import type { Clients } from './rpc.js';

export interface VerifiedReadInput {
  readonly filehash: Uint8Array;
  readonly size: number;
  readonly chunkSize: number;
  /** Inclusive byte range to deliver. */
  readonly start: number;
  readonly end: number;
  /** Storer endpoints, in the order to try them. */
  readonly endpoints: readonly string[];
  /** Delivers verified bytes; resolves when the consumer can take more (backpressure). */
  readonly write: (bytes: Buffer) => Promise<void>;
  readonly signal: AbortSignal;
  /** Told of each storer dropped (and why) and of each that served its part to the end. */
  readonly failures?: StorerFailures;
}

/**
 * What the gateway remembers of storers that failed a read (issue 25.5): for `memoryMs` after a
 * failure a storer is asked after the others, so a dead storer does not cost every read a failed
 * attempt (and a warning) first. One that serves a read well is forgotten at once.
 */
export interface StorerFailures {
  failed(endpoint: string): void;
  served(endpoint: string): void;
  /** `endpoints` with the recently failed ones moved to the end (least recently failed first), otherwise in the given order. */
  order(endpoints: readonly string[]): string[];
}

/** How long a failed read keeps a storer at the back of the line. */
export const READ_FAILURE_MEMORY_MS = 60_000;

export function createStorerFailures(now: () => number, memoryMs = READ_FAILURE_MEMORY_MS, maxRemembered = 4096): StorerFailures {
  const failedAt = new Map<string, number>();
  const recent = (e: string): number | undefined => {
    const at = failedAt.get(e);
    if (at === undefined) return undefined;
    if (now() - at >= memoryMs) {
      failedAt.delete(e);
      return undefined;
    }
    return at;
  };
  return {
    failed(endpoint) {
      failedAt.delete(endpoint);
      if (failedAt.size >= maxRemembered) failedAt.delete(failedAt.keys().next().value as string);
      failedAt.set(endpoint, now());
    },
    served(endpoint) {
      failedAt.delete(endpoint);
    },
    order(endpoints) {
      const fine = endpoints.filter((e) => recent(e) === undefined);
      const failed = endpoints.filter((e) => recent(e) !== undefined).sort((a, b) => recent(a)! - recent(b)!);
      return [...fine, ...failed];
    },
  };
}

export class ReadFailed extends Error {
  constructor(
    message: string,
    readonly delivered: number,
  ) {
    super(message);
    this.name = 'ReadFailed';
  }
}

/** A storer that committed to the file (hex id), with the endpoint the indexer knows for it, if any. */
export interface Candidate {
  readonly id: string;
  readonly indexedEndpoint?: string;
}

/**
 * The order to ask the file's storers in: best reputation first when the indexer ranked them
 * (GetFileLocations), else the commitment order. Only storers of the chain's record are candidates:
 * the indexer orders them but cannot add any (and every chunk is verified whoever serves it).
 */
export function storerOrder(committed: readonly string[], ranked: readonly { id: string; endpoint: string }[] | null): Candidate[] {
  const mine = new Set(committed);
  const out: Candidate[] = [];
  const seen = new Set<string>();
  for (const r of ranked ?? []) {
    if (!mine.has(r.id) || seen.has(r.id)) continue;
    seen.add(r.id);
    out.push(r.endpoint ? { id: r.id, indexedEndpoint: r.endpoint } : { id: r.id });
  }
  for (const id of committed) {
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ id });
  }
  return out;
}

/** Bytes per segment of a parallel read (a multiple of every chunk size, 4096–32768). */
export const READ_SEGMENT_BYTES = 4 * 1024 * 1024;
/** Segments of one read in flight at once: the read's memory bound is this × READ_SEGMENT_BYTES. */
export const READ_WINDOW = 4;
/** A storer that sends nothing for this long (while the gateway waits on it) is dropped from the read. */
export const READ_STALL_MS = 10_000;

/**
 * The read's silence timeout tolerates the gateway's own stalls (lib/time/stall-tolerant.ts): a timer
 * that fires more than a quarter of `stallMs` late waits the whole `stallMs` again, up to 3 times.
 * Without it, a gateway blocked or starved for longer than `stallMs` dropped every storer it was reading
 * from (their bytes were waiting unread in its sockets).
 */
const SILENCE_TOLERANCE: StallTolerance = { lateFraction: 1 / 4, rewaitFraction: 1, maxRewaits: 3 };

/** Calls `onStall` after `stallMs` of silence between arm() and disarm() (re-armed at every message). */
function silenceWatch(stallMs: number, onStall: () => void): { arm(): void; disarm(): void } {
  let timer: StallTolerantTimer | undefined;
  return {
    arm() {
      timer?.cancel();
      timer = stallTolerantTimeout(stallMs, onStall, SILENCE_TOLERANCE);
    },
    disarm() {
      timer?.cancel();
    },
  };
}

interface FileShape {
  readonly filehash: Uint8Array;
  readonly size: number;
  readonly chunkSize: number;
}

/**
 * Streams [from, to] of the file from one storer, verified; `deliver` gets each verified piece cut to
 * the range, in order (awaited: backpressure). Throws on anything wrong with the storer's answer,
 * including silence for `stallMs`.
 */
async function streamFrom(clients: Clients, endpoint: string, f: FileShape, from: number, to: number, signal: AbortSignal, stallMs: number, deliver: (offset: number, bytes: Buffer) => Promise<void>): Promise<void> {
  const C = f.chunkSize;
  const leafCount = Math.ceil(f.size / C);
  const aligned = Math.floor(from / C) * C;
  const stalled = new AbortController();
  const { arm, disarm } = silenceWatch(stallMs, () => stalled.abort(new Error(`no data for ${stallMs} ms`)));
  const client = clients.storer(endpoint);
  // Ends (cancelled) when the client goes away, the storer stalls, or this function returns.
  const pieces = serverStream(client.getFile.bind(client), { filehash: Buffer.from(f.filehash), offset: BigInt(aligned), length: BigInt(to + 1 - aligned), withProofs: true }, { endpoint, signal: AbortSignal.any([signal, stalled.signal]) });
  let treeRoot: Uint8Array | undefined;
  let next = aligned;
  let pos = from;
  arm();
  try {
    for await (const msg of pieces) {
      disarm();
      // Everything asked for has come and the storer sends more than it was asked: stop (cancels).
      if (pos > to) break;
      if (!treeRoot) {
        const root = msg.treeRoot ?? Buffer.alloc(0);
        if (root.length !== 32) throw new Error('no tree_root in the first message (with_proofs unsupported?)');
        if (!Buffer.from(fileHashOf(f.size, C, root)).equals(Buffer.from(f.filehash))) throw new Error('tree_root does not give the filehash');
        treeRoot = new Uint8Array(root);
      }
      const offset = Number(msg.offset);
      if (offset !== next) throw new Error(`piece at ${offset}, expected ${next}`);
      if (msg.data.length > 0) {
        const first = offset / C;
        const count = Math.ceil(msg.data.length / C);
        const lastEnd = offset + msg.data.length;
        if (lastEnd > f.size || (lastEnd % C !== 0 && lastEnd !== f.size)) throw new Error('a piece is not made of whole chunks');
        const p = msg.proof;
        if (!p) throw new Error('a piece without a proof');
        const indices = Array.from({ length: count }, (_, i) => first + i);
        if (Number(p.leafCount) !== leafCount || p.leafIndices.length !== count || p.leafIndices.some((x, i) => Number(x) !== indices[i])) {
          throw new Error('the proof is for other leaves');
        }
        const leaves = leafHashesOf(msg.data, C);
        if (!verifyMultiproof(treeRoot, leafCount, indices, leaves, p.nodes)) throw new Error(`chunks ${first}..${first + count - 1} fail their proof`);
        next = lastEnd;
        // Verified: hand the part asked for over.
        const a = Math.max(pos, offset) - offset;
        const b = Math.min(to + 1, lastEnd) - offset;
        if (b > a) {
          await deliver(offset + a, msg.data.subarray(a, b));
          pos = offset + b;
        }
      }
      // After the last byte, wait for the storer's end of stream (its OK status, the next message)
      // instead of returning: leaving early cancels the call, and a cancelled call costs both sides
      // an error with a stack trace (grpc-js, Node's stream destroyer), several per 100 MB read.
      arm();
    }
    if (pos > to) return;
    throw new Error(`the stream ended at ${pos}, before ${to + 1}`);
  } catch (err) {
    if (stalled.signal.aborted && !signal.aborted) throw new Error(`stalled: ${(stalled.signal.reason as Error).message}`);
    throw err;
  } finally {
    disarm();
  }
}

const reasonOf = (err: unknown) => (err instanceof RpcError ? err.details : (err as Error).message);

/** Streams [start, end] verified; returns the storers dropped along the way (endpoint → why). */
export async function readVerified(clients: Clients, logger: Logger, o: VerifiedReadInput, tuning: ReadTuning = {}): Promise<Record<string, string>> {
  if (o.end < o.start) return {};
  const segment = tuning.segmentBytes ?? READ_SEGMENT_BYTES;
  if (o.endpoints.length >= 2 && o.end - o.start + 1 > segment) return readParallel(clients, logger, o, tuning);
  return readSequential(clients, logger, o, tuning.stallMs ?? READ_STALL_MS);
}

/** Sizes of a read (tests make them small); defaults READ_SEGMENT_BYTES, READ_WINDOW, READ_STALL_MS. */
export interface ReadTuning {
  readonly segmentBytes?: number;
  readonly window?: number;
  readonly stallMs?: number;
}

/** One storer after another, each continuing where the last one stopped. */
async function readSequential(clients: Clients, logger: Logger, o: VerifiedReadInput, stallMs: number): Promise<Record<string, string>> {
  const dropped: Record<string, string> = {};
  let pos = o.start; // next byte the client needs
  for (const endpoint of o.endpoints) {
    if (pos > o.end) break;
    if (o.signal.aborted) throw new ReadFailed('the client went away', pos - o.start);
    try {
      await streamFrom(clients, endpoint, o, pos, o.end, o.signal, stallMs, async (offset, bytes) => {
        await o.write(bytes);
        pos = offset + bytes.length;
      });
      o.failures?.served(endpoint);
    } catch (err) {
      if (o.signal.aborted) throw new ReadFailed('the client went away', pos - o.start);
      o.failures?.failed(endpoint);
      dropped[endpoint] = reasonOf(err);
      logger.warn('storer dropped during a read', { endpoint, reason: dropped[endpoint], at: pos });
    }
  }
  if (pos <= o.end) throw new ReadFailed(`no storer could serve bytes ${pos}-${o.end}: ${JSON.stringify(dropped)}`, pos - o.start);
  return dropped;
}

const EMPTY = Buffer.alloc(0);

/** Segments from several storers at once, verified whole, handed over in order (header). */
async function readParallel(clients: Clients, logger: Logger, o: VerifiedReadInput, tuning: ReadTuning): Promise<Record<string, string>> {
  const segment = tuning.segmentBytes ?? READ_SEGMENT_BYTES;
  const window = Math.max(1, tuning.window ?? READ_WINDOW);
  const stallMs = tuning.stallMs ?? READ_STALL_MS;
  if (segment % o.chunkSize !== 0) throw new RangeError(`read segment of ${segment} bytes is not a multiple of the chunk size ${o.chunkSize}`);
  const dropped: Record<string, string> = {};
  const served = new Set<string>();
  // Segment k: [bounds[k], bounds[k + 1] − 1], cut at multiples of `segment` so each is whole chunks.
  const bounds: number[] = [o.start];
  for (let b = (Math.floor(o.start / segment) + 1) * segment; b <= o.end; b += segment) bounds.push(b);
  bounds.push(o.end + 1);
  const count = bounds.length - 1;
  const stop = new AbortController(); // this read is over (done, failed, or the client left)
  const signal = AbortSignal.any([o.signal, stop.signal]);

  // A segment is the verified pieces as they came (views of the decoded messages, never copied); a
  // storer that fails partway leaves what it verified, and the next one continues from there.
  const fetchSegment = async (k: number): Promise<Buffer[]> => {
    const from = bounds[k]!;
    const to = bounds[k + 1]! - 1;
    const n = o.endpoints.length;
    const pieces: Buffer[] = [];
    let next = from;
    for (let i = 0; i < n; i++) {
      const endpoint = o.endpoints[(k + i) % n]!;
      if (dropped[endpoint] !== undefined) continue;
      try {
        await streamFrom(clients, endpoint, o, next, to, signal, stallMs, async (offset, bytes) => {
          pieces.push(bytes);
          next = offset + bytes.length;
        });
        served.add(endpoint);
        return pieces;
      } catch (err) {
        if (signal.aborted) throw err;
        if (dropped[endpoint] === undefined) {
          dropped[endpoint] = reasonOf(err);
          o.failures?.failed(endpoint);
          logger.warn('storer dropped during a read', { endpoint, reason: dropped[endpoint], at: next });
        }
      }
    }
    throw new Error(`no storer could serve bytes ${next}-${to}: ${JSON.stringify(dropped)}`);
  };

  // Segments fetched and not yet handed over, by index. A segment is forgotten once handed over: its
  // settled promise holds its bytes, and keeping every one held a whole file per read (issue 21:
  // 1220 MB peak RSS during a 1 GB GET, 188 MB before parallel reads).
  const inFlight = new Map<number, Promise<Buffer[]>>();
  let launched = 0;
  let delivered = 0;
  try {
    for (let k = 0; k < count; k++) {
      while (launched < k + window && launched < count) {
        const p = fetchSegment(launched);
        p.catch(() => undefined); // awaited in order below; a later one failing early must not go unhandled
        inFlight.set(launched++, p);
      }
      let pieces: Buffer[];
      try {
        pieces = await inFlight.get(k)!;
        inFlight.delete(k);
      } catch (err) {
        if (o.signal.aborted) throw new ReadFailed('the client went away', delivered);
        throw new ReadFailed((err as Error).message, delivered);
      }
      for (let i = 0; i < pieces.length; i++) {
        const bytes = pieces[i]!;
        pieces[i] = EMPTY; // handed over: this read no longer holds it
        await o.write(bytes);
        delivered += bytes.length;
        if (o.signal.aborted) throw new ReadFailed('the client went away', delivered);
      }
    }
  } finally {
    stop.abort(new Error('the read is over'));
  }
  for (const e of served) if (dropped[e] === undefined) o.failures?.served(e);
  return dropped;
}
