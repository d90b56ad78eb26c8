// Sealing and unsealing: a round trip gives the data back; the replica depends on the storer, the data
// id and the commitment seed, and never equals the plain data.
import test from 'ava';
import { NODE_SIZE, replicaIdOf, seal, unseal } from '../../../lib/porep/index.js';
import { prng, sealedFixture } from './helpers.js';

test('seal then unseal gives the data back, for sizes around node and chunk edges', async (t) => {
  for (const [seed, size] of [[301, 0], [302, 1], [303, 31], [304, 32], [305, 33], [306, 4096], [307, 4097], [308, 50_001]] as const) {
    const f = await sealedFixture(seed, size, 3);
    t.is(f.replica.length, Math.max(1, Math.ceil(size / NODE_SIZE)) * NODE_SIZE, `seed ${seed}`);
    t.deepEqual(await unseal(f.replica, f.replicaId, 3, size), f.data, `seed ${seed} size ${size}`);
    if (size >= 32) t.notDeepEqual(f.replica.subarray(0, 32), f.data.subarray(0, 32), `seed ${seed}: the replica is not the data`);
  }
});

test('a sector larger than its data: padding nodes are sealed too and unseal to zeros', async (t) => {
  const f = await sealedFixture(311, 1000, 2, 200);
  t.is(f.nodes, 200);
  const whole = await unseal(f.replica, f.replicaId, 2);
  t.deepEqual(whole.subarray(0, 1000), f.data);
  t.true(whole.subarray(1000).every((b) => b === 0));
  await t.throwsAsync(() => seal({ replicaId: f.replicaId, data: new Uint8Array(33), layers: 2, nodes: 1, store: null }), { message: /do not fit/ });
});

test('the replica depends on the storer id, the data id and the commitment seed', async (t) => {
  const r = prng(321);
  const data = r.bytes(10_000);
  const ids = [r.bytes(32), r.bytes(32)];
  const dataIds = [r.bytes(32), r.bytes(32)];
  const seeds = [r.bytes(32), r.bytes(32)];
  const replicas = new Set<string>();
  for (const s of ids) for (const d of dataIds) for (const c of seeds) {
    const { replica } = await seal({ replicaId: replicaIdOf(s, d, c), data, layers: 2, store: null });
    replicas.add(Buffer.from(replica).toString('hex'));
  }
  t.is(replicas.size, 8, 'seed 321: eight different replicas');
});

test('unseal refuses a replica that is not whole nodes, and an abort stops a sealing', async (t) => {
  const id = new Uint8Array(32);
  await t.throwsAsync(() => unseal(new Uint8Array(33), id, 2), { message: /multiple of 32/ });
  const ac = new AbortController();
  ac.abort();
  const outcome = await seal({ replicaId: id, data: new Uint8Array(64), layers: 2, store: null, signal: ac.signal }).then(
    () => 'sealed',
    (e: unknown) => (e as { name?: string }).name,
  );
  t.is(outcome, 'AbortError');
});
