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
import { createCertificateVerifier } from '../../../services/indexer/certificate.js';
import { ReadModel } from '../../../services/indexer/store.js';
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
      value: { owner: 'alice', collection: 'photos', key: 'cat.jpg', recordRound: BigInt(written), replaced: [{ commitment: original[0]!, reason: RepairReason.REPAIR_REASON_DEREGISTERED }], commitments: [replacement] },
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
});
