// The rewarder and the repairer share the node's nonce sequence (services/rewards/tx-nonces.ts): picks made
// side by side never collide, a refused transaction gives its nonce back, and a transaction the chain
// never took stops holding numbering after holdMs. The chain here is a mempool model at the SubmitTx
// boundary: a nonce below the account's is refused; a second transaction with a pending nonce is kept
// and contested (the first one in a block wins), as services/consensus/mempool.ts does.
import test from 'ava';
import type { SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { sharedNonces } from '../../../services/rewards/tx-nonces.js';

const SELF = new Uint8Array(32).fill(7);

function mempool() {
  let account = 0n;
  const pending = new Set<bigint>();
  let refuseNext = false;
  return {
    chain: {
      nonceOf: async (_id: Uint8Array) => (await Promise.resolve(), account),
      submit: async (stx: SignedTransaction) => {
        await Promise.resolve();
        const n = stx.tx!.nonce;
        if (refuseNext) {
          refuseNext = false;
          throw new Error('FAILED_PRECONDITION: refused');
        }
        if (n < account) throw new Error(`FAILED_PRECONDITION: nonce ${n} used`);
        pending.add(n);
        return new Uint8Array(32).fill(Number(n));
      },
    },
    /** A block includes the pending transactions that follow the account's nonce without a gap. */
    finalize() {
      while (pending.delete(account)) account++;
    },
    drop(n: bigint) {
      pending.delete(n);
    },
    refuseNext() {
      refuseNext = true;
    },
    get account() {
      return account;
    },
  };
}

const tx = (nonce: bigint): SignedTransaction => ({ tx: { sender: Buffer.from(SELF), nonce, fee: 0n, chainId: 'x', body: undefined }, signature: Buffer.alloc(64) });

test('the rewarder and the repairer picking side by side get distinct nonces, and all are included', async (t) => {
  const m = mempool();
  const s = sharedNonces({ self: SELF, chain: m.chain, holdMs: 60_000, now: () => 0 });
  const rewarder = s.forRewarder(m.chain);
  // Both read the chain at once (both see account nonce 0).
  const [rPick, repairId] = await Promise.all([rewarder.nonceOf(SELF), s.submitWith(tx)]);
  await rewarder.submit(tx(rPick));
  t.not(rPick, BigInt(repairId[0]!), 'the rewarder did not take the repair\'s nonce (the stand-in tx id is the nonce)');
  // Two more repairs while the rewarder holds a new pick.
  const r2 = await rewarder.nonceOf(SELF);
  const ids = await Promise.all([s.submitWith(tx), s.submitWith(tx)]);
  await rewarder.submit(tx(r2));
  t.is(ids.length, 2);
  m.finalize();
  t.is(m.account, 5n, 'five transactions, nonces 0..4 without a gap or a collision');
});

test('a refused repair gives its nonce back; a dropped transaction stops holding numbering after holdMs', async (t) => {
  const m = mempool();
  let now = 0;
  const s = sharedNonces({ self: SELF, chain: m.chain, holdMs: 1000, now: () => now });
  m.refuseNext();
  await t.throwsAsync(s.submitWith(tx), { message: /refused/ });
  const id = await s.submitWith(tx);
  t.is(id[0], 0, 'nonce 0 again after the refusal');
  m.finalize();
  t.is(m.account, 1n);
  // Nonce 1 is submitted, then dropped by the chain (never included).
  await s.submitWith(tx);
  m.drop(1n);
  const rewarder = s.forRewarder(m.chain);
  t.is(await rewarder.nonceOf(SELF), 2n, 'while held, numbering continues past it');
  await rewarder.submit(tx(2n));
  m.drop(2n);
  now += 1001;
  t.is(await rewarder.nonceOf(SELF), 1n, 'after holdMs, back to the chain\'s nonce');
});

test('submitting often does not keep a gap open: the hold runs from the chain nonce\'s last move', async (t) => {
  const m = mempool();
  let now = 0;
  const s = sharedNonces({ self: SELF, chain: m.chain, holdMs: 1000, now: () => now });
  await s.submitWith(tx); // nonce 0, then dropped by the chain: a gap
  m.drop(0n);
  const seen: number[] = [];
  // A repairer submitting every 300 ms: 1, 2, 3 wait behind the gap; once the chain has not moved for 1 s, 0 again.
  for (let i = 0; i < 4; i++) {
    now += 300;
    seen.push((await s.submitWith(tx))[0]!);
  }
  t.deepEqual(seen, [1, 2, 3, 0], 'numbering restarts at the chain\'s nonce 1000 ms after it last moved');
  m.finalize();
  t.is(m.account, 4n, 'the gap is filled and everything behind it is included');
  now += 300;
  t.is((await s.submitWith(tx))[0], 4, 'then numbering follows the chain again');
});
