// The repairer's scan (services/rewards/repairer.ts, docs/repair.md) in process against a real chain
// (ledger with real certificates, test/unit/indexer/chain.ts) and a real indexer read model: storers
// leave, the scan finds their keys through ListStorerKeys, solicits the registry's storers on the tip's
// seed with a surviving holder as the source, and submits Repairs the ledger includes; every key is back
// at N live commitments and a second scan has nothing to do. A key whose every holder is gone is reported
// lost with the evidence and no Repair is made.
//
// Storers here are stand-ins at the Solicit boundary: each answers as services/storer/solicit.ts does
// (VRF self-selection on the request's seed with the request's total; a source that cannot serve the file
// fails the request naming it), with the commitment built and signed by the fixture exactly as a storer
// signs one. The storer's own Solicit is tested in test/unit/storer/solicit.test.ts.
import test from 'ava';
import { NodeRole } from '../../../gen/wolk/common/v1/node.js';
import type { SolicitRequest, SolicitResponse } from '../../../gen/wolk/storer/v1/storer.js';
import type { FileInfo } from '../../../gen/wolk/common/v1/storage.js';
import { DEFAULT_REPAIR_PARAMS } from '../../../lib/chain/repair.js';
import { txId } from '../../../lib/chain/tx-bytes.js';
import { toHex } from '../../../lib/crypto/index.js';
import type { NodeKey } from '../../../lib/identity/node-key.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { readAccount, readKey } from '../../../services/consensus/ledger/state-view.js';
import { registryAt } from '../../../services/consensus/ledger/transactions.js';
import { createCertificateVerifier } from '../../../lib/chain/certificate.js';
import { ReadModel } from '../../../services/indexer/store.js';
import { createRepairer, type RepairerPorts } from '../../../services/rewards/repairer.js';
import { commitment, fileInfo, setKey, txOf, type User } from '../consensus/ledger-fixture.js';
import { makeChain, userWithBucket, type TestChain } from '../indexer/chain.js';
import { logSeedOnFailure } from '../../helpers/seed.js';

logSeedOnFailure(test);

const COMMITTEE = 4000;
const userOf = (k: NodeKey): User => ({ publicKey: Buffer.from(k.signPublicKey), secretKey: k.signSecretKey, nonce: 0n });

interface World {
  readonly chain: TestChain;
  readonly model: ReadModel;
  readonly alice: User;
  /** Storers whose data is gone: as a source they fail the request, naming themselves. */
  readonly wiped: Set<string>;
  /** Endpoints solicited, per scan. */
  readonly solicited: string[];
  put(key: string, storers: number[]): Promise<FileInfo>;
  leave(i: number): Promise<void>;
  ports: RepairerPorts;
}

