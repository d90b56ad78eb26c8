// The indexer's GetKey asks the consensus nodes in turn for a proof at the indexer's own latest block
// (lib/grpc/client.ts failover): a node that fails is passed over, and only when none gave a proof is
// the answer UNAVAILABLE, naming each node and why.
import test from 'ava';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { KeyRecord } from '../../../gen/wolk/common/v1/state.js';
import type { GetStateProofRequest, GetStateProofResponse } from '../../../gen/wolk/consensus/v1/consensus.js';
import { pathStateKey } from '../../../lib/chain/state-keys.js';
import { WolkError } from '../../../lib/grpc/errors.js';
import { indexerHandlers, type StateProofSource } from '../../../services/indexer/server.js';
import type { ReadModel } from '../../../services/indexer/store.js';
import { logSeedOnFailure, seededBytes, testPrng } from '../../helpers/seed.js';

logSeedOnFailure(test);

const ROUND = 7;
/** GetKey reads only the cursor of the read model. */
const model = { cursor: async () => ({ round: ROUND }) } as unknown as ReadModel;
const req = { owner: 'alice', collection: 'docs', key: 'a.txt' };
const ctx = () => ({ signal: new AbortController().signal, metadata: new Metadata(), peer: 'test', method: 'GetKey' });

function failure(code: status, details: string): ServiceError {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: new Metadata() });
}

/** A consensus node that answers every GetStateProof with `answer` and records what it was asked. */
function node(answer: (r: GetStateProofRequest) => GetStateProofResponse | ServiceError, asked: GetStateProofRequest[]): StateProofSource {
  return {
    getStateProof: (r, _md, _opts, cb) => {
      asked.push(r);
      setImmediate(() => {
        const a = answer(r);
        if (a instanceof Error) cb(a, undefined as unknown as GetStateProofResponse);
        else cb(null, a);
      });
      return { cancel: () => undefined };
    },
  };
}

test('a failing node is passed over; the proof is asked for at the indexer round and its record returned', async (t) => {
  const prng = testPrng('indexer-get-key');
  const record: KeyRecord = { ...req, file: undefined, contentType: 'text/plain', commitments: [], txId: seededBytes(prng, 32), round: 5n, repairedRound: undefined, repairs: undefined };
  const key = pathStateKey(req.owner, req.collection, req.key);
  const asked: Record<string, GetStateProofRequest[]> = { down: [], lagging: [], up: [] };
  const nodes: Record<string, StateProofSource> = {
    down: node(() => failure(status.UNAVAILABLE, 'connection refused'), asked.down!),
    lagging: node(() => failure(status.FAILED_PRECONDITION, `round ${ROUND} is not finalized here`), asked.lagging!),
    up: node(() => ({ proof: { key: Buffer.from(key), value: Buffer.from(KeyRecord.encode(record).finish()), bitmap: Buffer.alloc(32), siblings: [], root: Buffer.alloc(32) } }), asked.up!),
  };
  const h = indexerHandlers({ model, consensus: ['down', 'lagging', 'up'], client: (e) => nodes[e]! });
  const res = await h.getKey!(req, ctx());
  t.deepEqual(res.record, record);
  t.is(asked.down!.length, 1);
  t.is(asked.lagging!.length, 1);
  t.is(asked.up!.length, 1);
  t.is(asked.up![0]!.round, BigInt(ROUND), 'proven at the indexer round');
  t.deepEqual(new Uint8Array(asked.up![0]!.key), key);
});

test('no node gives a proof: UNAVAILABLE naming each node and its reason', async (t) => {
  const nodes: Record<string, StateProofSource> = {
    a: node(() => failure(status.UNAVAILABLE, 'connection refused'), []),
    b: node(() => failure(status.NOT_FOUND, 'round 7 no longer kept'), []),
  };
  const h = indexerHandlers({ model, consensus: ['a', 'b'], client: (e) => nodes[e]! });
  const err = await t.throwsAsync(h.getKey!(req, ctx()), { instanceOf: WolkError });
  t.is(err!.code, 'UNAVAILABLE');
  t.is(err!.message, 'no consensus node gave a proof: a: connection refused; b: round 7 no longer kept');
});

test('a proof without a value: NOT_FOUND, the key is not set', async (t) => {
  const nodes: Record<string, StateProofSource> = { a: node(() => ({ proof: { key: Buffer.alloc(32), value: undefined, bitmap: Buffer.alloc(32), siblings: [], root: Buffer.alloc(32) } }), []) };
  const h = indexerHandlers({ model, consensus: ['a'], client: (e) => nodes[e]! });
  const err = await t.throwsAsync(h.getKey!(req, ctx()), { instanceOf: WolkError });
  t.is(err!.code, 'NOT_FOUND');
  t.is(err!.message, `wolk://alice/docs/a.txt is not set (as of block ${ROUND})`);
});

test('paths no transaction could write are INVALID_ARGUMENT naming the part, for GetKey and ListKeys (a 300-byte collection answered INTERNAL)', async (t) => {
  const asked: GetStateProofRequest[] = [];
  const h = indexerHandlers({ model, consensus: ['a'], client: () => node(() => failure(status.UNAVAILABLE, 'unused'), asked) });
  const cases: [string, { owner: string; collection: string; key: string }, RegExp][] = [
    ['collection', { owner: 'alice', collection: 'c'.repeat(300), key: 'k' }, /^ListKeys: collection "c+" is not a collection name/],
    ['owner', { owner: 'Alice!', collection: 'docs', key: 'k' }, /^ListKeys: owner "Alice!" is not a name/],
  ];
  for (const [part, r, message] of cases) {
    const list = await t.throwsAsync(h.listKeys!({ owner: r.owner, collection: r.collection, prefix: '', pageSize: 10, pageToken: '' }, { ...ctx(), method: 'ListKeys' }), { instanceOf: WolkError });
    t.is(list!.code, 'INVALID_ARGUMENT', part);
    t.regex(list!.message, message);
    const get = await t.throwsAsync(h.getKey!(r, ctx()), { instanceOf: WolkError });
    t.is(get!.code, 'INVALID_ARGUMENT', part);
    t.regex(get!.message, new RegExp(message.source.replace('ListKeys', 'GetKey')));
  }
  const longKey = await t.throwsAsync(h.getKey!({ owner: 'alice', collection: 'docs', key: 'k'.repeat(1025) }, ctx()), { instanceOf: WolkError });
  t.is(longKey!.code, 'INVALID_ARGUMENT');
  t.is(asked.length, 0, 'no consensus node was asked');
});
