// The simulator's ledger: one per node, durable across simulated crashes (a commit is on "disk" the
// moment the action runs). Stake is static, so totalStake/stakeOf do not depend on recent blocks.
// Block bodies are opaque bytes; a body whose first byte is INVALID_MARK is one the ledger rejects
// (Byzantine proposers use it to stand in for a block whose storage proofs do not hold, DESIGN §4).
// A body whose first byte is MISSING_MARK is valid for the ledger, but the storage of one of its files
// is held by nobody: every honest node's storage check fails on it, always (the `storage-missing` fault).

import type { AgreementLedgerReader, Block, Certificate, Hash, LedgerTip, Round, VoterId } from '../../services/consensus/agreement/types.js';

export const INVALID_MARK = 0xee;
export const MISSING_MARK = 0xed;

/** What host.ts pushes back for a `validate` (or `recheck`) action. */
export interface SimVerdict {
  readonly valid: boolean;
  readonly vouched: boolean;
  readonly reason?: string;
}

export class SimLedger implements AgreementLedgerReader {
  private readonly blocks: Block[] = [];
  private readonly certs: Certificate[] = [];

  constructor(
    private readonly genesis: LedgerTip,
    private readonly stakes: ReadonlyMap<VoterId, bigint>,
    private readonly total: bigint,
  ) {}

  tip(): LedgerTip {
    const b = this.blocks[this.blocks.length - 1];
    return b === undefined ? this.genesis : { round: b.round, hash: b.hash, seed: b.seed };
  }

  height(): Round {
    return this.blocks.length;
  }

  totalStake(_round: Round): bigint {
    return this.total;
  }

  stakeOf(voter: VoterId, _round: Round): bigint {
    return this.stakes.get(voter) ?? 0n;
  }

  /** The ledger's verdict on a body (stands in for tx, state-root and storage-commitment checks). */
  validBody(body: Uint8Array): boolean {
    return body.length > 0 && body[0] !== INVALID_MARK;
  }

  /** Whether the block's files are held at all (a storage check can pass); false for MISSING_MARK bodies. */
  storageHeld(body: Uint8Array): boolean {
    return body[0] !== MISSING_MARK;
  }

  /**
   * The verdict as host.ts produces it: the ledger's validity first; only a valid block gets the
   * storage check (`checkPassed`: this node's attempt reached a storer that proved possession), and a
   * failed check makes it unvouched, never invalid. A block whose files nobody holds fails every check.
   */
  verdict(body: Uint8Array, checkPassed: boolean): SimVerdict {
    if (!this.validBody(body)) return { valid: false, vouched: true, reason: 'invalid body' };
    if (!this.storageHeld(body)) return { valid: true, vouched: false, reason: 'no storer proved possession (file missing)' };
    if (!checkPassed) return { valid: true, vouched: false, reason: 'no storer proved possession within the time box (transient)' };
    return { valid: true, vouched: true };
  }

  /** Appends a block; throws if it does not extend the tip (a bug in the core or the host). */
  commit(block: Block, cert: Certificate): void {
    const tip = this.tip();
    if (block.round !== tip.round + 1) throw new Error(`SimLedger.commit: round ${block.round} does not follow ${tip.round}`);
    if (!eqHash(block.prevHash, tip.hash)) throw new Error(`SimLedger.commit: block ${block.round} does not link to the tip`);
    this.blocks.push(block);
    this.certs.push(cert);
  }

  certified(round: Round): { block: Block; certificate: Certificate } | null {
    const b = this.blocks[round - 1];
    const c = this.certs[round - 1];
    return b === undefined || c === undefined ? null : { block: b, certificate: c };
  }

  blockAt(round: Round): Block | undefined {
    return this.blocks[round - 1];
  }
}

function eqHash(a: Hash, b: Hash): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
