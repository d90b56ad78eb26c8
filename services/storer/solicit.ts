// Solicit: a store request (DESIGN §4 step 3). The storer evaluates its VRF over
// sortitionAlpha("wolk/sortition/storer/v1", seed, filehash) and runs sortition with its stake against
// the registry's total. Not selected: it answers at once with the proof (weight 0), which anyone can
// check (lib/chain/commitment.ts verifyNotSelected). Selected: it fetches the file from the source by
// streaming GetFile, verifies and commits it (files.ts: the same path as SetFile), and signs a
// StorageCommitment. Concurrent Solicits for one filehash share one fetch; each gets its own
// commitment (its seed may differ).
import type { SolicitRequest, SolicitResponse } from '../../gen/wolk/storer/v1/storer.js';
import { signStorageCommitment, storerAlpha } from '../../lib/chain/commitment.js';
import { SignDomain } from '../../lib/crypto/sign.js';
import { solicitMessage } from '../../lib/chain/write-request.js';
import { proveSortition } from '../../lib/crypto/sortition.js';
import { WolkError, invalidArgument } from '../../lib/grpc/errors.js';
import type { Admission, Writer } from './admission.js';
import type { NodeKey } from '../../lib/identity/node-key.js';
import type { Logger } from '../../lib/log/logger.js';
import { checkFileInfo, type FileId, type FileStore } from './files.js';
import { hex, type FileRecord } from './layout.js';
import type { Selection } from './selection.js';
import type { Sealer } from './porep/sealer.js';

export type SourceFetcher = (endpoint: string, filehash: Uint8Array, signal: AbortSignal) => AsyncIterable<Uint8Array>;

export interface SolicitDeps {
  /** Who may ask (admission.ts): the requester, its role, the source it names, its byte budget. */
  readonly admission: Admission;
  readonly files: FileStore;
  readonly key: NodeKey;
  readonly selection: Selection;
  readonly fetch: SourceFetcher;
  readonly logger: Logger;
  readonly maxFileBytes: number;
  /** Seals the file before the commitment is signed (genesis params.porep); null: unsealed commitments. */
  readonly sealer?: Sealer | null;
  /** Fault switch drop-after-commit: delete the bytes right after answering (a lazy storer). */
  readonly dropAfterCommit: boolean;
}

interface InFlight {
  readonly promise: Promise<FileRecord>;
  readonly controller: AbortController;
  waiters: number;
  settled: boolean;
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new WolkError('CANCELLED', 'call cancelled');
}

