// Assembly stops executing candidates once its time budget is spent, so a proposal leaves in time
// (before the others' filter timeout) however full the mempool is; the rest waits for the next block.
import test from 'ava';
import { Ledger } from '../../../services/consensus/ledger/ledger.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { sha256 } from '../../../lib/crypto/index.js';
import { makeNet, newUser, setName } from './ledger-fixture.js';
import { logSeedOnFailure } from '../../helpers/seed.js';

// Its fixtures draw keys and data from the seeded test PRNG: a failure prints the seed that replays it.
logSeedOnFailure(test);

function openWith(clock: () => number, assembleBudgetMs?: number) {
  const net = makeNet();
  return Ledger.open({
    kv: createMemoryKv(),
    genesis: net.genesis,
    crypto: { hash: (...p: Uint8Array[]) => sha256(...p) },
    now: clock,
    ...(assembleBudgetMs !== undefined ? { assembleBudgetMs } : {}),
  });
}

const candidates = () => Array.from({ length: 20 }, (_, i) => setName(newUser(), `name-${i}`));

test('a block closes when the assembly budget is spent, with at least one transaction', async (t) => {
  // every clock reading is 100 ms later: the budget of 250 ms is spent after three transactions
  let ms = 1_700_000_000_000;
  const ledger = await openWith(() => (ms += 100), 250);
  const round = ledger.tip().round + 1;
  const { payload } = await ledger.assemble(round, candidates());
  t.true(payload.txs.length >= 1 && payload.txs.length < 20, `${payload.txs.length} of 20 included`);

  // a budget already spent still makes progress: one transaction
  let ms2 = 1_700_000_000_000;
  const tight = await openWith(() => (ms2 += 10_000), 1);
  t.is((await tight.assemble(tight.tip().round + 1, candidates())).payload.txs.length, 1);
});

test('without a budget every candidate that fits the size limits is included', async (t) => {
  let ms = 1_700_000_000_000;
  const ledger = await openWith(() => (ms += 100));
  const { payload } = await ledger.assemble(ledger.tip().round + 1, candidates());
  t.is(payload.txs.length, 20);
});
