// The reputation rule (lib/chain/reputation.ts): a decayed success ratio; one timeout costs little,
// repeated invalid proofs cost a lot, recovery is gradual; reputation scales the sortition weight.
import test from 'ava';
import { effectiveRegistry, effectiveStake, nextReputation, successRatioPpm } from '../../../lib/chain/reputation.js';

const FULL = 1_000_000;

test('one timeout costs 6.25%, one invalid proof 12.5%, and nothing audited changes nothing', (t) => {
  t.is(nextReputation(FULL, { valid: 0, invalid: 0, unreachable: 1 }), 937_500);
  t.is(nextReputation(FULL, { valid: 0, invalid: 1, unreachable: 0 }), 875_000);
  t.is(nextReputation(FULL, { valid: 9, invalid: 0, unreachable: 1 }), 993_750);
  t.is(nextReputation(FULL, { valid: 5, invalid: 0, unreachable: 0 }), FULL);
  t.is(nextReputation(600_000, { valid: 0, invalid: 0, unreachable: 0 }), 600_000);
  t.is(successRatioPpm({ valid: 1, invalid: 1, unreachable: 2 }), 500_000);
});

test('repeated failures compound; a single timeout among many successes is forgiven quickly', (t) => {
  let r = FULL;
  for (let i = 0; i < 10; i++) r = nextReputation(r, { valid: 0, invalid: 3, unreachable: 0 });
  t.true(r > 250_000 && r < 270_000, `ten invalid audits leave ${r}`);
  let timeouts = FULL;
  for (let i = 0; i < 10; i++) timeouts = nextReputation(timeouts, { valid: 0, invalid: 0, unreachable: 3 });
  t.true(timeouts > r, 'timeouts are punished less than invalid proofs');
  let s = nextReputation(FULL, { valid: 0, invalid: 0, unreachable: 1 });
  for (let i = 0; i < 10; i++) s = nextReputation(s, { valid: 1, invalid: 0, unreachable: 0 });
  t.true(s > 980_000, `recovered to ${s}`); // 62_500 · (7/8)^10 ≈ 16_445 short of full
  // Monotone in the outcome.
  t.true(nextReputation(800_000, { valid: 2, invalid: 0, unreachable: 0 }) > nextReputation(800_000, { valid: 1, invalid: 0, unreachable: 1 }));
  t.true(nextReputation(800_000, { valid: 1, invalid: 0, unreachable: 1 }) > nextReputation(800_000, { valid: 1, invalid: 1, unreachable: 0 }));
});

test('reputation scales sortition weight; bad inputs are refused', (t) => {
  t.is(effectiveStake(1000n, FULL), 1000n);
  t.is(effectiveStake(1000n, 500_000), 500n);
  t.is(effectiveStake(1000n, 0), 0n);
  const reg = effectiveRegistry([{ stake: 1000n, reputationPpm: FULL }, { stake: 1000n, reputationPpm: 250_000 }]);
  t.is(reg.totalStake, 1250n);
  t.is(reg.nodes[1]!.effectiveStake, 250n);
  t.throws(() => nextReputation(1_000_001, { valid: 1, invalid: 0, unreachable: 0 }), { instanceOf: RangeError });
  t.throws(() => nextReputation(FULL, { valid: -1, invalid: 0, unreachable: 0 }), { instanceOf: RangeError });
  t.throws(() => effectiveStake(-1n, FULL), { instanceOf: RangeError });
});