/** The promise, or the abort of `signal`, whichever comes first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

const ENDPOINT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

export class Solicitor {
  selected = 0;
  notSelected = 0;
  private readonly inflight = new Map<string, InFlight>();
  private readonly log: Logger;

  constructor(private readonly deps: SolicitDeps) {
    this.log = deps.logger.child({ module: 'solicit' });
  }

  async solicit(req: SolicitRequest, signal: AbortSignal): Promise<SolicitResponse> {
    const file = checkFileInfo(req.file, this.deps.maxFileBytes, 'file');
    if (req.seed.length !== 32) throw invalidArgument(`seed: expected 32 bytes, got ${req.seed.length}`);
    if (!ENDPOINT.test(req.sourceEndpoint)) throw invalidArgument(`source_endpoint: expected HOST:PORT, got "${req.sourceEndpoint}"`);
    const writer = await this.deps.admission.admit({
      kind: 'file',
      rpc: 'Solicit',
      requesterId: req.requesterId,
      signature: req.signature,
      domain: SignDomain.StoreRequest,
      message: () => solicitMessage(req),
    });
    const params = await this.deps.selection.paramsFor({ totalStake: req.totalStake, expectedStorers: req.expectedStorers, seedRound: req.seedRound, seed: req.seed });
    await this.deps.admission.checkSource(writer, req.sourceEndpoint, req.seedRound, req.seed);
    const { key } = this.deps;
    const draw = proveSortition(key.vrfSecretKey, storerAlpha(req.seed, file.filehash), params.stake, params.totalWeight, params.expectedSize);
    const vrf = { proof: Buffer.from(draw.proof), output: Buffer.from(draw.beta) };
    if (draw.j === 0) {
      this.notSelected++;
      return { result: { $case: 'notSelected', value: { storerId: Buffer.from(key.signPublicKey), vrfPublicKey: Buffer.from(key.vrfPublicKey), vrf } } };
    }
    const record = await this.obtain(file, req.sourceEndpoint, writer, signal);
    // sealed (placed in a labelled sector, XOR-encoded, record durable) before anything is signed
    const sealed = this.deps.sealer ? await this.deps.sealer.seal(file.filehash, record, signal) : undefined;
    const commitment = signStorageCommitment(
      {
        storerId: Buffer.from(key.signPublicKey),
        vrfPublicKey: Buffer.from(key.vrfPublicKey),
        vrf,
        weight: draw.j,
        replicaRoot: Buffer.from(record.replicaRoot),
        filehash: Buffer.from(file.filehash),
        size: BigInt(record.size),
        chunkSize: record.chunkSize,
        seed: Buffer.from(req.seed),
        seedRound: req.seedRound,
        ...(sealed ? { sealed } : {}),
      },
      key.signSecretKey,
    );
    this.selected++;
    if (this.deps.dropAfterCommit) {
      // After the answer is on its way: the record stays, the bytes go (what a lazy storer would do).
      setImmediate(() => {
        this.deps.files.dropBytes(file.filehash).then(
          () => this.log.warn('fault drop-after-commit: dropped the bytes of a committed file', { file: hex(file.filehash) }),
          (err: unknown) => this.log.error('fault drop-after-commit failed', { error: err }),
        );
      });
    }
    return { result: { $case: 'selected', value: commitment } };
  }

  /**
   * The committed file: already here, being fetched for another Solicit, or fetched now. A fetch this
   * Solicit joined and that failed (another upload of the same file, whose body failed: its gateway
   * may serve this one's from another upload) is tried once more, as this Solicit's own.
   */
  private async obtain(file: FileId, source: string, writer: Writer, signal: AbortSignal, joinedBefore = false): Promise<FileRecord> {
    // touch: a file asked for again starts its reclamation deadline again (a SetKey may name it now).
    const existing = await this.deps.files.touch(file.filehash);
    if (existing) {
      if (existing.size !== file.size || existing.chunkSize !== file.chunkSize) {
        throw invalidArgument(`file.size/chunk_size (${file.size}/${file.chunkSize}) do not match filehash ${hex(file.filehash)} (${existing.size}/${existing.chunkSize})`);
      }
      return existing;
    }
    const k = hex(file.filehash);
    let e = this.inflight.get(k);
    const joined = e !== undefined;
    if (!e) {
      // A new fetch is what costs this storer room: charged to the writer's byte budget.
      this.deps.admission.charge(writer, file.size, 'Solicit');
      const release = this.deps.files.acquireUpload();
      const controller = new AbortController();
      const started = Date.now();
      // Room is reserved before the fetch starts (FileStore.reserveSpace), released when it ends.
      const promise = this.deps.files
        .reserveSpace(file.size)
        .then((unreserve) => this.deps.files.ingest(file, this.deps.fetch(source, file.filehash, controller.signal), controller.signal).finally(unreserve))
        .then(({ record }) => {
          this.log.info('fetched and committed a file', { file: k, size: record.size, source, ms: Date.now() - started });
          return record;
        })
        .finally(() => {
          release();
          entry.settled = true;
          this.inflight.delete(k);
        });
      promise.catch(() => undefined);
      const entry: InFlight = { promise, controller, waiters: 0, settled: false };
      e = entry;
      this.inflight.set(k, e);
    }
    const shared = e;
    shared.waiters++;
    if (joined) this.log.debug('joined a fetch in flight for another Solicit', { file: k, retry: joinedBefore });
    try {
      return await untilAborted(shared.promise, signal);
    } catch (err) {
      if (!joined || joinedBefore || signal.aborted) throw err;
      return await this.obtain(file, source, writer, signal, true);
    } finally {
      // The fetch stops when nobody waits for it any more.
      if (--shared.waiters === 0 && !shared.settled) shared.controller.abort(new WolkError('CANCELLED', 'every store request for this file was cancelled'));
    }
  }
}
