// The chaos soak's short form in CI (issue #20.3; the long form is `npm run soak -- chaos`, 100+
// cycles): a soak devnet (scripts/soak/cluster.ts, every gRPC link behind a fault-injecting proxy)
// under load while 6 cycles of faults run: random processes of any kind SIGKILLed and restarted,
// partitions, added delay, dropped connections. Afterwards every upload answered 201 reads back
// byte-identical and its proof verifies with the genesis quorum, no round has two certified blocks
// across the consensus nodes, the chain was live again within RECOVERY_LIMIT_MS after every fault, and
// once the storers' 30 s reclamation deadline has passed every storer holds exactly what the chain names
// it for.
import test from 'ava';
import { chaosPassed, formatReport, RECOVERY_LIMIT_MS, runChaos } from '../../scripts/soak/chaos.js';
import { logSeedOnFailure, TEST_SEED, testRandom } from '../helpers/seed.js';

logSeedOnFailure(test);

test('6 chaos cycles under load: nothing acknowledged is lost, no fork, live again after every fault, space reclaimed', async (t) => {
  t.timeout(420_000);
  const random = testRandom('e2e/chaos-short');
  const report = await runChaos({
    cycles: 6,
    seed: TEST_SEED,
    users: 1,
    faultMs: [500, 1500],
    reclaimAfterMs: 30_000,
    cluster: { provisionKey: (_name, dataDir) => random.provisionNodeKey(dataDir), genesisSeedHex: random.hex(32) },
    log: (l) => t.log(l),
  });
  t.log(formatReport(report));
  t.deepEqual(report.lost, [], 'every 201 upload is byte-identical on GET and its proof verifies');
  t.deepEqual(report.forks, [], 'no round has two different certified blocks');
  t.deepEqual(report.unrecovered, [], `the chain is live within ${RECOVERY_LIMIT_MS} ms after every fault`);
  t.not(report.finalRecoveryMs, null, 'the chain is live after the last fault');
  t.deepEqual(report.unreclaimed, [], 'every storer holds exactly the files the chain names it for');
  t.not(report.reclaimMs, null);
  t.true(report.load.ok.length > 0, 'some uploads succeeded, so the checks checked something');
  t.true(chaosPassed(report));
});
