// IndexerService handlers: thin; they validate the request, call the read model, and map its errors.
import type { IndexerServiceService } from '../../gen/wolk/indexer/v1/indexer.js';
import type { GetStateProofRequest, GetStateProofResponse } from '../../gen/wolk/consensus/v1/consensus.js';
import { KeyRecord } from '../../gen/wolk/common/v1/state.js';
import { COLLECTION_RE, isValidKey, NAME_RE, pathStateKey } from '../../lib/chain/state-keys.js';
import { failover, NoEndpointAnswered, unaryCall, type UnaryMethod } from '../../lib/grpc/client.js';
import type { ServiceHandlers } from '../../lib/grpc/handlers.js';
import { invalidArgument, notFound, unavailable } from '../../lib/grpc/errors.js';
import { toEndpoints, type EndpointsLike } from '../../lib/net/endpoints.js';
import { QueryError, type ReadModel } from './store.js';

/** The one consensus call GetKey passes through. */
export interface StateProofSource {
  readonly getStateProof: UnaryMethod<GetStateProofRequest, GetStateProofResponse>;
}

export interface IndexerServerComponents {
  readonly model: ReadModel;
  /** The consensus nodes GetKey asks for a proof, in turn (read at each call: they follow DNS with WOLK_CONSENSUS_SRV). */
  readonly consensus: EndpointsLike;
  readonly client: (endpoint: string) => StateProofSource;
  readonly proofTimeoutMs?: number;
}

async function wrap<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof QueryError) throw invalidArgument(err.message);
    throw err;
  }
}

export function indexerHandlers(c: IndexerServerComponents): ServiceHandlers<typeof IndexerServiceService> {
  const consensus = toEndpoints(c.consensus);
  const ready = async () => {
    const cur = await c.model.cursor();
    if (cur === null) throw unavailable('the indexer has not applied any block yet (still catching up)');
    return cur;
  };
  /** A path no transaction could have written is a bad request, not an empty answer or a crash. */
  const checkPath = (method: string, owner: string, collection: string, key?: string) => {
    if (!NAME_RE.test(owner)) throw invalidArgument(`${method}: owner ${JSON.stringify(owner.slice(0, 80))} is not a name (${NAME_RE.source})`);
    if (!COLLECTION_RE.test(collection)) throw invalidArgument(`${method}: collection ${JSON.stringify(collection.slice(0, 80))} is not a collection name (${COLLECTION_RE.source})`);
    if (key !== undefined && !isValidKey(key)) throw invalidArgument(`${method}: the key must be 1 to 1024 bytes of UTF-8 without NUL`);
  };
  return {
    async getKey(req, ctx) {
      if (!req.owner || !req.collection || !req.key) throw invalidArgument('GetKey: owner, collection and key are required');
      checkPath('GetKey', req.owner, req.collection, req.key);
      const cur = await ready();
      const key = pathStateKey(req.owner, req.collection, req.key);
      // Any failure (an outage, a round this node no longer keeps, a node behind the indexer) means
      // this node gave no proof: the next one is asked.
      let res: GetStateProofResponse;
      try {
        res = (
          await failover(
            consensus.current(),
            (endpoint) => {
              const client = c.client(endpoint);
              // Proven at the indexer's own latest block, so the answer matches its listings.
              return unaryCall(client.getStateProof.bind(client), { key: Buffer.from(key), round: BigInt(cur.round) }, { endpoint, timeoutMs: c.proofTimeoutMs ?? 5000, signal: ctx.signal });
            },
            { tryNext: () => true, signal: ctx.signal, whenEmpty: () => consensus.emptyReason() },
          )
        ).value;
      } catch (err) {
        if (err instanceof NoEndpointAnswered) throw unavailable(`no consensus node gave a proof: ${err.failures.map((f) => (f.error as Error).message).join('; ') || err.message}`);
        throw err;
      }
      if (!res.proof || res.proof.value === undefined) throw notFound(`wolk://${req.owner}/${req.collection}/${req.key} is not set (as of block ${cur.round})`);
      return { record: KeyRecord.decode(res.proof.value), proof: res.proof, header: res.header, certificate: res.certificate };
    },

    async listKeys(req) {
      if (!req.owner || !req.collection) throw invalidArgument('ListKeys: owner and collection are required');
      checkPath('ListKeys', req.owner, req.collection);
      const cur = await ready();
      const { keys, next } = await wrap(() => c.model.listKeys(req.owner, req.collection, req.prefix, req.pageSize, req.pageToken));
      return { keys, nextPageToken: next, round: BigInt(cur.round) };
    },

    async listStorerKeys(req) {
      if (req.storerId.length !== 32) throw invalidArgument(`ListStorerKeys: storer_id must be 32 bytes, got ${req.storerId.length}`);
      const cur = await ready();
      const { keys, next } = await wrap(() => c.model.storerKeys(req.storerId, req.pageSize, req.pageToken));
      return { keys, nextPageToken: next, round: BigInt(cur.round) };
    },

    async listStorerChunkSets(req) {
      if (req.storerId.length !== 32) throw invalidArgument(`ListStorerChunkSets: storer_id must be 32 bytes, got ${req.storerId.length}`);
      const cur = await ready();
      const { chunkSets, next } = await wrap(() => c.model.storerChunkSets(req.storerId, req.pageSize, req.pageToken));
      return { chunkSets, nextPageToken: next, round: BigInt(cur.round) };
    },

    async getFileLocations(req) {
      if (req.filehash.length !== 32) throw invalidArgument(`GetFileLocations: filehash must be 32 bytes, got ${req.filehash.length}`);
      await ready();
      const r = await c.model.fileLocations(req.filehash);
      if (r === null) throw notFound(`no finalized key points to file ${Buffer.from(req.filehash).toString('hex')}`);
      return {
        file: r.file,
        locations: r.locations.map((l) => ({ storerId: Buffer.from(l.storerId), endpoint: l.endpoint, reputationPpm: l.reputationPpm, commitment: l.commitment })),
      };
    },

    async listNodes(req) {
      await ready();
      const { nodes, next } = await wrap(() => c.model.listNodes(req.role, req.pageSize, req.pageToken));
      return { nodes, nextPageToken: next };
    },
  };
}
