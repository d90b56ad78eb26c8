// Spooling an upload (DESIGN §4 step 1): the body streams to a file under WOLK_DATA_DIR/spool while
// the filehash (lib/merkle FileHasher) and the RFC 9530 sha-256 Content-Digest are computed over the
// same bytes. Memory stays flat whatever the size: one piece in flight, backpressure from the disk.
//
// While it is written, a spool can be read behind the writer (SpoolTail): the storers solicited for an
// upload fetch its bytes as they arrive (issue 21, "uploads streamed through"), each read waiting for
// the writer when it catches up, and failing when the body does.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, rmSync, type WriteStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { mkdirp } from '../../lib/fs/mkdirp.js';
import { FileHasher, type FileDigest } from '../../lib/merkle/index.js';

export class SpoolError extends Error {
  constructor(
    readonly code: 'too-large' | 'aborted' | 'length-mismatch' | 'idle',
    message: string,
    /** For 'too-large': the most bytes accepted. */
    readonly maxBytes?: number,
  ) {
    super(message);
    this.name = 'SpoolError';
  }
}

export interface Spooled {
  readonly path: string;
  readonly size: number;
  readonly sha256: Uint8Array;
  readonly digest: FileDigest;
  /** Deletes the spool file (idempotent). */
  remove(): void;
}

export interface SpoolOptions {
  readonly dir: string;
  readonly maxBytes: number;
  readonly chunkSize: number;
  /** Content-Length when the client sent one: the body must have exactly this many bytes. */
  readonly declaredLength?: number;
  /** Ends the read (a SpoolError reason is thrown as it is): the body cannot complete. */
  readonly signal?: AbortSignal | undefined;
  /** Longest wait for the next bytes of the body (a stalled client frees its upload slot). */
  readonly idleMs?: number | undefined;
  /** Readers behind the writer: the spool is written at tail.path, and every piece on file is announced. */
  readonly tail?: SpoolTail | undefined;
}

/** A new spool file's path under `dir` (unique: time and 64 random bits). */
export function spoolPath(dir: string): string {
  return join(dir, `${Date.now()}-${randomBytes(8).toString('hex')}.spool`);
}

/** Bytes a tail read hands out at a time. */
const TAIL_PIECE = 256 * 1024;

/**
 * A spool being written, read behind its writer: `pieces` yields the bytes of a range as they reach the
 * file, waits when it catches up with the writer, ends at the range's end, and throws when the spool
 * failed or was complete before the range ended. The last byte of a range is held back until the body
 * is complete and checked (`complete()`, called by whoever checks it): a storer cannot finish its copy,
 * and so cannot commit, to a body the gateway then refuses. Nothing of the body is held in memory but
 * the piece being read.
 */
export class SpoolTail {
  private onFile = 0;
  private ended = false;
  private error: Error | undefined;
  private waiters: Array<() => void> = [];

  constructor(readonly path: string) {}

  /** True once the body is complete and checked. */
  get checked(): boolean {
    return this.ended;
  }

  /** True once the body failed. */
  get failed(): boolean {
    return this.error !== undefined;
  }

  /** Bytes written to the file so far. */
  get written(): number {
    return this.onFile;
  }

  /** `n` more bytes are on file (spoolBody, after each write). */
  advance(n: number): void {
    this.onFile += n;
    this.wake();
  }

  /** The body is complete and checked: readers may read to its end. */
  complete(): void {
    this.ended = true;
    this.wake();
  }

  /** The body failed: readers stop with `err` (the first reason is kept). */
  fail(err: Error): void {
    this.error ??= err;
    this.wake();
  }

