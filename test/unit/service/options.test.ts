// Options are read once, from the registry's defaults (issue #16 point 3): every default written in
// lib/config/env.ts is what the services' options readers return and what the README shows, parses back
// to itself, and λ (and what is timed by it) comes from the genesis unless WOLK_LAMBDA_MS says otherwise.
import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMIT_DEADLINE_DEFAULT_MS, defaultText, ENV, FINALITY_TIMEOUT_DEFAULT_MS, RECLAIM_MARGIN_MS, readDerived, readOption, SERVICE_NAMES, SERVICE_PORTS, type EnvVarSpec } from '../../../lib/config/env.js';
import { readCommonOptions } from '../../../lib/service/options.js';
import { readOptions as readConsensusOptions } from '../../../services/consensus/options.js';
import { readOptions as readGatewayOptions } from '../../../services/gateway/options.js';
import { readOptions as readRewardsOptions } from '../../../services/rewards/options.js';
import { readOptions as readStorerOptions } from '../../../services/storer/options.js';
import { readOptions as readIndexerOptions } from '../../../services/indexer/options.js';
import { tracingEnabled } from '../../../lib/telemetry/tracing.js';
import type { GenesisParams } from '../../../lib/chain/genesis.js';
import { DEFAULT_SHAPE, devnetGenesis, planProcesses, portKeys } from '../../../scripts/devnet-plan.js';

/** A genesis file of the devnet's shape and parameters (fixed, made-up keys: nothing here verifies them). */
function genesisFile(params: Partial<GenesisParams> = {}): string {
  const ports = Object.fromEntries(portKeys(DEFAULT_SHAPE).map((k, i) => [k, 20_000 + i]));
  const processes = planProcesses('/nowhere', DEFAULT_SHAPE, ports);
  const ids = new Map(processes.map((p, i) => [p.name, { id: i.toString(16).padStart(2, '0').repeat(32), vrfPublicKey: 'ab'.repeat(32) }]));
  const genesis = devnetGenesis(processes, ids, '00'.repeat(32), 0);
  const path = join(mkdtempSync(join(tmpdir(), 'wolk-options-')), 'genesis.json');
  writeFileSync(path, JSON.stringify({ ...genesis, params: { ...genesis.params, ...params } }));
  return path;
}

test('every default in the registry parses back to itself from the text the README shows', (t) => {
  for (const spec of Object.values(ENV) as EnvVarSpec<unknown>[]) {
    const d = spec.default;
    if (d === undefined) continue;
    const show = (v: unknown) => (spec.format ? spec.format(v) : String(v));
    const values = 'value' in d ? [d.value] : 'perService' in d ? SERVICE_NAMES.map((s) => d.perService(s)) : 'derived' in d && d.otherwise !== undefined ? [d.otherwise] : [];
    for (const v of values) t.deepEqual(spec.parse(show(v), spec.name), v, `${spec.name}: ${show(v)}`);
    t.truthy(defaultText(spec), spec.name);
  }
});

test('with an empty environment every service gets the registry defaults', (t) => {
  for (const service of SERVICE_NAMES) {
    const o = readCommonOptions({}, service);
    t.deepEqual(o.listen, { host: '0.0.0.0', port: SERVICE_PORTS[service] });
    t.is(o.dataDir, `.wolk/${service}`);
    t.is(o.maxMessageBytes, ENV.WOLK_MAX_MESSAGE_BYTES.default.value);
    t.is(o.shutdownGraceMs, ENV.WOLK_SHUTDOWN_GRACE_MS.default.value);
    t.is(o.logLevel, 'info');
  }
  const s = readStorerOptions({});
  t.is(s.maxFileBytes, 4 * 1024 ** 3);
  t.is(s.maxConcurrentUploads, 16);
  t.is(s.replication, 8, 'without a genesis, the registry\'s fallback');
  t.is(s.stake, 1000n);
  t.deepEqual(s.store, { kind: 'rocksdb' });
  const g = readGatewayOptions({});
  t.deepEqual(g.httpListen, { host: '0.0.0.0', port: 8080 });
  t.is(g.chunkSize, 4096);
  t.is(g.finalityTimeoutMs, 60_000);
  // The README says what the code uses: the same registry entries.
  t.is(defaultText(ENV.WOLK_MAX_FILE_BYTES), '4GiB');
  t.is(defaultText(ENV.WOLK_DATA_DIR), '.wolk/<service>');
  t.is(defaultText(ENV.WOLK_LISTEN), SERVICE_NAMES.map((s) => `${s} 0.0.0.0:${SERVICE_PORTS[s]}`).join(', '));
});

