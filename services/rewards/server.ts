// RewardsService handlers: thin; RewardsError becomes the matching gRPC status, a bad ListLost page
// (LostQueryError) INVALID_ARGUMENT.
import type { RewardsServiceService } from '../../gen/wolk/rewards/v1/rewards.js';
import type { ServiceHandlers } from '../../lib/grpc/handlers.js';
import { failedPrecondition, invalidArgument, notFound, WolkError } from '../../lib/grpc/errors.js';
import { LostQueryError, type LostStore } from './lost-store.js';
import { RewardsError, type Rewarder } from './rewarder.js';

/** No round beyond this is ever reached; a uint64 above it is compared and printed as the bigint. */
const MAX_ROUND = BigInt(Number.MAX_SAFE_INTEGER);

async function mapped<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof RewardsError) throw new WolkError(err.code, err.message);
    throw err;
  }
}

/** Why ListLost has nothing to answer from on a node without a lost store. */
export const REPAIRER_OFF = 'the repairer is off on this rewards node, so it keeps no lost list: set WOLK_INDEXER and WOLK_REPAIR_INTERVAL_MS > 0 (and WOLK_GENESIS and WOLK_CONSENSUS or WOLK_CONSENSUS_SRV)';

/** `lost`: the repairer's lost list (lost-store.ts); null when the repairer is off. */
export function rewardsHandlers(r: Rewarder | null, missing: string, lost: LostStore | null = null): ServiceHandlers<typeof RewardsServiceService> {
  const need = (): Rewarder => {
    if (r === null) throw new WolkError('FAILED_PRECONDITION', missing);
    return r;
  };
  return {
    async tally(req) {
      if (req.round !== undefined && req.round > MAX_ROUND) throw invalidArgument(`Tally: round ${req.round} is beyond any round this chain reaches (at most ${MAX_ROUND})`);
      const res = await mapped(() => need().tally(req.round === undefined ? undefined : Number(req.round), req.submit));
      return { reward: res.reward, txId: Buffer.from(res.txId) };
    },
    async getTally(req) {
      // Like any round no audit ran for (rewarder.ts getTally): NOT_FOUND, the round printed from the bigint.
      if (req.auditedRound > MAX_ROUND) throw notFound(`no audit of round ${req.auditedRound} was run by this node`);
      return mapped(() => need().getTally(Number(req.auditedRound)));
    },
    async getReputation(req) {
      if (req.storerId.length !== 32) throw invalidArgument(`storer_id must be 32 bytes, got ${req.storerId.length}`);
      return need().reputation(req.storerId);
    },
    async listLost(req) {
      if (lost === null) throw failedPrecondition(REPAIRER_OFF);
      try {
        const { objects, next } = await lost.list(req.pageSize, req.pageToken);
        return { objects, nextPageToken: next };
      } catch (err) {
        if (err instanceof LostQueryError) throw invalidArgument(err.message);
        throw err;
      }
    },
  };
}
