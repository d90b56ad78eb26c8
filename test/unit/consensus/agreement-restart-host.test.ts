// Crash recovery through the production host (host.ts + chain-store.ts on RocksDB): the block a node
// votes for is on disk (header and payload, with its proposal-vote) before the vote leaves, a host
// started again on the same data directory hands it back to the core, which validates it again with
// the payload from disk; saved proposals of final rounds are pruned.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { Genesis } from '../../../lib/chain/genesis.js';
import { fromHex, sha256 } from '../../../lib/crypto/index.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { openRocksKv } from '../../../lib/storage/rocksdb.js';
import type { KvStore } from '../../../lib/storage/kv.js';
import { valueKey } from '../../../services/consensus/agreement/codec.js';
import { createAgreementCrypto } from '../../../services/consensus/agreement/crypto.js';
import { Step } from '../../../services/consensus/agreement/types.js';
import type { Gossip } from '../../../services/consensus/gossip.js';
import { AgreementHost } from '../../../services/consensus/host.js';
import { DEFAULT_BLOCK_LIMITS, Ledger } from '../../../services/consensus/ledger/ledger.js';
import { Mempool } from '../../../services/consensus/mempool.js';
import { agreementParams } from '../../../services/consensus/node.js';
import type { Peers } from '../../../services/consensus/peers.js';
import { proposalFromProto, voteFromProto } from '../../../services/consensus/wire.js';
import { makeNet } from './ledger-fixture.js';
import { pollUntil } from '../../helpers/poll.js';
import { logSeedOnFailure } from '../../helpers/seed.js';

// Its fixtures draw keys and data from the seeded test PRNG: a failure prints the seed that replays it.
logSeedOnFailure(test);

const LAMBDA = 50;

test('a voted block survives a restart of the host: saved before the vote, restored and validated again, pruned when final', async (t) => {
  const net = makeNet();
  const me = net.consensus[0]!;
  // Node 0 runs alone with most of the stake, but below a quorum: it proposes (its proposer weight is
  // ~9, so it is selected in all but ~1e-4 of runs), soft-votes its own block and never finalizes.
  const genesis: Genesis = { ...net.genesis, nodes: net.genesis.nodes.map((n) => (n.id === me.id ? { ...n, stake: '2600' } : n)) };
  const directory = new Map(net.consensus.map((k) => [k.id, { vrf: k.vrfPublicKey, sign: fromHex(k.id) }]));
  const crypto = createAgreementCrypto(
    { voterId: me.id, vrfSecretKey: me.vrfSecretKey, signSecretKey: me.signSecretKey },
    { vrfPublicKey: (v) => directory.get(v)?.vrf ?? null, signPublicKey: (v) => directory.get(v)?.sign ?? null },
  );
  const dir = mkdtempSync(join(tmpdir(), 'wolk-restart-host-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  const log: string[] = [];
  const open = async (): Promise<{ db: KvStore; ledger: Ledger; host: AgreementHost }> => {
    const db = await openRocksKv(join(dir, 'db'));
    const ledger = await Ledger.open({ kv: db, genesis, crypto: { hash: (...p: Uint8Array[]) => sha256(...p) } });
    const save = ledger.chain.saveProposal.bind(ledger.chain);
    ledger.chain.saveProposal = async (round, hash, p) => {
      await save(round, hash, p);
      log.push(`saved ${valueKey(hash)}`);
    };
    const gossip = {
      votes: (vs: Parameters<Gossip['votes']>[0]) => {
        for (const v of vs.map(voteFromProto)) log.push(`vote ${v.period}:${v.step} ${valueKey(v.value)}`);
      },
      bundle: () => {},
      proposal: () => {},
    } as unknown as Gossip;
    const peers = { endpoints: () => [] } as unknown as Peers;
    const host = new AgreementHost({
      ledger,
      crypto,
      params: agreementParams(genesis, LAMBDA),
      mempool: new Mempool(),
      gossip,
      peers,
      logger: silentLogger,
      maxBlockTxs: DEFAULT_BLOCK_LIMITS.maxTxs,
    });
    return { db, ledger, host };
  };

  // First life: the soft vote for its own block goes out only after the block is saved.
  const first = await open();
  await first.host.start();
  const softVote = (l: string) => l.startsWith(`vote 0:${Step.soft} `);
  await pollUntil(() => log.some(softVote), { what: 'its soft vote', deadlineMs: 10_000, intervalMs: 50, describe: () => log.join(' | ') });
  const soft = log.find(softVote)!;
  const value = soft.split(' ')[2]!;
  t.not(value, '');
  t.true(log.indexOf(`saved ${value}`) >= 0 && log.indexOf(`saved ${value}`) < log.indexOf(soft), log.join(' | '));
  // stop() resolves when the host's background work (assembly, validation, writes) has ended: the
  // database can close at once.
  await first.host.stop();
  await first.db.close();

  // On disk: the proposal with its block header and payload, for round 1.
  const second = await open();
  const saved = await second.ledger.chain.loadProposals(1);
  t.is(saved.length, 1);
  const { proposal, payload } = proposalFromProto(crypto, saved[0]!);
  t.is(valueKey(proposal.block.hash), value, 'the block hash recomputed from the saved header');
  t.deepEqual(await second.ledger.validate(proposal.block, payload), { valid: true }, 'the saved payload is the block\'s');

  // Second life on the same directory: the core gets the block back and the ledger validates it again
  // (its payload came from disk: without it validation fails), and the own soft vote is re-sent unchanged.
  log.length = 0;
  await second.host.start();
  await pollUntil(() => second.host.counters(), { what: 'the saved block to be restored', deadlineMs: 5_000, intervalMs: 50, until: (c) => c['blocks-restored'] === 1 });
  await pollUntil(() => log.some(softVote), { what: 'its soft vote re-sent', deadlineMs: 10_000, intervalMs: 50, describe: () => log.join(' | ') });
  t.deepEqual(log.filter(softVote), [`vote 0:${Step.soft} ${value}`]);
  const c = second.host.counters();
  t.is(c['drop.invalid-block'] ?? 0, 0, 'validated with the payload from disk');
  t.false(log.includes(`saved ${value}`), 'not written again');
  await second.host.stop();

  // Pruning: proposals of final rounds go, later ones stay.
  await second.ledger.chain.saveProposal(2, new Uint8Array(32).fill(2), saved[0]!);
  await second.ledger.chain.saveProposal(3, new Uint8Array(32).fill(3), saved[0]!);
  t.is(await second.ledger.chain.pruneProposals(2), 2);
  t.is((await second.ledger.chain.loadProposals(1)).length, 0);
  t.is((await second.ledger.chain.loadProposals(2)).length, 0);
  t.is((await second.ledger.chain.loadProposals(3)).length, 1);
  await second.db.close();
});