async function world(storers: number): Promise<World> {
  const chain = await makeChain({ storers, storerCommitteeSize: COMMITTEE, rewards: 1 });
  const { net, ledger } = chain;
  const model = new ReadModel(createMemoryKv(), { genesis: net.genesis, certificates: createCertificateVerifier(net.genesis), rewardPerValid: 10n });
  const sync = async () => {
    const from = ((await model.cursor())?.round ?? -1) + 1;
    for (let r = from; r <= ledger.tip().round; r++) await model.apply(await chain.certified(r));
  };
  const alice = await userWithBucket(chain, 'alice', 'docs');
  const wiped = new Set<string>();
  const solicited: string[] = [];
  const byEndpoint = new Map(net.genesis.nodes.map((n, i) => [n.endpoint, i] as const));
  const keyOf = new Map(net.storers.map((k) => [k.id, k] as const));
  const repairer = userOf(net.rewards[0]!);
  const ports: RepairerPorts = {
    listNodes: async () => (await sync(), (await model.listNodes(NodeRole.NODE_ROLE_UNSPECIFIED, 1000, '')).nodes),
    storerKeys: async (id) => (await sync(), (await model.storerKeys(id, 1000, '')).keys),
    tip: async () => ({ round: ledger.tip().round, seed: ledger.tip().seed }),
    registry: async (round) => (await registryAt(ledger.rules, round))!,
    async solicit(endpoint: string, req: SolicitRequest): Promise<SolicitResponse> {
      solicited.push(endpoint);
      const node = net.genesis.nodes[byEndpoint.get(endpoint)!]!;
      const storer = keyOf.get(node.id)!;
      const source = net.genesis.nodes[byEndpoint.get(req.sourceEndpoint)!];
      const registry = (await registryAt(ledger.rules, Number(req.seedRound)))!;
      const stake = registry.lookup(storer.signPublicKey)!.stake;
      const c = commitment(storer, req.file!, req.seed, Number(req.seedRound), req.totalStake, {}, req.expectedStorers, stake);
      if (c.weight === 0) return { result: { $case: 'notSelected', value: { storerId: c.storerId, vrfPublicKey: c.vrfPublicKey, vrf: c.vrf } } };
      if (!source || wiped.has(source.id)) throw new Error(`UNAVAILABLE: source ${req.sourceEndpoint} could not serve ${toHex(req.file!.filehash).slice(0, 16)}`);
      return { result: { $case: 'selected', value: c } };
    },
    async submit(repair) {
      const stx = txOf(repairer, { $case: 'repair', value: repair });
      await chain.finalize([stx]);
      return txId(stx);
    },
  };
  return {
    chain,
    model,
    alice,
    wiped,
    solicited,
    ports,
    async put(key, idx) {
      const file = fileInfo(9_000n);
      const sr = ledger.tip().round;
      const total = (await registryAt(ledger.rules, sr))!.totalWeight;
      await chain.finalize([setKey(alice, net.gateway, { owner: 'alice', collection: 'docs', key, file }, idx.map((i) => commitment(net.storers[i]!, file, ledger.seedAt(sr)!, sr, total, {}, COMMITTEE)))]);
      return file;
    },
    async leave(i) {
      const s = net.storers[i]!;
      wiped.add(s.id);
      const u = userOf(s);
      u.nonce = (await readAccount(ledger.latestState(), s.signPublicKey)).nonce;
      await chain.finalize([txOf(u, { $case: 'updateNode', value: { roles: { roles: [NodeRole.NODE_ROLE_GATEWAY] } } })]);
    },
  };
}

const storersOf = async (w: World, key: string) => (await readKey(w.chain.ledger.latestState(), 'alice', 'docs', key))!.commitments.map((c) => toHex(c.storerId));

test('storers leave for good: one scan restores every affected key to N live commitments; the next scan does nothing', async (t) => {
  const w = await world(6);
  const { net } = w.chain;
  await w.put('a', [0, 1, 2]);
  await w.put('b', [0, 3, 4]);
  await w.put('c', [1, 2, 3]);
  await w.leave(0);
  // The indexer's view: storer 5 (which holds none of the keys) fell below the reputation threshold.
  const endpointOf = (id: string) => net.genesis.nodes.find((n) => n.id === id)!.endpoint;
  const listNodes = w.ports.listNodes;
  w.ports.listNodes = async (signal) => (await listNodes(signal)).map((n) => (toHex(n.id) === net.storers[5]!.id ? { ...n, reputationPpm: 875_000 } : n));
  const repairer = createRepairer({ ports: w.ports, params: DEFAULT_REPAIR_PARAMS, expectedStorers: COMMITTEE, signer: { publicKey: net.rewards[0]!.signPublicKey, secretKey: net.rewards[0]!.signSecretKey }, logger: silentLogger });
  const report = await repairer.scan(new AbortController().signal);
  t.deepEqual(report.lost, []);
  t.deepEqual(report.deferred, []);
  t.deepEqual(report.repaired.map((r) => r.path).sort(), ['wolk://alice/docs/a', 'wolk://alice/docs/b']);
  t.true(report.repaired.every((r) => r.replaced === 1 && r.liveBefore === 2));
  const gone = net.storers[0]!.id;
  for (const key of ['a', 'b', 'c']) {
    const ids = await storersOf(w, key);
    t.is(ids.length, 3, key);
    t.is(new Set(ids).size, 3, `${key}: distinct storers`);
    t.false(ids.includes(gone), `${key}: the storer that left is replaced`);
  }
  t.false(w.solicited.some((e) => e === net.genesis.nodes.find((n) => n.id === gone)!.endpoint), 'a storer that left is not solicited');
  t.false(w.solicited.some((e) => e === endpointOf(net.storers[5]!.id)), 'a storer the indexer shows below the reputation threshold is not solicited');
  const again = await repairer.scan(new AbortController().signal);
  t.deepEqual([again.repaired, again.lost, again.deferred], [[], [], []]);
});

