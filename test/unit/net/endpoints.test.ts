// lib/net/endpoints.ts against a real DNS server on loopback (test/helpers/dns.ts, UDP, node's Resolver
// pointed at it with setServers): the union of the static list and the SRV targets, records that change
// while it runs, lookups that fail (SERVFAIL, NXDOMAIN, no records, a silent server) keeping the last
// good set, and a name with nothing behind it at start-up (warned, retried, filled once DNS has it).
import test from 'ava';
import { Resolver } from 'node:dns/promises';
import { createLogger, silentLogger, type Logger } from '../../../lib/log/logger.js';
import { dnsResolver, endpointSet, fixedEndpoints, isEndpointSet, toEndpoints, type EndpointSet } from '../../../lib/net/endpoints.js';
import { ClientPool, failover, NoEndpointAnswered } from '../../../lib/grpc/client.js';
import { startDnsServer, type SrvTarget, type TestDnsServer } from '../../helpers/dns.js';
import { pollUntil } from '../../helpers/poll.js';
import { logSeedOnFailure, randomFor } from '../../helpers/seed.js';

logSeedOnFailure(test);

const NAME = '_grpc._tcp.consensus.wolk.test';
const t = (port: number, target = '127.0.0.1'): SrvTarget => ({ target, port });

function capture(): { logger: Logger; lines: () => { level: string; msg: string; [k: string]: unknown }[] } {
  const out: string[] = [];
  return { logger: createLogger({ level: 'debug', write: (l) => out.push(l) }), lines: () => out.map((l) => JSON.parse(l) as { level: string; msg: string }) };
}

async function withDns(records: Record<string, readonly SrvTarget[]>, run: (dns: TestDnsServer) => Promise<void>): Promise<void> {
  const dns = await startDnsServer(records);
  try {
    await run(dns);
  } finally {
    await dns.close();
  }
}

function setOf(dns: TestDnsServer, o: Partial<Parameters<typeof endpointSet>[0]> = {}): EndpointSet {
  return endpointSet({ srv: NAME, resolver: dnsResolver([dns.address]), logger: silentLogger, what: 'WOLK_CONSENSUS / WOLK_CONSENSUS_SRV', refreshMs: 100, retryMs: 50, ...o });
}

test('the set is the static list then the SRV targets (host:port, trailing dot dropped), without duplicates or the excluded endpoint', async (tt) => {
  await withDns({ [NAME]: [t(7002, 'consensus-0.consensus.wolk.svc.cluster.local.'), t(7002, '10.0.0.9'), t(7003), t(7003)] }, async (dns) => {
    const set = setOf(dns, { static: ['10.0.0.9:7002', 'static-1:7002'], exclude: '127.0.0.1:7003' });
    tt.deepEqual(set.current(), ['10.0.0.9:7002', 'static-1:7002'], 'before start: the static list');
    await set.start();
    tt.deepEqual(set.current(), ['10.0.0.9:7002', 'static-1:7002', 'consensus-0.consensus.wolk.svc.cluster.local:7002']);
    set.stop();
  });
});

test('without an SRV name the set is the static list and no lookup is made', async (tt) => {
  await withDns({}, async (dns) => {
    const set = endpointSet({ static: ['a:1', 'b:2'], resolver: dnsResolver([dns.address]), logger: silentLogger, what: 'WOLK_CONSENSUS / WOLK_CONSENSUS_SRV' });
    await set.start();
    await set.refresh();
    tt.deepEqual(set.current(), ['a:1', 'b:2']);
    tt.is(dns.queries(), 0);
    set.stop();
    tt.deepEqual(toEndpoints(['x:1']).current(), ['x:1']);
    tt.deepEqual(fixedEndpoints([]).current(), []);
  });
});

