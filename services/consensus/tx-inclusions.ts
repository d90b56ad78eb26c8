// Which recent finalized block included a transaction (GetTransaction). Nothing on disk indexes blocks
// by transaction id, so this node reads the blocks it finalized, each once, when a lookup needs them:
// on the first lookup the last `backfillRounds` rounds, then each round committed since the previous
// lookup. Bounded: at most `maxIds` ids are remembered, the oldest forgotten first.
import type { Block as PbBlock } from '../../gen/wolk/common/v1/chain.js';
import { txId } from '../../lib/chain/tx-bytes.js';

export interface InclusionSource {
  tip(): { readonly round: number };
  /** The finalized block of `round`; null when this node does not hold its body. */
  certifiedBlock(round: number): Promise<{ block: PbBlock } | null>;
  /** The round a node started from a checkpoint holds no bodies up to (null: none). */
  checkpointRound(): number | null;
}

export interface Inclusion {
  readonly round: number;
  readonly index: number;
}

export interface InclusionOptions {
  readonly backfillRounds: number;
  readonly maxIds: number;
}

export const DEFAULT_INCLUSIONS: InclusionOptions = { backfillRounds: 1024, maxIds: 200_000 };

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export class RecentInclusions {
  private readonly ids = new Map<string, Inclusion>();
  /** Every round up to this one has been read (null: nothing yet). */
  private through: number | null = null;
  private reading: Promise<void> = Promise.resolve();

  constructor(
    private readonly source: InclusionSource,
    private readonly options: InclusionOptions = DEFAULT_INCLUSIONS,
  ) {}

  /** The block that included `id` among the rounds this index covers, or undefined. */
  async lookup(id: Uint8Array): Promise<Inclusion | undefined> {
    await this.catchUp();
    return this.ids.get(hex(id));
  }

  /** The oldest round the index covers (for messages). */
  get from(): number {
    const tip = this.source.tip().round;
    return Math.max(1, tip - this.options.backfillRounds + 1, (this.source.checkpointRound() ?? 0) + 1);
  }

  private catchUp(): Promise<void> {
    // One reader at a time: lookups that arrive meanwhile wait for it, then find nothing left to read.
    // A failed read (a database error) fails that lookup only; the next one tries again.
    this.reading = this.reading.catch(() => undefined).then(async () => {
      const tip = this.source.tip().round;
      const start = Math.max(this.through === null ? 0 : this.through + 1, this.from);
      for (let round = start; round <= tip; round++) {
        const b = await this.source.certifiedBlock(round);
        for (const [index, stx] of (b?.block.txs ?? []).entries()) this.remember(hex(txId(stx)), { round, index });
        this.through = round;
      }
      if (this.through === null || this.through < tip) this.through = tip;
    });
    return this.reading;
  }

  private remember(key: string, at: Inclusion): void {
    if (this.ids.size >= this.options.maxIds) this.ids.delete(this.ids.keys().next().value!);
    this.ids.set(key, at);
  }
}
