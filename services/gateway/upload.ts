// The store request (DESIGN §4 steps 2-4): a signed Solicit to every storer at once, each answer's
// commitment checked, the first N valid kept. Fewer than N before the deadline: NotEnoughStorers, and
// nothing goes to the chain. The storers fetch the file from the gateway's own GetFile (source.ts).
import { SolicitRequest } from '../../gen/wolk/storer/v1/storer.js';
import type { FileInfo, StorageCommitment } from '../../gen/wolk/common/v1/storage.js';
import { SignDomain, sign } from '../../lib/crypto/sign.js';
import type { Logger } from '../../lib/log/logger.js';
import { commitmentProblem } from './commitments.js';
import type { Registry } from './registry.js';
import { unary, type Clients } from './rpc.js';

/** Why fewer than N storers committed: the deadline passed with answers missing, or every storer asked answered. */
export type ShortfallCause = 'deadline' | 'all-answered';

export class NotEnoughStorers extends Error {
  constructor(
    readonly wanted: number,
    readonly got: number,
    readonly failures: Readonly<Record<string, string>>,
    readonly shortfall: ShortfallCause,
    /** Storers asked. */
    readonly asked: number,
    readonly deadlineMs: number,
  ) {
    super(shortfallMessage(wanted, got, failures, shortfall, asked, deadlineMs));
    this.name = 'NotEnoughStorers';
  }
}

/** What happened, in the words a user can act on: how many were asked, how they answered, and whether time ran out. */
function shortfallMessage(wanted: number, got: number, failures: Readonly<Record<string, string>>, cause: ShortfallCause, asked: number, deadlineMs: number): string {
  if (asked === 0) return `no storer is known to this gateway; ${wanted} must commit`;
  const reasons = new Map<string, number>();
  for (const why of Object.values(failures)) {
    const kind = why === 'not selected' || why === 'duplicate storer id' || why.startsWith('invalid commitment') ? why.replace(/:.*/, '') : 'unreachable or failed';
    reasons.set(kind, (reasons.get(kind) ?? 0) + 1);
  }
  const how = [...reasons].map(([why, n]) => `${n} ${why}`).join(', ');
  const usable = `${got} usable commitment${got === 1 ? '' : 's'} of the ${wanted} needed`;
  if (cause === 'all-answered') return `all ${asked} storers asked have answered: ${usable}${how ? ` (${how})` : ''}`;
  const silent = asked - got - Object.keys(failures).length;
  return `${usable} within the ${Math.round(deadlineMs / 1000)} s commit deadline; of the ${asked} storers asked${how ? ` ${how},` : ''} ${silent} had not answered`;
}

export interface SolicitInput {
  readonly file: FileInfo;
  readonly seed: Uint8Array;
  readonly seedRound: bigint;
  readonly source: string;
  readonly replication: number;
  readonly deadlineMs: number;
  readonly gateway: { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array };
  readonly signal?: AbortSignal;
  /** Called when a storer's answer is unusable (an error, an invalid or duplicate commitment): the source lets another storer fetch. */
  readonly onUnusable?: () => void;
}

export interface Committed {
  readonly commitments: StorageCommitment[];
  /** Endpoint of each commitment's storer, same order. */
  readonly endpoints: string[];
}

export async function collectCommitments(clients: Clients, registry: Registry, logger: Logger, input: SolicitInput): Promise<Committed> {
  // Weights of the seed round: stake × reputation (the storers and the ledger weigh them the same way).
  const weights = await registry.weightsAt(input.seedRound, input.seed);
  const unsigned: SolicitRequest = {
    file: input.file,
    seed: Buffer.from(input.seed),
    seedRound: input.seedRound,
    sourceEndpoint: input.source,
    expectedStorers: registry.expectedStorers,
    totalStake: weights.totalStake,
    requesterId: Buffer.from(input.gateway.publicKey),
    signature: Buffer.alloc(0),
  };
  const request: SolicitRequest = {
    ...unsigned,
    signature: Buffer.from(sign(SignDomain.StoreRequest, input.gateway.secretKey, SolicitRequest.encode(unsigned).finish())),
  };
  const expected = {
    filehash: input.file.filehash,
    size: input.file.size,
    chunkSize: input.file.chunkSize,
    seed: input.seed,
    seedRound: input.seedRound,
  };
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  input.signal?.addEventListener('abort', onAbort, { once: true });
  const kept: StorageCommitment[] = [];
  const keptAt: string[] = [];
  const seen = new Set<string>();
  const failures: Record<string, string> = {};

  return new Promise<Committed>((resolve, reject) => {
    let pending = weights.endpoints.length;
    let settled = false;
    const finish = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      input.signal?.removeEventListener('abort', onAbort);
      controller.abort(); // the rest are not needed (or too late)
      if (ok) resolve({ commitments: kept.slice(0, input.replication), endpoints: keptAt.slice(0, input.replication) });
      else reject(new NotEnoughStorers(input.replication, kept.length, { ...failures }, pending === 0 ? 'all-answered' : 'deadline', weights.endpoints.length, input.deadlineMs));
    };
    const timer = setTimeout(() => finish(false), input.deadlineMs);
    if (pending === 0) return finish(false);
    for (const endpoint of weights.endpoints) {
      const c = clients.storer(endpoint);
      unary(endpoint, c.solicit.bind(c), request, input.deadlineMs, controller.signal)
        .then((res) => {
          if (res.result?.$case !== 'selected') {
            failures[endpoint] = 'not selected';
            return;
          }
          const commitment = res.result.value;
          const problem = commitmentProblem(commitment, expected, registry, weights);
          const id = Buffer.from(commitment.storerId).toString('hex');
          if (problem) {
            failures[endpoint] = `invalid commitment: ${problem}`;
            logger.warn('invalid storage commitment', { endpoint, storer: id, problem });
            input.onUnusable?.();
          } else if (seen.has(id)) {
            failures[endpoint] = 'duplicate storer id';
            input.onUnusable?.();
          } else if (!settled) {
            seen.add(id);
            kept.push(commitment);
            keptAt.push(endpoint);
            if (kept.length >= input.replication) finish(true);
          }
        })
        .catch((err: unknown) => {
          failures[endpoint] = (err as Error).message;
          if (!settled) input.onUnusable?.();
        })
        .finally(() => {
          pending--;
          if (pending === 0) finish(kept.length >= input.replication);
        });
    }
  });
}
