// The client's per-key nonce allocator (lib/client/nonces.ts; issue 24 item 1): calls that run side by
// side get consecutive nonces (they all read the same account nonce and collided before), a released
// nonce is handed out again, a spent one is not until the account passes it or its hold ends, at most
// maxInFlight leases are out, and a lease that renews after a gap waits for smaller ones first.
import test from 'ava';
import { NonceAllocator } from '../../../lib/client/nonces.js';

test('concurrent leases get consecutive nonces from one account nonce', async (t) => {
  const a = new NonceAllocator({ maxInFlight: 20 });
  const leases = await Promise.all(Array.from({ length: 20 }, () => a.take(async () => 7n)));
  t.deepEqual(
    leases.map((l) => l.nonce).sort((x, y) => Number(x - y)),
    Array.from({ length: 20 }, (_, i) => 7n + BigInt(i)),
  );
});

test('released nonces are reused, spent ones kept until the account passes them or the hold ends', async (t) => {
  let clock = 0;
  const a = new NonceAllocator({ maxInFlight: 10, holdMs: 1000, now: () => clock });
  const [x, y, z] = await Promise.all([a.take(async () => 0n), a.take(async () => 0n), a.take(async () => 0n)]);
  t.deepEqual([x!.nonce, y!.nonce, z!.nonce], [0n, 1n, 2n]);
  y!.release(); // never submitted
  x!.spent(); // final, the account has not moved yet
  const w = await a.take(async () => 0n);
  t.is(w.nonce, 1n, 'the released nonce goes to the next call');
  const v = await a.take(async () => 0n);
  t.is(v.nonce, 3n, '0 is spent (kept), 1 and 2 in flight');
  v.release();
  const u = await a.take(async () => 1n);
  t.is(u.nonce, 3n, 'the account passed 0: 0 is forgotten');
  u.spent();
  w.spent();
  z!.spent();
  clock = 1000;
  const s = await a.take(async () => 2n);
  t.is(s.nonce, 2n, 'a spent nonce the account never passed is free again after holdMs');
});

test('at most maxInFlight leases are out; the next waits for one to end', async (t) => {
  const a = new NonceAllocator({ maxInFlight: 2 });
  const first = await a.take(async () => 0n);
  await a.take(async () => 0n);
  let third: bigint | undefined;
  const pending = a.take(async () => 0n).then((l) => (third = l.nonce));
  await new Promise((r) => setImmediate(r));
  t.is(third, undefined, 'waits while two are out');
  first.release();
  await pending;
  t.is(third, 0n, 'gets the nonce the ended lease released');
});

test('renew gives the nonce up and takes a fresh one; earlierSettled waits for smaller leases in flight', async (t) => {
  const a = new NonceAllocator({ maxInFlight: 5 });
  const low = await a.take(async () => 4n);
  const high = await a.take(async () => 4n);
  t.is(high.nonce, 5n);
  let settled = false;
  const waiting = high.earlierSettled().then(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  t.false(settled, 'nonce 4 is still in flight');
  low.spent();
  await waiting;
  t.true(settled);
  // Nonce 5 was taken by another process: the account is at 6 now.
  t.is(await high.renew(async () => 6n), 6n);
  t.deepEqual(a.holding(), [6n], 'the spent 4 is forgotten: the account passed it');
});
