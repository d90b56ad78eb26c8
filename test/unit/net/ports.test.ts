// lib/net/ports.ts: ports for servers named before they start are drawn below the OS's ephemeral range
// (where no outgoing connection takes its local port), free when handed out, and a bound port is not free.
import test from 'ava';
import { createServer } from 'node:net';
import { ephemeralRangeStart, freePort, portIsFree } from '../../../lib/net/ports.js';

test('freePort hands out distinct bindable ports below the ephemeral range', async (t) => {
  const low = ephemeralRangeStart();
  const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
  for (const p of ports) t.true(p >= 10_000 && p < low, `port ${p} is below the ephemeral range (${low})`);
  for (const p of new Set(ports)) t.true(await portIsFree(p), `port ${p} can be bound`);
});

test('portIsFree says no for a port a server listens on, yes once it closed', async (t) => {
  const port = await freePort();
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
  t.false(await portIsFree(port));
  await new Promise<void>((r) => srv.close(() => r()));
  t.true(await portIsFree(port));
});