test('records that change while it runs: a new target is added, a removed one leaves, listeners hear both', async (tt) => {
  await withDns({ [NAME]: [t(7101), t(7102)] }, async (dns) => {
    const set = setOf(dns, { static: ['static:7000'] });
    const changes: { current: readonly string[]; removed: readonly string[] }[] = [];
    set.onChange((current, removed) => changes.push({ current, removed }));
    await set.start();
    tt.deepEqual(set.current(), ['static:7000', '127.0.0.1:7101', '127.0.0.1:7102']);
    dns.set(NAME, [t(7102), t(7103)]);
    await pollUntil(() => set.current(), { what: 'the new record set', deadlineMs: 5000, intervalMs: 20, until: (c) => c.includes('127.0.0.1:7103') });
    tt.deepEqual(set.current(), ['static:7000', '127.0.0.1:7102', '127.0.0.1:7103']);
    const last = changes.at(-1)!;
    tt.deepEqual(last.removed, ['127.0.0.1:7101']);
    tt.deepEqual(last.current, set.current());
    // A snapshot taken before the change is not changed under its holder.
    const before = set.current();
    dns.set(NAME, [t(7104)]);
    await pollUntil(() => set.current(), { what: 'the third record set', deadlineMs: 5000, intervalMs: 20, until: (c) => c.includes('127.0.0.1:7104') });
    tt.deepEqual(before, ['static:7000', '127.0.0.1:7102', '127.0.0.1:7103']);
    tt.deepEqual(set.current(), ['static:7000', '127.0.0.1:7104'], 'the static list stays, the SRV part follows DNS');
    set.stop();
  });
});

test('a failed lookup keeps the last good set and says so: SERVFAIL, NXDOMAIN, no records, a silent server', async (tt) => {
  await withDns({ [NAME]: [t(7201), t(7202)] }, async (dns) => {
    const { logger, lines } = capture();
    // A resolver that gives up on a silent server after 300 ms (the default waits 2 s × 2 tries).
    const resolver = new Resolver({ timeout: 300, tries: 1 });
    resolver.setServers([dns.address]);
    const set = setOf(dns, { logger, refreshMs: 60_000, resolver });
    await set.start();
    const good = ['127.0.0.1:7201', '127.0.0.1:7202'];
    tt.deepEqual(set.current(), good);
    const failures: [string, () => void, string][] = [
      ['SERVFAIL', () => dns.mode('servfail'), 'ESERVFAIL'],
      ['NXDOMAIN', () => (dns.mode('answer'), dns.remove(NAME)), 'ENOTFOUND'],
      ['no records', () => dns.set(NAME, []), 'ENODATA'],
      ['silent', () => dns.mode('silent'), 'ETIMEOUT'],
    ];
    for (const [what, make, code] of failures) {
      make();
      await set.refresh();
      tt.deepEqual(set.current(), good, `${what}: the last good set is kept`);
      const warn = lines().filter((l) => l.level === 'warn').at(-1);
      tt.is(warn?.msg, 'SRV lookup failed; keeping the last good endpoints', what);
      tt.is(warn?.['srv'], NAME);
      tt.true(String(warn?.['error']).startsWith(code), `${what}: ${String(warn?.['error'])}`);
      tt.is(warn?.['keeping'], 2);
    }
    dns.mode('answer');
    dns.set(NAME, [t(7203)]);
    await set.refresh();
    tt.deepEqual(set.current(), ['127.0.0.1:7203'], 'the next good answer replaces it');
    tt.true(lines().some((l) => l.msg === 'SRV name resolved' && l['targets'] === 1), 'recovery is logged');
    set.stop();
  });
});

