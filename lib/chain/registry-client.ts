// The storer registry of a seed round read from consensus nodes over gRPC (lib/chain/storer-registry.ts
// has the rule and the proof checks): storers and gateways use this so that they weigh storers exactly
// as the ledger does. A node that does not have the round yet (NOT_FOUND: it lags) or is down is skipped
// for the next (lib/grpc/client.ts failover); when none has it, a round just finalized elsewhere is
// retried briefly (lib/grpc/retry.ts: up to `attempts` passes, backoff from 200 ms with full jitter).
// close() ends retries and calls in flight.
import { credentials, status } from '@grpc/grpc-js';
import { ConsensusServiceClient } from '../../gen/wolk/consensus/v1/consensus.js';
import { ClientPool, failover, NoEndpointAnswered, reconnectChannelOptions, unaryCall } from '../grpc/client.js';
import { grpcCode, isOutage } from '../grpc/errors.js';
import { retry } from '../grpc/retry.js';
import { isEndpointSet, toEndpoints, type EndpointsLike } from '../net/endpoints.js';
import { AccountRecord } from '../../gen/wolk/common/v1/state.js';
import type { NodeRecord } from '../../gen/wolk/common/v1/node.js';
import { verifyProofResponse } from '../client/proof.js';
import { accountStateKey } from './state-keys.js';
import { RemoteStorerRegistry, type StorerRegistry } from './storer-registry.js';

export interface ChainRegistry {
  at(round: number, seed?: Uint8Array): Promise<StorerRegistry>;
  /** The node record of `id` in the latest finalized state (proof checked against its header); undefined: no record. */
  node(id: Uint8Array): Promise<NodeRecord | undefined>;
  close(): void;
}

/** A node that is down, or lags behind the round asked for (NOT_FOUND), is skipped for the next. */
const tryNext = (err: unknown) => isOutage(err) || grpcCode(err) === status.NOT_FOUND;

/** `endpoints` are read at each call (an EndpointSet follows DNS). */
export function chainRegistry(endpointsLike: EndpointsLike, o: { timeoutMs?: number; attempts?: number } = {}): ChainRegistry {
  const endpoints = toEndpoints(endpointsLike);
  const clients = new ClientPool((e) => new ConsensusServiceClient(e, credentials.createInsecure(), reconnectChannelOptions));
  // An EndpointSet (DNS): the channels of nodes that leave it are closed.
  const unfollow = isEndpointSet(endpointsLike) ? clients.follow(endpointsLike) : undefined;
  const timeoutMs = o.timeoutMs ?? 5000;
  const attempts = o.attempts ?? 5;
  const closed = new AbortController();
  /** The node that answered last, tried first. */
  let preferred: string | undefined;
  const getStateProof = async (key: Uint8Array, round?: number) => {
    let last: NoEndpointAnswered | undefined;
    try {
      return await retry(
        async () => {
          try {
            const list = endpoints.current();
            const r = await failover(
              list,
              (endpoint) => unaryCall(clients.get(endpoint).getStateProof.bind(clients.get(endpoint)), { key: Buffer.from(key), ...(round === undefined ? {} : { round: BigInt(round) }) }, { endpoint, timeoutMs, signal: closed.signal }),
              { first: preferred, tryNext, signal: closed.signal, whenEmpty: () => endpoints.emptyReason() },
            );
            preferred = list[r.index];
            return r.value;
          } catch (err) {
            if (err instanceof NoEndpointAnswered) last = err;
            throw err;
          }
        },
        { attempts, baseMs: 200, maxMs: 1000, retryOn: (err) => err instanceof NoEndpointAnswered && err.failures.length > 0, signal: closed.signal },
      );
    } catch (err) {
      if (!(err instanceof NoEndpointAnswered) && !closed.signal.aborted) throw err;
      const why = last?.failures.length === 0 ? last.message : last?.failures.map((f) => (f.error as Error).message).join('; ');
      throw new Error(`no consensus node proved ${round === undefined ? 'the latest state' : `the registry at round ${round}`} (${closed.signal.aborted ? 'closed' : why || 'none configured'})`, { cause: err });
    }
  };
  const remote = new RemoteStorerRegistry(getStateProof);
  return {
    at: (round, seed) => remote.at(round, seed),
    async node(id) {
      const key = accountStateKey(id);
      const checked = verifyProofResponse(await getStateProof(key), key);
      if (!checked.ok) throw new Error(`the node record of ${Buffer.from(id).toString('hex').slice(0, 16)}…: ${checked.reason}`);
      return checked.value === null ? undefined : AccountRecord.decode(checked.value).node;
    },
    close: () => {
      closed.abort(new Error('the chain registry client was closed'));
      unfollow?.();
      clients.close();
    },
  };
}
