// RewardsService rounds from the wire (issue #24.8): a uint64 round past 2^53 is never rounded by
// Number(); GetTally of such a round is NOT_FOUND like any round no audit ran for, Tally refuses it,
// and both print the round exactly as sent.
import test from 'ava';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { RewardsServiceClient } from '../../../gen/wolk/rewards/v1/rewards.js';
import { createRewardsNode } from '../../../services/rewards/node.js';
import { startInProcess } from '../../helpers/service.js';
import { logSeedOnFailure } from '../../helpers/seed.js';

// Its in-process nodes' keys come from the seeded test PRNG (test/helpers/service.ts): a failure prints the seed.
logSeedOnFailure(test);

const U64_MAX = 2n ** 64n - 1n;

test('Tally and GetTally of rounds past 2^53: refused or not found, the round printed from the bigint', async (t) => {
  const node = await startInProcess('rewards', createRewardsNode);
  const client = new RewardsServiceClient(node.endpoints['grpc']!, credentials.createInsecure());
  t.teardown(async () => {
    client.close();
    await node.close();
  });
  const getTally = (auditedRound: bigint) =>
    new Promise<ServiceError | null>((resolve) => client.getTally({ auditedRound }, new Metadata(), { deadline: Date.now() + 20_000 }, (err) => resolve(err)));
  const tally = (round: bigint) =>
    new Promise<ServiceError | null>((resolve) => client.tally({ round, submit: false }, new Metadata(), { deadline: Date.now() + 20_000 }, (err) => resolve(err)));

  for (const round of [U64_MAX, 2n ** 53n + 1n]) {
    const got = await getTally(round);
    t.is(got?.code, status.NOT_FOUND, `GetTally ${round}: ${got?.details}`);
    t.is(got?.details, `no audit of round ${round} was run by this node`);
    const ran = await tally(round);
    t.is(ran?.code, status.INVALID_ARGUMENT, `Tally ${round}: ${ran?.details}`);
    t.is(ran?.details, `Tally: round ${round} is beyond any round this chain reaches (at most 9007199254740991)`);
  }
});
