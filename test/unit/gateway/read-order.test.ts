// The order a GET asks a file's storers in (services/gateway/read.ts storerOrder): the indexer's
// reputation ranking when it has one, restricted to the storers of the chain's record, then whoever
// it did not rank in commitment order; without a ranking, the commitment order.
import test from 'ava';
import { storerOrder } from '../../../services/gateway/read.js';

const A = 'aa'.repeat(32);
const B = 'bb'.repeat(32);
const C = 'cc'.repeat(32);
const X = 'ee'.repeat(32);

test('the indexer ranks the committed storers, best reputation first', (t) => {
  const ranked = [
    { id: C, endpoint: '127.0.0.1:3' },
    { id: A, endpoint: '127.0.0.1:1' },
    { id: B, endpoint: '127.0.0.1:2' },
  ];
  t.deepEqual(
    storerOrder([A, B, C], ranked).map((c) => c.id),
    [C, A, B],
  );
  t.is(storerOrder([A, B, C], ranked)[0]!.indexedEndpoint, '127.0.0.1:3');
});

test('the indexer cannot add storers; storers it did not rank follow in commitment order', (t) => {
  const ranked = [
    { id: X, endpoint: '10.0.0.9:1' },
    { id: B, endpoint: '127.0.0.1:2' },
    { id: B, endpoint: '127.0.0.1:2' },
  ];
  t.deepEqual(
    storerOrder([A, B, C], ranked).map((c) => c.id),
    [B, A, C],
  );
});

test('without a ranking (no indexer, or it failed) the commitment order stands', (t) => {
  t.deepEqual(
    storerOrder([B, C, A], null).map((c) => c.id),
    [B, C, A],
  );
  t.deepEqual(storerOrder([B, C, A], []), [{ id: B }, { id: C }, { id: A }]);
});

test('a storer that failed a read lately is asked after the others until the memory fades; serving well clears it', async (t) => {
  const { createStorerFailures } = await import('../../../services/gateway/read.js');
  let now = 1_000_000;
  const f = createStorerFailures(() => now, 60_000);
  const [e1, e2, e3] = ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3'];
  t.deepEqual(f.order([e1!, e2!, e3!]), [e1, e2, e3]);
  f.failed(e1!);
  now += 10;
  f.failed(e2!);
  t.deepEqual(f.order([e1!, e2!, e3!]), [e3, e1, e2], 'failed ones last, the longest ago first');
  f.served(e2!);
  t.deepEqual(f.order([e1!, e2!, e3!]), [e2, e3, e1]);
  now += 60_000;
  t.deepEqual(f.order([e1!, e2!, e3!]), [e1, e2, e3], 'forgotten after the memory');
});