test('λ, the block storage budget, N, the chunk size and Q come from the genesis unless set', (t) => {
  const path = genesisFile({ lambdaMs: 750, replication: 5, chunkSize: 8192, auditDepth: 7 });
  const c = readConsensusOptions({ WOLK_GENESIS: path });
  t.is(c.lambdaMs, 750);
  t.is(c.blockStoreBudgetMs, 750);
  const set = readConsensusOptions({ WOLK_GENESIS: path, WOLK_LAMBDA_MS: '200' });
  t.is(set.lambdaMs, 200);
  t.is(set.blockStoreBudgetMs, 200, 'the budget follows λ');
  t.is(readConsensusOptions({ WOLK_GENESIS: path, WOLK_BLOCK_STORE_BUDGET_MS: '90' }).blockStoreBudgetMs, 90);
  // Without a genesis: the one-node chain's λ.
  t.is(readConsensusOptions({}).lambdaMs, 100);
  const g = readGatewayOptions({ WOLK_GENESIS: path });
  t.is(g.replication, 5);
  t.is(g.chunkSize, 8192);
  t.is(readStorerOptions({ WOLK_GENESIS: path }).replication, 5);
  t.is(readRewardsOptions({ WOLK_GENESIS: path }).auditDepth, 7);
  t.is(readRewardsOptions({ WOLK_GENESIS: path, WOLK_AUDIT_DEPTH: '3' }).auditDepth, 3);
  // Reclamation: on with a chain to follow (the gateway's commit deadline + finality wait + the margin), else off.
  t.is(readStorerOptions({ WOLK_GENESIS: path, WOLK_CONSENSUS: '127.0.0.1:7002' }).reclaimAfterMs, COMMIT_DEADLINE_DEFAULT_MS + FINALITY_TIMEOUT_DEFAULT_MS + RECLAIM_MARGIN_MS);
  t.is(readStorerOptions({ WOLK_GENESIS: path, WOLK_CONSENSUS: '127.0.0.1:7002' }).reclaimAfterMs, 720_000);
  t.is(readStorerOptions({ WOLK_GENESIS: path, WOLK_CONSENSUS_SRV: '_grpc._tcp.consensus.wolk.svc.cluster.local' }).reclaimAfterMs, 720_000, 'an SRV name is a chain to follow too');
  t.is(readStorerOptions({ WOLK_GENESIS: path }).reclaimAfterMs, 0);
  t.is(readStorerOptions({}).reclaimAfterMs, 0);
  t.is(readStorerOptions({ WOLK_GENESIS: path, WOLK_CONSENSUS: '127.0.0.1:7002', WOLK_RECLAIM_AFTER_MS: '0' }).reclaimAfterMs, 0);
  t.is(readStorerOptions({ WOLK_GENESIS: path, WOLK_CONSENSUS: '127.0.0.1:7002', WOLK_RECLAIM_AFTER_MS: '20000' }).reclaimAfterMs, 20_000);
  t.is(readGatewayOptions({}).commitDeadlineMs, COMMIT_DEADLINE_DEFAULT_MS);
  t.is(readGatewayOptions({}).finalityTimeoutMs, FINALITY_TIMEOUT_DEFAULT_MS);
  t.throws(() => readDerived({}, 'WOLK_LAMBDA_MS', undefined), { message: /WOLK_LAMBDA_MS: not set/ });
});

