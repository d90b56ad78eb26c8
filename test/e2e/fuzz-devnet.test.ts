// The bounded garbage fuzzer against a running devnet, short form (issue #20.5; the long form is
// `npm run soak -- fuzz-devnet`): one process of each kind gets every method of the Wolk services
// it serves with empty, random and structurally valid random messages (one oversized message per
// service), and the gateway 150 random raw HTTP requests. Zero crashes (every process alive and
// SERVING afterwards), every gRPC status one the service's proto documents, every HTTP error
// problem+json of a documented type, no read-only route accepting a write. Seeded from the test seed.
import test from 'ava';
import { startSoakCluster } from '../../scripts/soak/cluster.js';
import { formatFuzzReport, fuzzPassed, grpcFindings, httpFindings, runDevnetFuzz } from '../../scripts/soak/fuzz-devnet.js';
import { logSeedOnFailure, TEST_SEED, testRandom } from '../helpers/seed.js';

logSeedOnFailure(test);

test('garbage to every gRPC method and HTTP route: no crash, only documented answers', async (t) => {
  t.timeout(240_000);
  const random = testRandom('e2e/fuzz-devnet');
  const cluster = await startSoakCluster({ provisionKey: (_name, dataDir) => random.provisionNodeKey(dataDir), genesisSeedHex: random.hex(32) });
  try {
    const report = await runDevnetFuzz({ seed: TEST_SEED, rounds: 1, onePerKind: true, oversizeOncePerService: true, httpRequests: 150, cluster, log: (l) => t.log(l) });
    t.log(formatFuzzReport(report));
    t.deepEqual(report.down, [], 'every process is alive and SERVING after the fuzzing');
    t.deepEqual(grpcFindings(report).map((g) => `${g.target} ${g.path} (${g.kind}): ${g.code} ${g.details}`), [], 'every gRPC answer is a documented status');
    t.deepEqual(httpFindings(report).map((h) => `${h.request}: ${h.problem}`), [], 'every HTTP error is documented problem+json');
    t.true(fuzzPassed(report));
    t.true(report.grpc.length > 100 && report.http.length === 150, 'the fuzzer did reach every method and route');
  } finally {
    await cluster.stop();
  }
});
