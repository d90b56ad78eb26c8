// Reads remember a storer that failed (issue 25.5): with the first storer of a file's record dead,
// the first GET drops it once and later GETs go to the live storers first (it used to be retried,
// and warned about, on every read).
import test from 'ava';
import { createLogger } from '../../../lib/log/logger.js';
import { logSeedOnFailure, randomFor } from '../../helpers/seed.js';
import { claimed, signedPut, startHarness } from './http-harness.js';

logSeedOnFailure(test);

test('a dead storer is dropped on the first read only; the next reads go to live storers first', async (t) => {
  t.timeout(60_000);
  const rnd = randomFor(t);
  const alice = rnd.keyPair();
  const drops: string[] = [];
  const logger = createLogger({
    level: 'debug',
    write: (l) => {
      const line = JSON.parse(l) as { msg: string; endpoint?: string };
      if (line.msg === 'storer dropped during a read') drops.push(line.endpoint ?? '');
    },
  });
  const h = await startHarness({ storers: 3, logger });
  h.chain.autoFinalize = true;
  try {
    claimed(h.chain, 'alice', alice);
    const bytes = rnd.bytes(50_000);
    const put = signedPut('/wolk/alice/c/k', bytes, alice, 0n, h.chain.chainId);
    const res = await fetch(`${h.url}/wolk/alice/c/k`, put.init);
    t.is(res.status, 201);
    // The chain's record of the file: the storers in commitment order; the first one dies.
    const stx = h.chain.submitted[0]!;
    const sk = stx.tx!.body!.$case === 'setKey' ? stx.tx!.body!.value : undefined;
    const { KeyRecord } = await import('../../../gen/wolk/common/v1/state.js');
    const { pathStateKey } = await import('../../../lib/chain/state-keys.js');
    const { txId } = await import('../../../lib/chain/tx-bytes.js');
    h.chain.set(pathStateKey('alice', 'c', 'k'), KeyRecord.encode({ owner: 'alice', collection: 'c', key: 'k', file: sk!.file, contentType: '', commitments: sk!.commitments, txId: Buffer.from(txId(stx)), round: 1n }).finish());
    const firstId = Buffer.from(sk!.commitments[0]!.storerId).toString('hex');
    const dead = h.storers.find((s) => Buffer.from(s.id).toString('hex') === firstId)!;
    // One read while all live: the gateway learns where each storer of the record is.
    t.is((await fetch(`${h.url}/wolk/alice/c/k`)).status, 200);
    t.deepEqual(drops, []);
    await dead.close();
    for (let i = 0; i < 5; i++) {
      const got = await fetch(`${h.url}/wolk/alice/c/k`);
      t.is(got.status, 200);
      t.true(Buffer.from(await got.arrayBuffer()).equals(bytes), `read ${i + 1} byte-identical`);
    }
    t.deepEqual(drops, [dead.endpoint], 'the dead storer was tried once, by the first read');
  } finally {
    await h.close();
  }
});
