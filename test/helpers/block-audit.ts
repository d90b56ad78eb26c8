// The audit of one block's storers on a devnet, for e2e tests: the finalized Reward of audited round
// `round` (rewards GetTally), or, when the devnet's one verifier was not selected for that Reward's round
// (it is in ~63 % of rounds) and its inclusion window has passed, the same audit run on demand (Tally,
// not submitted) against the same storers. Returns the storer's tally and the number of objects it is
// responsible for in that block (lib/chain/reward.ts auditObjects of the block's NewChunks).
import type { ConsensusServiceClient } from '../../gen/wolk/consensus/v1/consensus.js';
import type { StorerTally } from '../../gen/wolk/common/v1/tx.js';
import type { RewardsServiceClient } from '../../gen/wolk/rewards/v1/rewards.js';
import { auditObjects } from '../../lib/chain/reward.js';
import { unaryCall } from '../../lib/grpc/client.js';
import { DEVNET_PARAMS } from '../../scripts/devnet-plan.js';
import { pollUntil } from './poll.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export interface BlockAudit {
  /** The storer's tally in the audit of the block (null: the audit did not tally it). */
  readonly tally: StorerTally | null;
  /** Its objects in the block: what a full audit of it tallies. */
  readonly objects: number;
  /** Whether the tally is the finalized Reward's (else the audit was run on demand). */
  readonly finalized: boolean;
}

export async function auditOfBlock(consensus: ConsensusServiceClient, rewards: RewardsServiceClient, round: number, storerHex: string): Promise<BlockAudit> {
  const block = (await unaryCall(consensus.getBlock.bind(consensus), { selector: { $case: 'round', value: BigInt(round) } }, { timeoutMs: 15_000 })).block!.block!;
  const objects = auditObjects(block.newChunks!).get(storerHex)?.objects.length ?? 0;
  const auditRound = round + DEVNET_PARAMS.auditDepth;
  const tip = async () => Number((await unaryCall(consensus.getStatus.bind(consensus), {}, { timeoutMs: 15_000 })).finalizedRound);
  const found = await pollUntil(
    async () => {
      const r = await unaryCall(rewards.getTally.bind(rewards), { auditedRound: BigInt(round) }, { timeoutMs: 15_000 }).catch(() => null);
      if (r?.finalized) return { tally: r.reward!.tallies.find((x) => hex(x.storerId) === storerHex) ?? null, finalized: true };
      return (await tip()) > auditRound + DEVNET_PARAMS.rewardMaxDelay ? { tally: null, finalized: false } : null;
    },
    { what: `the finalized Reward of block ${round}, or its inclusion window over`, deadlineMs: 240_000, intervalMs: 2000, until: (x) => x !== null, describe: () => 'not yet' },
  );
  if (found!.finalized) return { tally: found!.tally, objects, finalized: true };
  const dry = await unaryCall(rewards.tally.bind(rewards), { round: BigInt(auditRound), submit: false }, { timeoutMs: 120_000 });
  return { tally: dry.reward!.tallies.find((x) => hex(x.storerId) === storerHex) ?? null, objects, finalized: false };
}
