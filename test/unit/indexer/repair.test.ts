// The indexer applies a Repair as the ledger does (docs/repair.md §6): after a block whose Repair
// replaced a storer that left, the indexed KeyRecord is byte-identical to the chain state's (the new
// storer in the old one's place, repaired_round and repairs set), GetFileLocations lists the new storer,
// and the record GET and ?proof read (consensus state) names the new storer set.
import test from 'ava';
import { NodeRole } from '../../../gen/wolk/common/v1/node.js';
import { KeyRecord } from '../../../gen/wolk/common/v1/state.js';
import { RepairReason } from '../../../gen/wolk/common/v1/tx.js';
import { toHex } from '../../../lib/crypto/index.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { readKey } from '../../../services/consensus/ledger/state-view.js';
import { createCertificateVerifier } from '../../../lib/chain/certificate.js';
import { ReadModel } from '../../../services/indexer/store.js';
import { indexerHandlers } from '../../../services/indexer/server.js';
import { commitment, fileInfo, setKey, txOf, type User } from '../consensus/ledger-fixture.js';
import { makeChain, userWithBucket } from './chain.js';
import { logSeedOnFailure } from '../../helpers/seed.js';

logSeedOnFailure(test);

const userOf = (k: { signPublicKey: Uint8Array; signSecretKey: Uint8Array }): User => ({ publicKey: Buffer.from(k.signPublicKey), secretKey: k.signSecretKey, nonce: 0n });

test('a Repair in a certified block: the indexed record equals the chain state and lists the new storer', async (t) => {
  // 5 storers of stake 1000, sortition expecting 4000: every storer is selected before and after one leaves.
  const chain = await makeChain({ storers: 5, storerCommitteeSize: 4000, rewards: 1 });
  const { net, ledger } = chain;
  const alice = await userWithBucket(chain, 'alice', 'photos');
  const file = fileInfo(12_345n);
  const seedRound = ledger.tip().round;
  const original = [0, 1, 2].map((i) => commitment(net.storers[i]!, file, ledger.seedAt(seedRound)!, seedRound, 5000n, {}, 4000));
  await chain.finalize([setKey(alice, net.gateway, { owner: 'alice', collection: 'photos', key: 'cat.jpg', file }, original)]);
  const written = ledger.tip().round;
  await chain.finalize([txOf(userOf(net.storers[0]!), { $case: 'updateNode', value: { roles: { roles: [NodeRole.NODE_ROLE_GATEWAY] } } })]);
  const at = ledger.tip().round;
  const replacement = commitment(net.storers[3]!, file, ledger.seedAt(at)!, at, 4000n, {}, 4000);
  const repairer = userOf(net.rewards[0]!);
  await chain.finalize([
    txOf(repairer, {
      $case: 'repair',
      value: { owner: 'alice', collection: 'photos', key: 'cat.jpg', recordRound: BigInt(written), chunkSetRound: 0n, replaced: [{ commitment: original[0]!, reason: RepairReason.REPAIR_REASON_DEREGISTERED }], commitments: [replacement] },
    }),
  ]);

  const model = new ReadModel(createMemoryKv(), { genesis: net.genesis, certificates: createCertificateVerifier(net.genesis), rewardPerValid: 10n });
  for (let r = 0; r <= ledger.tip().round; r++) await model.apply(await chain.certified(r));
  const { keys } = await model.listKeys('alice', 'photos', '', 0, '');
  t.is(keys.length, 1);
  const inState = (await readKey(ledger.latestState(), 'alice', 'photos', 'cat.jpg'))!;
  t.deepEqual(Buffer.from(KeyRecord.encode(keys[0]!).finish()), Buffer.from(KeyRecord.encode(inState).finish()), 'indexed record = state record');
  t.deepEqual(inState.commitments.map((c) => toHex(c.storerId)), [3, 1, 2].map((i) => net.storers[i]!.id));
  t.is(inState.repairedRound, BigInt(ledger.tip().round));
  t.is(inState.repairs, 1);
  const loc = await model.fileLocations(file.filehash);
  t.truthy(loc?.locations.some((l) => toHex(l.storerId) === net.storers[3]!.id), 'the new storer is a location of the file');

  // ListStorerKeys: the key is listed under its current storers only.
  const keysOf = async (i: number) => (await model.storerKeys(net.storers[i]!.signPublicKey, 0, '')).keys.map((k) => k.key);
  t.deepEqual(await keysOf(0), [], 'the replaced storer no longer lists it');
  t.deepEqual(await keysOf(3), ['cat.jpg']);
  t.deepEqual(await keysOf(1), ['cat.jpg']);
  t.deepEqual(await keysOf(4), []);
  // Through the RPC handler, with its checks.
  const h = indexerHandlers({ model, consensus: [], client: () => { throw new Error('not used'); } });
  const call = { signal: new AbortController().signal } as Parameters<NonNullable<typeof h.listStorerKeys>>[1];
  const res = await h.listStorerKeys!({ storerId: Buffer.from(net.storers[3]!.signPublicKey), pageSize: 0, pageToken: '' }, call);
  t.deepEqual(res.keys.map((k) => k.key), ['cat.jpg']);
  t.is(res.round, BigInt(ledger.tip().round));
  await t.throwsAsync(h.listStorerKeys!({ storerId: Buffer.alloc(3), pageSize: 0, pageToken: '' }, call), { message: /storer_id must be 32 bytes, got 3/ });
});

test('ListStorerKeys pages, and a key written again by a SetKey leaves the storers it no longer names', async (t) => {
  const chain = await makeChain({ storers: 4 });
  const alice = await userWithBucket(chain, 'alice', 'photos');
  for (let i = 0; i < 5; i++) {
    const f = fileInfo();
    await chain.finalize([setKey(alice, chain.net.gateway, { owner: 'alice', collection: 'photos', key: `k${i}`, file: f }, chain.commitments(f, [0, 1, 2]))]);
  }
  // k0 again, now on storers 1, 2, 3.
  const again = fileInfo();
  await chain.finalize([setKey(alice, chain.net.gateway, { owner: 'alice', collection: 'photos', key: 'k0', file: again }, chain.commitments(again, [1, 2, 3]))]);
  const model = new ReadModel(createMemoryKv(), { genesis: chain.net.genesis, certificates: createCertificateVerifier(chain.net.genesis), rewardPerValid: 10n });
  for (let r = 0; r <= chain.ledger.tip().round; r++) await model.apply(await chain.certified(r));
  const s0 = chain.net.storers[0]!.signPublicKey;
  const pages: string[][] = [];
  let token = '';
  do {
    const p = await model.storerKeys(s0, 2, token);
    pages.push(p.keys.map((k) => k.key).sort());
    token = p.next;
  } while (token !== '' && pages.length < 10);
  t.is(pages.flat().length, 4, 'k1..k4: k0 moved off storer 0');
  t.deepEqual(pages.flat().sort(), ['k1', 'k2', 'k3', 'k4']);
  t.true(pages.every((p) => p.length <= 2));
  t.deepEqual((await model.storerKeys(chain.net.storers[3]!.signPublicKey, 0, '')).keys.map((k) => k.key), ['k0']);
});