test('a name with nothing behind it at start-up: start() returns with a warning, calls fail naming the variable, and the set fills once DNS has it', async (tt) => {
  await withDns({}, async (dns) => {
    const { logger, lines } = capture();
    const set = setOf(dns, { logger, retryMs: 50, refreshMs: 400, startWaitMs: 3000 });
    const started = Date.now();
    await set.start();
    tt.true(Date.now() - started < 3000, 'an NXDOMAIN answer does not hold the start-up');
    tt.deepEqual(set.current(), []);
    tt.true(lines().some((l) => l.level === 'warn' && l.msg.startsWith('no endpoints yet from WOLK_CONSENSUS / WOLK_CONSENSUS_SRV')));
    const err = await tt.throwsAsync(failover(set.current(), async () => 'never', { whenEmpty: () => set.emptyReason() }), { instanceOf: NoEndpointAnswered });
    tt.regex(err!.message, /WOLK_CONSENSUS \/ WOLK_CONSENSUS_SRV: _grpc\._tcp\.consensus\.wolk\.test has not resolved to any endpoint yet \(last lookup: ENOTFOUND/);
    // Retried sooner than the refresh period while empty: several queries within it.
    await pollUntil(() => dns.queries(), { what: 'lookups retried', deadlineMs: 5000, intervalMs: 20, until: (n) => n >= 3 });
    dns.set(NAME, [t(7301)]);
    await pollUntil(() => set.current(), { what: 'the set to fill', deadlineMs: 5000, intervalMs: 20, until: (c) => c.length === 1 });
    tt.deepEqual(set.current(), ['127.0.0.1:7301']);
    tt.deepEqual((await failover(set.current(), async (e) => e)).value, '127.0.0.1:7301');
    set.stop();
  });
});

test('a silent DNS server at start-up holds start() no longer than startWaitMs', async (tt) => {
  await withDns({ [NAME]: [t(7401)] }, async (dns) => {
    dns.mode('silent');
    const { logger, lines } = capture();
    const resolver = new Resolver({ timeout: 1000, tries: 1 });
    resolver.setServers([dns.address]);
    const set = setOf(dns, { logger, startWaitMs: 300, resolver });
    const started = Date.now();
    await set.start();
    tt.true(Date.now() - started < 2000, `start() took ${Date.now() - started} ms`);
    tt.true(lines().some((l) => l.msg === 'SRV lookup still running at start-up; going on without it'));
    dns.mode('answer');
    await pollUntil(() => set.current(), { what: 'the set to fill after the timeout', deadlineMs: 15_000, intervalMs: 50, until: (c) => c.length === 1 });
    set.stop();
  });
});

test('seeded sequences of record sets: after each refresh the set is the static list then the new targets', async (tt) => {
  const rnd = randomFor(tt);
  await withDns({ [NAME]: [] }, async (dns) => {
    const staticList = ['127.0.0.1:7500', '127.0.0.1:7501'];
    const set = setOf(dns, { static: staticList, refreshMs: 60_000 });
    await set.start();
    for (let step = 0; step < 25; step++) {
      const n = rnd.int(0, 6);
      const ports = Array.from({ length: n }, () => 7500 + rnd.int(0, 9));
      const before = set.current();
      dns.set(NAME, ports.map((p) => t(p)));
      await set.refresh();
      const expected = n === 0 ? before : [...new Set([...staticList, ...ports.map((p) => `127.0.0.1:${p}`)])];
      tt.deepEqual(set.current(), expected, `step ${step}: ports ${ports.join(',') || '(none: a failed lookup, kept)'}`);
    }
    set.stop();
  });
});

test('a client pool that follows the set closes the client of an endpoint that left DNS, and only that one', async (tt) => {
  await withDns({ [NAME]: [t(7701), t(7702)] }, async (dns) => {
    const set = setOf(dns);
    await set.start();
    const closed: string[] = [];
    const pool = new ClientPool((endpoint) => ({ endpoint, close: () => void closed.push(endpoint) }));
    const unfollow = pool.follow(set);
    const first = set.current().map((e) => pool.get(e));
    dns.set(NAME, [t(7702)]);
    await pollUntil(() => closed, { what: 'the client of 127.0.0.1:7701 to be closed', deadlineMs: 5000, intervalMs: 20, until: (c) => c.length > 0 });
    tt.deepEqual(closed, ['127.0.0.1:7701']);
    tt.is(pool.get('127.0.0.1:7702'), first[1], 'the endpoint that stayed keeps its client');
    unfollow();
    set.stop();
    pool.close();
    tt.true(isEndpointSet(set));
    tt.false(isEndpointSet(['a:1']));
    tt.false(isEndpointSet(fixedEndpoints(['a:1'])));
  });
});
