// The design note's point, end to end on the real devnet (13 processes, one storer serving corrupted
// bytes on purpose): names are claimed, the chain moves on, and then a NEW consensus process with an
// empty data directory and nothing but the genesis file and WOLK_CHECKPOINT_FROM (a peer's latest
// certified block, whose certificate it checks) answers GetStateProof for those names. It has none of
// the blocks that wrote them: every state-tree node on the way comes from storers, checked by hash.
import test from 'ava';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NameRecord } from '../../gen/wolk/common/v1/state.js';
import { ConsensusServiceClient, type GetBlockResponse, type GetStateProofResponse, type GetStatusResponse, type SubmitTxResponse } from '../../gen/wolk/consensus/v1/consensus.js';
import { keyFromSeed } from '../../lib/client/keys.js';
import { checkCertificate, verifyProofResponse } from '../../lib/client/proof.js';
import { setNameTransaction, signTransaction } from '../../lib/client/tx.js';
import { pathStateKey } from '../../lib/chain/state-keys.js';
import { checkHealth } from '../../lib/grpc/health-client.js';
import { startDevnet } from '../helpers/devnet.js';
import { pollUntil } from '../helpers/poll.js';
import { freePort } from '../helpers/ports.js';
import { spawnService, waitForExit, waitForLog } from '../helpers/process.js';
import { logSeedOnFailure, testRandom } from '../helpers/seed.js';

/** Users' keys and names: seeded (test/helpers/seed.ts); the same on every run with the same WOLK_TEST_SEED. */
const seeded = testRandom('e2e/state-from-storers.test.ts');
logSeedOnFailure(test);

function call<R>(f: (md: Metadata, o: { deadline: number }, cb: (e: ServiceError | null, r: R) => void) => unknown, timeoutMs = 20_000): Promise<R> {
  return new Promise((resolve, reject) => f(new Metadata(), { deadline: Date.now() + timeoutMs }, (e, r) => (e ? reject(e) : resolve(r))));
}