  async *pieces(offset: number, end: number, signal: AbortSignal, pieceBytes = TAIL_PIECE): AsyncGenerator<Buffer> {
    let fh: FileHandle | undefined;
    try {
      for (let pos = offset; pos < end; ) {
        signal.throwIfAborted();
        if (this.error) throw this.error;
        const readable = this.ended ? this.onFile : Math.min(this.onFile, end - 1);
        // Whole pieces while the body arrives (a read per write of the client's would cut the stream
        // into many small messages): wait for a piece's worth unless the range's end is on file.
        const short = !this.ended && this.onFile < end - 1 && readable - pos < pieceBytes;
        if (pos >= readable || short) {
          if (this.ended) throw new SpoolError('length-mismatch', `the upload ended after ${this.onFile} bytes, before byte ${end}`);
          await this.change(signal);
          continue;
        }
        // The file exists once a byte is on it.
        fh ??= await open(this.path, 'r');
        const want = Math.min(pieceBytes, end - pos, readable - pos);
        const buf = Buffer.allocUnsafe(want);
        const { bytesRead } = await fh.read(buf, 0, want, pos);
        if (bytesRead === 0) throw new Error(`spool ${this.path}: nothing read at ${pos} of ${this.onFile} written`);
        pos += bytesRead;
        yield bytesRead === want ? buf : buf.subarray(0, bytesRead);
      }
    } finally {
      await fh?.close();
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Until the writer moves (more bytes, the end or a failure) or `signal` aborts. */
  private change(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiters.indexOf(done);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      const done = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      this.waiters.push(done);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** A body longer silent than this is refused (408): long enough for a slow link, short enough that a stalled client does not hold a slot for minutes. */
export const BODY_IDLE_TIMEOUT_MS = 30_000;

/**
 * The pieces of a request body, ending with a SpoolError when `signal` aborts or no bytes came for
 * `idleMs`. The stream itself is left alone then (destroying a request destroys its socket, and the
 * refusal still has to be written on it).
 *
 * A stop interrupts only the wait in progress: no promise lives longer than one piece. Racing each
 * read against one promise for the whole body (Promise.race([it.next(), stopped])) added a reaction
 * to that promise per piece, and each reaction kept its race's result, the piece, alive until the body
 * ended: the gateway held every byte of an upload while spooling it (issue 21: 1154 MB peak RSS during
 * a 1 GB PUT, 202 MB before).
 */
export async function* bodyPieces(body: Readable, o: { signal?: AbortSignal | undefined; idleMs?: number | undefined }): AsyncGenerator<Buffer> {
  const it = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let stopped: SpoolError | undefined;
  /** Rejects the wait for the next piece, while there is one. */
  let interrupt: ((err: SpoolError) => void) | undefined;
  const stop = (err: SpoolError) => {
    stopped ??= err;
    interrupt?.(stopped);
  };
  const onAbort = () => {
    const reason: unknown = o.signal?.reason;
    stop(reason instanceof SpoolError ? reason : new SpoolError('aborted', 'the request was cancelled during its body'));
  };
  if (o.signal?.aborted) onAbort();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    for (;;) {
      if (stopped) throw stopped;
      if (o.idleMs !== undefined && o.idleMs > 0) {
        const ms = o.idleMs;
        timer = setTimeout(() => stop(new SpoolError('idle', `no bytes of the body arrived for ${ms / 1000} s`)), ms);
      }
      const r = await new Promise<IteratorResult<Buffer>>((resolve, reject) => {
        interrupt = reject;
        it.next().then(resolve, reject);
      });
      interrupt = undefined;
      clearTimeout(timer);
      if (r.done) return;
      yield r.value;
    }
  } finally {
    interrupt = undefined;
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
  }
}

/** Until `out` drains; rejects with its error, also one it had before the wait (no promise outlives the wait, as in bodyPieces). */
async function drained(out: WriteStream): Promise<void> {
  if (out.errored) throw out.errored;
  await once(out, 'drain');
}

/** Reads `body` to the end into a new spool file. On any failure the partial file is removed. */
export async function spoolBody(body: Readable, o: SpoolOptions): Promise<Spooled> {
  if (o.declaredLength !== undefined && o.declaredLength > o.maxBytes) {
    throw new SpoolError('too-large', `the body (${o.declaredLength} bytes) is larger than this gateway accepts (${o.maxBytes} bytes)`, o.maxBytes);
  }
  mkdirp(o.dir);
  const path = o.tail?.path ?? spoolPath(o.dir);
  const tail = o.tail;
  const out = createWriteStream(path, { flags: 'wx', highWaterMark: 1 << 20 });
  const remove = () => rmSync(path, { force: true });
  const sha = createHash('sha256');
  const hasher = new FileHasher({ chunkSize: o.chunkSize });
  let size = 0;
  const outError = new Promise<never>((_, reject) => out.once('error', reject));
  outError.catch(() => undefined);
  try {
    for await (const piece of bodyPieces(body, { signal: o.signal, idleMs: o.idleMs })) {
      size += piece.length;
      if (size > o.maxBytes) throw new SpoolError('too-large', `the body is larger than this gateway accepts (${o.maxBytes} bytes)`, o.maxBytes);
      sha.update(piece);
      hasher.update(piece);
      const n = piece.length;
      const flowing = tail ? out.write(piece, (err) => (err ? undefined : tail.advance(n))) : out.write(piece);
      if (!flowing) await drained(out);
    }
    if (o.declaredLength !== undefined && size !== o.declaredLength) {
      throw new SpoolError('length-mismatch', `Content-Length said ${o.declaredLength} bytes, the body had ${size}`);
    }
    await Promise.race([new Promise<void>((r) => out.end(() => r())), outError]);
  } catch (err) {
    // The file is opened asynchronously: removed before the stream closes, it could be created after.
    await new Promise<void>((resolve) => {
      if (out.closed) return resolve();
      out.once('close', () => resolve());
      out.destroy();
    });
    const reason =
      err instanceof SpoolError
        ? err
        : body.destroyed || (err as NodeJS.ErrnoException).code === 'ECONNRESET' || (err as Error).message === 'aborted'
          ? new SpoolError('aborted', 'the client went away during the upload')
          : err;
    // Readers behind the writer stop with the same reason, before the file goes.
    tail?.fail(reason instanceof Error ? reason : new Error(String(reason)));
    remove();
    throw reason;
  }
  return { path, size, sha256: new Uint8Array(sha.digest()), digest: hasher.digest(), remove };
}
