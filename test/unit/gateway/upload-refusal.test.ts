// An upload refused because too few storers committed says what happened (issue 25.2: with every
// storer answered after a few seconds it blamed a 60 s deadline), and every refusal of an upload is
// in the gateway's log with its reason (it logged nothing).
import test from 'ava';
import { createLogger } from '../../../lib/log/logger.js';
import { logSeedOnFailure, randomFor } from '../../helpers/seed.js';
import { claimed, signedPut, startHarness } from './http-harness.js';

logSeedOnFailure(test);

interface Line {
  level: string;
  msg: string;
  [field: string]: unknown;
}

test('too few storers commit although all answered: the refusal says so, not "deadline", and is logged with its reason', async (t) => {
  t.timeout(60_000);
  const rnd = randomFor(t);
  const alice = rnd.keyPair();
  const lines: Line[] = [];
  const logger = createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l) as Line) });
  const h = await startHarness({ storers: 3, replication: 3, commitDeadlineMs: 60_000, logger });
  try {
    claimed(h.chain, 'alice', alice);
    h.storers[0]!.fault = 'refuse';
    const put = signedPut('/wolk/alice/c/k', rnd.bytes(30_000), alice, 0n, h.chain.chainId);
    const started = Date.now();
    const res = await fetch(`${h.url}/wolk/alice/c/k`, put.init);
    const p = (await res.json()) as Record<string, unknown>;
    t.is(res.status, 503);
    t.is(p['type'], '/problems/not-enough-storers');
    t.true(Date.now() - started < 30_000, 'answered when the last storer answered, not at the 60 s deadline');
    const detail = String(p['detail']);
    t.regex(detail, /^all 3 storers asked have answered: 2 usable commitments of the 3 needed \(1 not selected\)/);
    t.notRegex(detail, /deadline/);
    const logged = lines.filter((l) => l.msg === 'upload refused');
    t.is(logged.length, 1, JSON.stringify(lines));
    t.is(logged[0]!.level, 'warn');
    t.is(logged[0]!['reason'], detail);
    t.is(logged[0]!['path'], '/wolk/alice/c/k');
    t.is(h.chain.submitted.length, 0);

    // A client's fault is logged too, at info.
    const bad = signedPut('/wolk/alice/c/k', rnd.bytes(1000), alice, 0n, h.chain.chainId);
    (bad.init.headers as Record<string, string>)['wolk-transaction'] = 'not base64 protobuf!';
    const refused = await fetch(`${h.url}/wolk/alice/c/k`, bad.init);
    t.is(refused.status, 400);
    const second = lines.filter((l) => l.msg === 'upload refused')[1];
    t.is(second?.level, 'info');
    t.is(second?.['type'], '/problems/malformed-transaction');
  } finally {
    await h.close();
  }
});
