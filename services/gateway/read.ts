// Verified reads (issue 6, GET): a file streams from the storers that committed to it with
// GetFile(with_proofs): the first message's tree_root must give the key's filehash
// (fileHashOf(size, chunkSize, treeRoot), lib/merkle/file.ts) and every message's chunks must pass
// their multiproof against tree_root BEFORE a byte of them reaches the client. A storer that sends
// anything else is dropped and the next one continues from the same offset, invisibly to the client.
import { RpcError, serverStream } from '../../lib/grpc/client.js';
import { fileHashOf, leafHash, verifyMultiproof } from '../../lib/merkle/index.js';
import type { Logger } from '../../lib/log/logger.js';
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

/** Streams [start, end] verified; returns the storers dropped along the way (endpoint → why). */
export async function readVerified(clients: Clients, logger: Logger, o: VerifiedReadInput): Promise<Record<string, string>> {
  const dropped: Record<string, string> = {};
  if (o.end < o.start) return dropped;
  const C = o.chunkSize;
  const leafCount = Math.ceil(o.size / C);
  let pos = o.start; // next byte the client needs
  for (const endpoint of o.endpoints) {
    if (pos > o.end) break;
    if (o.signal.aborted) throw new ReadFailed('the client went away', pos - o.start);
    const aligned = Math.floor(pos / C) * C;
    const client = clients.storer(endpoint);
    // Ends (cancelled) when the client goes away or this loop leaves the storer.
    const pieces = serverStream(client.getFile.bind(client), { filehash: Buffer.from(o.filehash), offset: BigInt(aligned), length: BigInt(o.end + 1 - aligned), withProofs: true }, { endpoint, signal: o.signal });
    let treeRoot: Uint8Array | undefined;
    let next = aligned;
    try {
      for await (const msg of pieces) {
        if (!treeRoot) {
          const root = msg.treeRoot ?? Buffer.alloc(0);
          if (root.length !== 32) throw new Error('no tree_root in the first message (with_proofs unsupported?)');
          if (!Buffer.from(fileHashOf(o.size, C, root)).equals(Buffer.from(o.filehash))) throw new Error('tree_root does not give the filehash');
          treeRoot = new Uint8Array(root);
        }
        const offset = Number(msg.offset);
        if (offset !== next) throw new Error(`piece at ${offset}, expected ${next}`);
        if (msg.data.length === 0) continue;
        const first = offset / C;
        const count = Math.ceil(msg.data.length / C);
        const lastEnd = offset + msg.data.length;
        if (lastEnd > o.size || (lastEnd % C !== 0 && lastEnd !== o.size)) throw new Error('a piece is not made of whole chunks');
        const p = msg.proof;
        if (!p) throw new Error('a piece without a proof');
        const indices = Array.from({ length: count }, (_, i) => first + i);
        if (Number(p.leafCount) !== leafCount || p.leafIndices.length !== count || p.leafIndices.some((x, i) => Number(x) !== indices[i])) {
          throw new Error('the proof is for other leaves');
        }
        const leaves = indices.map((_, i) => leafHash(msg.data.subarray(i * C, Math.min((i + 1) * C, msg.data.length))));
        if (!verifyMultiproof(treeRoot, leafCount, indices, leaves, p.nodes)) throw new Error(`chunks ${first}..${first + count - 1} fail their proof`);
        next = lastEnd;
        // Verified: hand the part the client asked for over.
        const from = Math.max(pos, offset) - offset;
        const to = Math.min(o.end + 1, lastEnd) - offset;
        if (to > from) {
          await o.write(msg.data.subarray(from, to));
          pos = offset + to;
        }
        if (pos > o.end) break;
      }
      if (pos <= o.end) throw new Error(`the stream ended at ${pos}, before ${o.end + 1}`);
      o.failures?.served(endpoint);
    } catch (err) {
      if (o.signal.aborted) throw new ReadFailed('the client went away', pos - o.start);
      o.failures?.failed(endpoint);
      // An RpcError names its endpoint in its message; the endpoint is the key here already.
      const reason = err instanceof RpcError ? err.details : (err as Error).message;
      dropped[endpoint] = reason;
      logger.warn('storer dropped during a read', { endpoint, reason, at: pos });
    }
  }
  if (pos <= o.end) throw new ReadFailed(`no storer could serve bytes ${pos}-${o.end}: ${JSON.stringify(dropped)}`, pos - o.start);
  return dropped;
}
