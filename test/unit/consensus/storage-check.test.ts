// Cert-step storage checks (DESIGN §4 step 6) against a real storer over gRPC: a block whose files the
// challenged storer proves passes; a commitment to another replica root, a file the storer does not
// hold, or a storer that does not answer in the time box make the block fail (no cert vote).
import test, { type ExecutionContext } from 'ava';
import { credentials, Metadata } from '@grpc/grpc-js';
import { StorerServiceClient, type CommitChunksResponse, type SetFileResponse } from '../../../gen/wolk/storer/v1/storer.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StorageCommitment } from '../../../gen/wolk/common/v1/storage.js';
import { RepairReason, type SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { validateGenesis, type Genesis } from '../../../lib/chain/genesis.js';
import { sha256, toHex } from '../../../lib/crypto/index.js';
import { loadOrCreateNodeKey } from '../../../lib/identity/node-key.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { hashFile } from '../../../lib/merkle/index.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { createStorerNode } from '../../../services/storer/node.js';
import { Ledger } from '../../../services/consensus/ledger/ledger.js';
import { createStorageCheck } from '../../../services/consensus/storage-check.js';
import { SealRefusals } from '../../../services/consensus/seal-refusals.js';
import type { Block } from '../../../services/consensus/agreement/types.js';
import { startInProcess } from '../../helpers/service.js';
import { newKey } from './ledger-fixture.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';
import { setFileData, setFileStart } from '../../../lib/chain/write-request.js';

/** Test data and keys, seeded (test/helpers/seed.ts): the same on every run with the same WOLK_TEST_SEED. */
const seeded = testRandom('unit/consensus/storage-check.test.ts');
logSeedOnFailure(test);

const block = { round: 1 } as Block;

function setKeyWith(commitments: StorageCommitment[], file: { filehash: Uint8Array; size: bigint; chunkSize: number }): SignedTransaction {
  return {
    tx: {
      sender: Buffer.alloc(32),
      nonce: 0n,
      fee: 0n,
      chainId: 'x',
      body: { $case: 'setKey', value: { owner: 'o', collection: 'c', key: 'k', file: { ...file, filehash: Buffer.from(file.filehash) }, contentType: '', commitments, gatewayId: Buffer.alloc(32), gatewaySignature: Buffer.alloc(64) } },
    },
    signature: Buffer.alloc(64),
  };
}

/** A Repair bringing `commitments` (the replaced one is irrelevant to the storage check). */
function repairWith(commitments: StorageCommitment[], replaced: StorageCommitment): SignedTransaction {
  return {
    tx: {
      sender: Buffer.alloc(32),
      nonce: 0n,
      fee: 0n,
      chainId: 'x',
      body: { $case: 'repair', value: { owner: 'o', collection: 'c', key: 'k', recordRound: 1n, chunkSetRound: 0n, replaced: [{ commitment: replaced, reason: RepairReason.REPAIR_REASON_DEREGISTERED }], commitments } },
    },
    signature: Buffer.alloc(64),
  };
}

function commitmentOf(storerId: Uint8Array, file: { filehash: Uint8Array; size: bigint; chunkSize: number }, replicaRoot: Uint8Array): StorageCommitment {
  return {
    storerId: Buffer.from(storerId),
    vrfPublicKey: Buffer.alloc(32),
    vrf: undefined,
    weight: 1,
    replicaRoot: Buffer.from(replicaRoot),
    filehash: Buffer.from(file.filehash),
    size: file.size,
    chunkSize: file.chunkSize,
    seed: Buffer.alloc(32),
    seedRound: 0n,
    signature: Buffer.alloc(64),
  };
}

/** A storer in this process holding a seeded file of `size` bytes (4 KiB chunks), stored through its API. */
async function storerWithFile(t: ExecutionContext, size: number) {
  const storer = await startInProcess('storer', createStorerNode);
  const storerKey = loadOrCreateNodeKey(storer.dataDir).key;
  const endpoint = storer.endpoints['grpc']!;
  const bytes = new Uint8Array(seeded.bytes(size));
  const digest = hashFile(bytes, 4096);
  const file = { filehash: digest.filehash, size: BigInt(bytes.length), chunkSize: 4096 };
  const client = new StorerServiceClient(endpoint, credentials.createInsecure());
  t.teardown(() => client.close());
  const stored = await new Promise<SetFileResponse>((resolve, reject) => {
    const call = client.setFile(new Metadata(), { deadline: Date.now() + 30_000 }, (err, res) => (err ? reject(err) : resolve(res)));
    call.write(setFileStart({ filehash: Buffer.from(file.filehash), size: file.size, chunkSize: 4096 }));
    call.write(setFileData(Buffer.from(bytes)));
    call.end();
  });
  return { storer, storerKey, endpoint, file, replicaRoot: stored.replicaRoot };
}

/** A ledger whose genesis registers one consensus node and `storers` (id, VRF key, endpoint). */
function ledgerWith(storers: readonly { id: string; vrfPublicKey: Uint8Array; endpoint: string }[], extraParams: Partial<Genesis['params']> = {}): Promise<Ledger> {
  const genesis: Genesis = {
    network: 'wolk-test',
    seed: seeded.hex(32),
    timestampMs: Date.now(),
    params: { replication: 1, storerCommitteeSize: 10, chunkSize: 4096, lambdaMs: 100, auditDepth: 4, ...extraParams },
    nodes: [
      { id: newKey().id, vrfPublicKey: toHex(newKey().vrfPublicKey), endpoint: '127.0.0.1:1', roles: ['consensus'], stake: '1000' },
      ...storers.map((s) => ({ id: s.id, vrfPublicKey: toHex(s.vrfPublicKey), endpoint: s.endpoint, roles: ['storer' as const], stake: '1000' })),
    ],
  };
  return Ledger.open({ kv: createMemoryKv(), genesis, crypto: { hash: (...p: Uint8Array[]) => sha256(...p) } });
}

test('the cert-step storage check passes a proven file and fails a wrong replica root, an unheld file or a silent storer', async (t) => {
  t.timeout(120_000);
  // A 3-chunk file on the storer.
  const { storer, storerKey, endpoint, file, replicaRoot } = await storerWithFile(t, 4096 * 2 + 100);
  t.teardown(() => storer.close());
  const silent = newKey();
  // The silent storer is registered at an address where nothing answers (a discard port on loopback).
  const ledger = await ledgerWith([
    { id: storerKey.id, vrfPublicKey: storerKey.vrfPublicKey, endpoint },
    { id: silent.id, vrfPublicKey: silent.vrfPublicKey, endpoint: '127.0.0.1:9' },
  ]);
  const check = createStorageCheck({ ledger, logger: silentLogger, timeoutMs: 3000 });
  const signal = new AbortController().signal;
  const run = (c: StorageCommitment, f = file) => check(block, { txs: [setKeyWith([c], f)], newChunks: undefined }, signal);

  t.is(await run(commitmentOf(storerKey.signPublicKey, file, replicaRoot)), null, 'a held file with its real replica root passes');
  t.regex((await run(commitmentOf(storerKey.signPublicKey, file, seeded.bytes(32)))) ?? '', /replica_root/);
  const other = { ...file, filehash: new Uint8Array(seeded.bytes(32)) };
  t.truthy(await run(commitmentOf(storerKey.signPublicKey, other, replicaRoot), other), 'a file the storer does not hold fails');
  const t0 = Date.now();
  t.truthy(await run(commitmentOf(silent.signPublicKey, file, replicaRoot)), 'a storer that does not answer fails');
  t.true(Date.now() - t0 < 10_000, 'within the time box');
  t.is(await check(block, { txs: [], newChunks: undefined }, signal), null, 'a block without files needs no challenge');

  // A Repair's new commitment is challenged as a SetKey's is (docs/repair.md §8).
  const gone = commitmentOf(silent.signPublicKey, file, seeded.bytes(32));
  const repair = (c: StorageCommitment) => check(block, { txs: [repairWith([c], gone)], newChunks: undefined }, signal);
  t.is(await repair(commitmentOf(storerKey.signPublicKey, file, replicaRoot)), null, 'a replacement that holds the file passes');
  t.regex((await repair(commitmentOf(storerKey.signPublicKey, file, seeded.bytes(32)))) ?? '', /replica_root/, 'a replacement with another replica root fails');
  t.truthy(await repair(commitmentOf(silent.signPublicKey, file, replicaRoot)), 'a replacement that does not answer fails');
});

/**
 * One registered storer holding a small file, a storage check built by `checkWith` against the ledger
 * that registers it, `run` checking a block with a SetKey of one commitment, and `stopStorer`.
 */
async function oneStorerCheck(t: ExecutionContext, checkWith: (ledger: Ledger) => ReturnType<typeof createStorageCheck>) {
  const { storer, storerKey, endpoint, file, replicaRoot } = await storerWithFile(t, 4096 + 17);
  let storerUp = true;
  t.teardown(() => (storerUp ? storer.close() : undefined));
  const check = checkWith(await ledgerWith([{ id: storerKey.id, vrfPublicKey: storerKey.vrfPublicKey, endpoint }]));
  const signal = new AbortController().signal;
  const run = (c: StorageCommitment) => check(block, { txs: [setKeyWith([c], file)], newChunks: undefined }, signal);
  const stopStorer = async () => {
    await storer.close();
    storerUp = false;
  };
  return { storerKey, endpoint, file, replicaRoot, run, stopStorer };
}

test('a commitment proven to this node is not challenged again for provenForMs; after that it is; checks of it side by side all pass', async (t) => {
  t.timeout(120_000);
  let clock = 1_000_000;
  const { storerKey, file, replicaRoot, run, stopStorer } = await oneStorerCheck(t, (ledger) => createStorageCheck({ ledger, logger: silentLogger, timeoutMs: 3000, provenForMs: 10_000, now: () => clock }));
  const held = commitmentOf(storerKey.signPublicKey, file, replicaRoot);

  t.deepEqual(await Promise.all([run(held), run(held), run(held)]), [null, null, null], 'three candidate blocks with the same SetKey, checked side by side, pass');
  await stopStorer();
  clock += 9_999;
  t.is(await run(held), null, 'within provenForMs the proven commitment is not challenged again (the storer is down and it still passes)');
  t.truthy(await run(commitmentOf(storerKey.signPublicKey, file, seeded.bytes(32))), 'another commitment of the same storer and file is challenged (and fails: the storer is down)');
  clock += 1;
  t.truthy(await run(held), 'after provenForMs it is challenged again, and fails with the storer down');
});

test('the proven commitments are bounded by provenCapacity: the least recently used one is challenged again', async (t) => {
  t.timeout(120_000);
  const { storerKey, endpoint, file, replicaRoot, run, stopStorer } = await oneStorerCheck(t, (ledger) =>
    createStorageCheck({ ledger, logger: silentLogger, timeoutMs: 3000, provenForMs: 60_000, provenCapacity: 2, now: () => 1_000_000 }),
  );
  // Three commitments the storer proves: the same file and replica root, told apart by their (unchecked
  // here) signatures, so each is its own entry.
  const [a, b, c] = [1, 2, 3].map((i) => ({ ...commitmentOf(storerKey.signPublicKey, file, replicaRoot), signature: Buffer.alloc(64, i) }));
  for (const x of [a!, b!, c!]) t.is(await run(x), null, 'proven while the storer is up');
  await stopStorer();
  t.is(await run(c!), null, 'the most recently proven is remembered');
  t.is(await run(b!), null, 'and the one before it');
  t.regex((await run(a!)) ?? '', new RegExp(`at ${endpoint}: `), 'the first, past the capacity of 2, is challenged again (and fails: the storer is down)');
});

const POREP = { sectorBytes: 64 * 1024, layers: 4, sealChallenges: 32, auditChallenges: 16 };

/** A storer in this process on a sealed network (its own one-storer genesis), with test-only `faults`. */
async function sealedStorer(t: ExecutionContext, faults = '') {
  const dataDir = mkdtempSync(join(tmpdir(), 'wolk-storer-sealed-'));
  const storerKey = seeded.provisionNodeKey(dataDir);
  const storerGenesis = validateGenesis({
    network: 'wolk-test',
    seed: '00'.repeat(32),
    timestampMs: 0,
    params: { replication: 1, storerCommitteeSize: 1000, chunkSize: 4096, lambdaMs: 50, auditDepth: 4, porep: POREP },
    nodes: [{ id: storerKey.id, vrfPublicKey: toHex(storerKey.vrfPublicKey), endpoint: '127.0.0.1:1', roles: ['storer'], stake: '1000' }],
  });
  writeFileSync(join(dataDir, 'genesis.json'), JSON.stringify(storerGenesis));
  const storer = await startInProcess('storer', createStorerNode, { WOLK_DATA_DIR: dataDir, WOLK_GENESIS: join(dataDir, 'genesis.json'), WOLK_WRITE_ADMISSION: 'open', ...(faults ? { WOLK_FAULTS: faults } : {}) });
  t.teardown(() => storer.close());
  const endpoint = storer.endpoints['grpc']!;
  const client = new StorerServiceClient(endpoint, credentials.createInsecure());
  t.teardown(() => client.close());
  /** The storer's commitment to the chunk set `chunks` (CommitChunks with every chunk's bytes). */
  const commitChunks = async (chunks: Buffer[], seed: Buffer): Promise<StorageCommitment> => {
    const nc = { chunkIds: chunks.map((c) => Buffer.from(sha256(c))), files: [], chunkCommitments: [], repairedChunkSets: [] };
    const res = await new Promise<CommitChunksResponse>((resolve, reject) =>
      client.commitChunks({ newChunks: nc, seed, seedRound: 3n, expectedStorers: 1000, totalStake: 1000n, data: chunks, requesterId: Buffer.alloc(0), signature: Buffer.alloc(0) }, new Metadata(), { deadline: Date.now() + 90_000 }, (err, r) => (err ? reject(err) : resolve(r))),
    );
    t.is(res.result?.$case, 'selected');
    return res.result!.value as StorageCommitment;
  };
  return { storer, storerKey, endpoint, commitChunks };
}

test('on a sealed network the block\'s chunk set is checked too: a committer\'s seal proof opens the set\'s chunks against the block\'s ids; a proof for other ids fails; unsealed networks do not ask', async (t) => {
  t.timeout(120_000);
  const { storerKey, endpoint, commitChunks } = await sealedStorer(t);
  const chunks = Array.from({ length: 4 }, (_, i) => Buffer.from(seeded.bytes(200 + i)));
  const ids = chunks.map((c) => Buffer.from(sha256(c)));
  const c = await commitChunks(chunks, Buffer.from(seeded.bytes(32)));
  t.truthy(c.sealed);
  const sealedLedger = (withPorep: boolean) => ledgerWith([{ id: storerKey.id, vrfPublicKey: storerKey.vrfPublicKey, endpoint }], withPorep ? { porep: POREP } : {});
  // provenForMs 0: every check challenges (the block's new_chunks_hash pins its ids, so in a real block
  // a commitment proven once is proven for those ids; here the same commitment is tried with others).
  const check = createStorageCheck({ ledger: await sealedLedger(true), logger: silentLogger, timeoutMs: 20_000, provenForMs: 0 });
  const signal = new AbortController().signal;
  const withSet = (ids: Buffer[]) => ({ txs: [], newChunks: { chunkIds: ids, files: [], chunkCommitments: [c], repairedChunkSets: [] } });
  t.is(await check(block, withSet(ids), signal), null, 'the committer proves its sealed set');
  t.regex((await check(block, withSet([...ids].reverse()), signal)) ?? '', /seal proof refused/, 'against other ids (another order) the proof fails');
  const unsealed = createStorageCheck({ ledger: await sealedLedger(false), logger: silentLogger, timeoutMs: 20_000 });
  t.is(await unsealed(block, withSet([...ids].reverse()), signal), null, 'an unsealed network does not check chunk sets here');
});

test('on a sealed network every committer is challenged: a wrong sealer beside an honest one fails the block and is recorded, so it is refused again without asking; an unreachable committer is an outage, not a verdict', async (t) => {
  t.timeout(180_000);
  const honest = await sealedStorer(t);
  const wrong = await sealedStorer(t, 'wrong-sealer');
  const chunks = Array.from({ length: 6 }, (_, i) => Buffer.from(seeded.bytes(300 + i)));
  const ids = chunks.map((c) => Buffer.from(sha256(c)));
  const seed = Buffer.from(seeded.bytes(32));
  const [ch, cw] = [await honest.commitChunks(chunks, seed), await wrong.commitChunks(chunks, seed)];
  t.truthy(cw.sealed, 'the wrong sealer commits to a well-formed sealed replica (its comm_r is over plain data)');
  const ledger = await ledgerWith(
    [honest, wrong].map((s) => ({ id: s.storerKey.id, vrfPublicKey: s.storerKey.vrfPublicKey, endpoint: s.endpoint })),
    { porep: POREP },
  );
  const refusals = new SealRefusals();
  const check = createStorageCheck({ ledger, logger: silentLogger, timeoutMs: 30_000, provenForMs: 0, refusals });
  const signal = new AbortController().signal;
  const withSet = (cs: StorageCommitment[]) => ({ txs: [], newChunks: { chunkIds: ids, files: [], chunkCommitments: cs, repairedChunkSets: [] } });
  const wrongShort = wrong.storerKey.id.slice(0, 16);
  t.is(await check(block, withSet([ch]), signal), null, 'the honest committer alone passes');
  const verdict = await check(block, withSet([ch, cw]), signal);
  t.regex(verdict ?? '', new RegExp(`storer ${wrongShort}: seal proof refused`), 'with the wrong sealer beside it the block is not vouched for, whichever the check drew first');
  t.truthy(refusals.refused(cw), 'the refusal is recorded for the commitment');
  t.truthy(refusals.refusedStorer(cw.storerId), 'and for the storer, which proposals no longer take as a committer');
  t.is(refusals.refusedStorer(ch.storerId), undefined, 'the honest storer is not recorded');
  await wrong.storer.close();
  t.regex((await check(block, withSet([cw, ch]), signal)) ?? '', /refused earlier/, 'a block carrying it again is refused from the record, the storer not asked (it is down)');
  // A committer that does not answer is an outage: the honest one's proof carries the set (perFile 1).
  const fresh = createStorageCheck({ ledger, logger: silentLogger, timeoutMs: 5_000, provenForMs: 0 });
  t.is(await fresh(block, withSet([ch, cw]), signal), null, 'a node that never saw the wrong sealer\'s proof (it is down now) passes on the honest proof');
});