test('consensus and storer endpoints: the static list and the SRV name read together; DNS settings in the common options', (t) => {
  const srv = '_grpc._tcp.consensus.wolk.svc.cluster.local';
  for (const read of [readGatewayOptions, readStorerOptions, readRewardsOptions]) {
    t.deepEqual(read({}).consensus, { static: [], srv: undefined, what: 'WOLK_CONSENSUS / WOLK_CONSENSUS_SRV' });
    t.deepEqual(read({ WOLK_CONSENSUS_SRV: srv }).consensus, { static: [], srv, what: 'WOLK_CONSENSUS / WOLK_CONSENSUS_SRV' });
    t.deepEqual(read({ WOLK_CONSENSUS: 'a:1, b:2', WOLK_CONSENSUS_SRV: srv }).consensus.static, ['a:1', 'b:2']);
  }
  t.throws(() => readIndexerOptions({ WOLK_CONSENSUS_SRV: srv }), { message: /^WOLK_GENESIS: the indexer needs/ }, 'an SRV name, like a list, needs a genesis at the indexer');
  t.deepEqual(readGatewayOptions({ WOLK_STORERS_SRV: '_grpc._tcp.storer.wolk.svc.cluster.local' }).storers.srv, '_grpc._tcp.storer.wolk.svc.cluster.local');
  t.deepEqual(readCommonOptions({}, 'gateway').discovery, { dnsServers: undefined, srvRefreshMs: 30_000 });
  t.deepEqual(readCommonOptions({ WOLK_DNS_SERVERS: '10.96.0.10, 127.0.0.1:5353,[fd00::a]:53,fd00::b', WOLK_SRV_REFRESH_MS: '500' }, 'storer').discovery, {
    dnsServers: ['10.96.0.10', '127.0.0.1:5353', '[fd00::a]:53', 'fd00::b'],
    srvRefreshMs: 500,
  });
  for (const bad of ['dns.example', '10.0.0.1:99999', '[fd00::a]:x', '300.1.1.1']) {
    t.throws(() => readCommonOptions({ WOLK_DNS_SERVERS: bad }, 'gateway'), { message: /^WOLK_DNS_SERVERS: expected comma-separated DNS server addresses/ }, bad);
  }
  t.throws(() => readCommonOptions({ WOLK_SRV_REFRESH_MS: '10' }, 'gateway'), { message: /^WOLK_SRV_REFRESH_MS: expected an integer from 100/ });
  t.throws(() => readGatewayOptions({ WOLK_CONSENSUS_SRV: 'not a name' }), { message: /^WOLK_CONSENSUS_SRV: expected a DNS SRV name/ });
});

test('a bad value or genesis stops the reader with the variable\'s name', (t) => {
  t.throws(() => readConsensusOptions({ WOLK_LAMBDA_MS: 'fast' }), { message: /^WOLK_LAMBDA_MS: expected an integer/ });
  t.throws(() => readConsensusOptions({ WOLK_GENESIS: '/nowhere/genesis.json' }), { message: /^WOLK_GENESIS: cannot read \/nowhere\/genesis.json/ });
  t.throws(() => readOption({ WOLK_MAX_MESSAGE_BYTES: '1' }, 'WOLK_MAX_MESSAGE_BYTES'), { message: /^WOLK_MAX_MESSAGE_BYTES: expected a size/ });
});

test('nothing but lib/config/env.ts reads process.env in lib/ and services/', (t) => {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
  const readers = [...files('lib'), ...files('services')].filter((f) => /process\.env\b/.test(readFileSync(f, 'utf8')));
  t.deepEqual(readers, [join('lib', 'config', 'env.ts')]);
});

test('each registry entry names exactly the services whose options read it', (t) => {
  const readers = { gateway: readGatewayOptions, storer: readStorerOptions, consensus: readConsensusOptions, rewards: readRewardsOptions, indexer: readIndexerOptions };
  // Listed for the manifests, resolved by no service yet (the registry's text says so): deploy/k8s/base/config.yaml.
  const notResolvedYet = new Set(['WOLK_CONSENSUS_SRV', 'WOLK_STORERS_SRV']);
  for (const service of SERVICE_NAMES) {
    // The names a service's start reads: its options, then the tracing set-up every service runs.
    const read = new Set<string>();
    const env = new Proxy({} as Record<string, string | undefined>, {
      get: (_t, name) => {
        if (typeof name === 'string') read.add(name);
        return undefined;
      },
    });
    readers[service](env);
    tracingEnabled(env);
    read.add('OTEL_SERVICE_NAME'); // initTracing's service name, read only when tracing is on
    const listed = (Object.values(ENV) as EnvVarSpec<unknown>[]).filter((v) => v.services === 'all' || v.services.includes(service)).map((v) => v.name);
    t.deepEqual([...read].filter((n) => !listed.includes(n)), [], `${service} reads variables the registry does not list for it`);
    t.deepEqual(listed.filter((n) => !read.has(n) && !notResolvedYet.has(n)), [], `the registry lists variables ${service} does not read`);
  }
});
