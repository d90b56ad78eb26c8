// The reputation rule (DESIGN §6; design note "Tallying Punishment"): a storer that fails an audit keeps
// its balance, but its reputation (external valuation, NodeRecord.reputation_ppm) drops, and
// reputation scales the storer's weight in storer sortition, so a bad storer is chosen for fewer new files.
//
// Rule: an exponentially decayed success ratio, in integer parts per million so every node computes
// the same value.
//
//   s   = this audit's success ratio for the storer, in ppm:
//         s = floor(1e6 · (2·valid + unreachable) / (2·(valid + invalid + unreachable)))
//         A valid answer counts 1, an unreachable one (timeout, connection refused) counts 1/2, an
//         invalid proof (wrong branch, wrong signature) counts 0. Unreachable is only half a failure
//         because a timeout may be the network's or a lazy verifier's fault, not the storer's.
//   r'  = floor((r · (D − A) + s · A) / D),   A / D = 1 / 8
//         the old reputation decays by 1/8 towards this audit's ratio.
//
// Consequences (docs/rewards.md has the table): from full reputation, one audit in which every object
// timed out costs 6.25% (1_000_000 → 937_500); one all-invalid audit costs 12.5% (→ 875_000); ten
// all-invalid audits in a row leave ~26%; a storer that answers again recovers 1/8 of the gap per audit.
// An audit in which the storer had nothing to answer (total 0) leaves reputation unchanged.
//
// Sortition weight: effectiveStake = floor(stake · reputation_ppm / 1e6). Storer selection uses the
// effective stake as the storer's weight and the sum of effective stakes as the total, so halving a
// storer's reputation halves its expected share of new files; reputation 0 means never selected.

export const FULL_REPUTATION_PPM = 1_000_000;
/** Decay: A / D of the new observation enters the average each audit. */
export const REPUTATION_ALPHA_NUM = 1;
export const REPUTATION_ALPHA_DEN = 8;

export interface AuditCounts {
  readonly valid: number;
  readonly invalid: number;
  readonly unreachable: number;
}

function checkCount(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`reputation: ${name} must be a non-negative integer, got ${n}`);
}

function checkPpm(ppm: number): void {
  if (!Number.isInteger(ppm) || ppm < 0 || ppm > FULL_REPUTATION_PPM) throw new RangeError(`reputation: ppm must be an integer from 0 to ${FULL_REPUTATION_PPM}, got ${ppm}`);
}

/** This audit's success ratio in ppm (valid 1, unreachable 1/2, invalid 0), or null when nothing was audited. */
export function successRatioPpm(c: AuditCounts): number | null {
  checkCount('valid', c.valid);
  checkCount('invalid', c.invalid);
  checkCount('unreachable', c.unreachable);
  const total = c.valid + c.invalid + c.unreachable;
  if (total === 0) return null;
  return Number((BigInt(2 * c.valid + c.unreachable) * BigInt(FULL_REPUTATION_PPM)) / BigInt(2 * total));
}

/** The reputation after one audit (the rule above). */
export function nextReputation(currentPpm: number, c: AuditCounts): number {
  checkPpm(currentPpm);
  const s = successRatioPpm(c);
  if (s === null) return currentPpm;
  const num = BigInt(currentPpm) * BigInt(REPUTATION_ALPHA_DEN - REPUTATION_ALPHA_NUM) + BigInt(s) * BigInt(REPUTATION_ALPHA_NUM);
  return Number(num / BigInt(REPUTATION_ALPHA_DEN));
}

/** A storer's sortition weight: its stake scaled by its reputation. */
export function effectiveStake(stake: bigint, reputationPpm: number): bigint {
  checkPpm(reputationPpm);
  if (stake < 0n) throw new RangeError(`reputation: stake must be >= 0, got ${stake}`);
  return (stake * BigInt(reputationPpm)) / BigInt(FULL_REPUTATION_PPM);
}

/** Registry entries → their effective stakes and the total (the storer sortition denominator). */
export function effectiveRegistry<T extends { readonly stake: bigint; readonly reputationPpm: number }>(
  nodes: readonly T[],
): { nodes: (T & { readonly effectiveStake: bigint })[]; totalStake: bigint } {
  let total = 0n;
  const out = nodes.map((n) => {
    const e = effectiveStake(n.stake, n.reputationPpm);
    total += e;
    return { ...n, effectiveStake: e };
  });
  return { nodes: out, totalStake: total };
}