test('a key whose every holder is gone is reported lost with the evidence, and no Repair is made', async (t) => {
  const w = await world(7);
  const { net } = w.chain;
  await w.put('doomed', [0, 1, 2]);
  await w.put('fine', [3, 4, 5]);
  for (const i of [0, 1, 2]) await w.leave(i);
  const before = await storersOf(w, 'doomed');
  const repairer = createRepairer({ ports: w.ports, params: DEFAULT_REPAIR_PARAMS, expectedStorers: COMMITTEE, signer: { publicKey: net.rewards[0]!.signPublicKey, secretKey: net.rewards[0]!.signSecretKey }, logger: silentLogger });
  const report = await repairer.scan(new AbortController().signal);
  t.deepEqual(report.repaired, []);
  t.is(report.lost.length, 1);
  const lost = report.lost[0]!;
  t.is(lost.path, 'wolk://alice/docs/doomed');
  t.deepEqual(lost.evidence.map((e) => e.storer), before);
  t.true(lost.evidence.every((e) => e.standing === 'deregistered' && /could not serve the file/.test(e.source)), JSON.stringify(lost.evidence));
  t.deepEqual(await storersOf(w, 'doomed'), before, 'the record is not touched');
  t.is((await readAccount(w.chain.ledger.latestState(), net.rewards[0]!.signPublicKey)).nonce, 0n, 'nothing was submitted');
});

test('a key with a Repair pending is not repaired again until the Repair applies or pendingMs passes', async (t) => {
  const w = await world(6);
  const { net } = w.chain;
  await w.put('a', [0, 1, 2]);
  await w.leave(0);
  // Submitted Repairs wait in a mempool instead of being finalized at once.
  const held: Parameters<RepairerPorts['submit']>[0][] = [];
  const finalizeNow = w.ports.submit;
  w.ports.submit = async (repair) => (held.push(repair), new Uint8Array(32));
  let now = 0;
  const repairer = createRepairer({ ports: w.ports, params: DEFAULT_REPAIR_PARAMS, expectedStorers: COMMITTEE, signer: { publicKey: net.rewards[0]!.signPublicKey, secretKey: net.rewards[0]!.signSecretKey }, logger: silentLogger, pendingMs: 10_000, now: () => now });
  const signal = new AbortController().signal;
  t.is((await repairer.scan(signal)).repaired.length, 1);
  now += 5000;
  t.is((await repairer.scan(signal)).repaired.length, 0, 'pending: not submitted again');
  t.is(held.length, 1);
  now += 6000;
  t.is((await repairer.scan(signal)).repaired.length, 1, 'after pendingMs without the repair applied: again');
  // The chain takes the last one; then the key needs nothing.
  await finalizeNow(held[held.length - 1]!, signal);
  t.false((await storersOf(w, 'a')).includes(net.storers[0]!.id));
  t.is((await repairer.scan(signal)).repaired.length, 0);
});

test('pending Repairs do not take the places of a scan: with one key per scan, the next scan repairs the next key', async (t) => {
  const w = await world(6);
  const { net } = w.chain;
  await w.put('a', [0, 1, 2]);
  await w.put('b', [0, 3, 4]);
  await w.leave(0);
  const held: Parameters<RepairerPorts['submit']>[0][] = [];
  w.ports.submit = async (repair) => (held.push(repair), new Uint8Array(32));
  const repairer = createRepairer({ ports: w.ports, params: DEFAULT_REPAIR_PARAMS, expectedStorers: COMMITTEE, signer: { publicKey: net.rewards[0]!.signPublicKey, secretKey: net.rewards[0]!.signSecretKey }, logger: silentLogger, maxPerScan: 1 });
  const signal = new AbortController().signal;
  const first = (await repairer.scan(signal)).repaired.map((r) => r.path);
  const second = (await repairer.scan(signal)).repaired.map((r) => r.path);
  t.is(first.length, 1);
  t.is(second.length, 1, 'the pending key is left out before the bound, so the other one is repaired');
  t.deepEqual([...first, ...second].sort(), ['wolk://alice/docs/a', 'wolk://alice/docs/b']);
  t.deepEqual((await repairer.scan(signal)).repaired, [], 'both pending now: nothing submitted twice');
  t.is(held.length, 2);
});