test.serial('a consensus node started from a certified header alone proves old keys with state from storers', async (t) => {
  t.timeout(900_000);
  const dir = mkdtempSync(join(tmpdir(), 'wolk-devnet-sfs-'));
  const devnet = await startDevnet(dir, { WOLK_DEVNET_FAULTS: 'storer-1:corrupt-reads' });
  t.teardown(async () => {
    await devnet.stop();
  });
  const eps = devnet.endpoints();
  const genesis = JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8')) as { network: string };
  const peer = new ConsensusServiceClient(eps.consensus[0]!, credentials.createInsecure());
  t.teardown(() => peer.close());
  const round = async (c: ConsensusServiceClient) => Number((await call<GetStatusResponse>((md, o, cb) => c.getStatus({}, md, o, cb))).finalizedRound);

  // 1. Three users claim names.
  const users = [0, 1, 2].map(() => ({ key: keyFromSeed(new Uint8Array(seeded.bytes(32))), name: `sfs-${seeded.hex(4)}` }));
  for (const u of users) {
    const stx = signTransaction(setNameTransaction(u.name, u.key.publicKey, 0n, genesis.network), u.key);
    await call<SubmitTxResponse>((md, o, cb) => peer.submitTx({ tx: stx }, md, o, cb));
  }
  const proofs = await pollUntil(() => Promise.all(users.map((u) => call<GetStateProofResponse>((md, o, cb) => peer.getStateProof({ key: Buffer.from(pathStateKey(u.name)) }, md, o, cb)))), {
    what: 'the three names to be final and proven',
    deadlineMs: 300_000,
    intervalMs: 500,
    until: (ps) => ps.every((p, i) => {
      const v = verifyProofResponse(p, pathStateKey(users[i]!.name));
      return v.ok && v.value !== null;
    }),
    describe: (ps) =>
      ps
        .map((p, i) => {
          const v = verifyProofResponse(p, pathStateKey(users[i]!.name));
          return `${users[i]!.name} at round ${p.header?.round}: ${v.ok ? (v.value === null ? 'not set yet' : 'proven') : v.reason}`;
        })
        .join('; '),
  });
  const written = Number(proofs[0]!.header!.round);
  // 2. The chain moves on a few blocks, so the checkpoint is well past the blocks that wrote the names.
  const target = written + 4;
  await pollUntil(() => round(peer), { what: `the chain to finalize round ${target}`, deadlineMs: 300_000, intervalMs: 500, until: (r) => r >= target });

  // 3. A new consensus process: empty data dir, the genesis file, a checkpoint from a peer, and the peers to follow.
  const port = await freePort();
  const endpoint = `127.0.0.1:${port}`;
  const freshEnv = {
    WOLK_GENESIS: join(dir, 'genesis.json'),
    WOLK_DATA_DIR: mkdtempSync(join(tmpdir(), 'wolk-fresh-consensus-')),
    WOLK_LISTEN: endpoint,
    WOLK_CHECKPOINT_FROM: eps.consensus[0]!,
    WOLK_PEERS: eps.consensus.join(','),
    WOLK_LOG_LEVEL: 'info',
  };
  let fresh = spawnService('consensus', freshEnv);
  let exited = waitForExit(fresh, 900_000);
  t.teardown(async () => {
    fresh.kill('SIGTERM');
    const e = await exited.catch(() => undefined);
    if (e) t.log(`fresh node stderr (tail):\n${e.stderr.split('\n').slice(-30).join('\n')}`);
  });
  const started = await waitForLog(fresh, 'started from a checkpoint: state comes from storers', 240_000);
  const from = Number(started['round']);
  t.true(from >= target, `checkpoint round ${from} is at least ${target} (names written at ${written})`);
  const serving = () => pollUntil(() => checkHealth(endpoint), { what: `the fresh node at ${endpoint} to serve`, deadlineMs: 120_000, intervalMs: 500, until: (h) => h === 'SERVING' });
  await serving();
  const client = new ConsensusServiceClient(endpoint, credentials.createInsecure());
  t.teardown(() => client.close());

  // 4. GetStateProof at the checkpoint round: value, proof and certificate all check out.
  for (const u of users) {
    const key = pathStateKey(u.name);
    const res = await call<GetStateProofResponse>((md, o, cb) => client.getStateProof({ key: Buffer.from(key), round: BigInt(from) }, md, o, cb), 120_000);
    t.is(Number(res.header!.round), from);
    const check = verifyProofResponse(res, key);
    t.true(check.ok, check.ok ? '' : check.reason);
    if (check.ok) {
      t.truthy(check.value);
      const rec = NameRecord.decode(check.value!);
      t.is(rec.name, u.name);
      t.deepEqual(new Uint8Array(rec.owner), new Uint8Array(u.key.publicKey));
      t.true(Number(rec.round) <= written && Number(rec.round) < from, 'written blocks before the checkpoint');
    }
    t.true(checkCertificate(res.header!, res.certificate).ok, 'the certificate covers the header');
  }
  // A name nobody claimed: a verified non-membership proof.
  const none = pathStateKey(`sfs-none-${seeded.hex(4)}`);
  const absent = await call<GetStateProofResponse>((md, o, cb) => client.getStateProof({ key: Buffer.from(none) }, md, o, cb), 120_000);
  const a = verifyProofResponse(absent, none);
  t.true(a.ok && a.value === null);
  // The blocks before the checkpoint are not on this node.
  const err = await call<GetBlockResponse>((md, o, cb) => client.getBlock({ selector: { $case: 'round', value: BigInt(written) } }, md, o, cb)).catch((e: ServiceError) => e);
  t.is((err as ServiceError).code, status.NOT_FOUND);
  // Restarted on its data directory, it catches up from its checkpoint: StreamBlocks from a peer, each
  // block's certificate checked and the block executed on state fetched from storers.
  fresh.kill('SIGTERM');
  t.is((await exited).code, 0);
  await pollUntil(() => round(peer), { what: `the chain to finalize round ${from + 2}`, deadlineMs: 300_000, intervalMs: 500, until: (r) => r >= from + 2 });
  fresh = spawnService('consensus', freshEnv);
  exited = waitForExit(fresh, 900_000);
  // Caught up at start (StreamBlocks), or after it by following (GetBlock of the next round): either
  // way every block's certificate is checked and the block executed on state from storers.
  await serving();
  const client2 = new ConsensusServiceClient(endpoint, credentials.createInsecure());
  t.teardown(() => client2.close());
  const tip = await pollUntil(() => round(client2), { what: `the restarted node to reach round ${from + 2}`, deadlineMs: 240_000, intervalMs: 1000, until: (r) => r >= from + 2 });
  t.true(tip >= from + 2, `the restarted node reached round ${tip}, wanted ${from + 2}`);
  const key = pathStateKey(users[0]!.name);
  const res = await call<GetStateProofResponse>((md, o, cb) => client2.getStateProof({ key: Buffer.from(key) }, md, o, cb), 120_000);
  t.true(Number(res.header!.round) > from);
  const after = verifyProofResponse(res, key);
  t.true(after.ok && after.value !== null, 'after executing blocks past the checkpoint the name is still proven');
});
