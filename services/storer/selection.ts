// Who weighs what in storer self-selection (DESIGN §4 step 3): this storer's weight, the registry's total
// and the expected committee size τ. With a genesis and consensus (WOLK_CONSENSUS) the registry of a
// request is the one of its seed round (lib/chain/storer-registry.ts): the chain's storer set (genesis
// storers and those registered since) weighted by stake × reputation in the state after block seed_round, read by GetStateProof with the proofs checked
// against that block's header, so this storer weighs itself exactly as the gateway and the ledger
// will. With a genesis but no consensus, the genesis stakes at full reputation (its commitments are
// refused once a Reward has moved any storer's reputation). Without a genesis the storer runs as a registry of one: itself with WOLK_STAKE,
// against the request's total stake (or its own stake when the request gives none), with τ from the
// request (or WOLK_REPLICATION) — enough for a lone storer and tests; a verifier holding a real
// registry still checks every commitment against its own numbers.
import { nodesWithRole, type Genesis } from '../../lib/chain/genesis.js';
import { fromHex } from '../../lib/crypto/hash.js';
import type { RegisteredStorer } from '../../lib/chain/commitment.js';
import { failedPrecondition, unavailable } from '../../lib/grpc/errors.js';
import type { StorerRegistry } from '../../lib/chain/storer-registry.js';

export interface SelectionParams {
  readonly stake: bigint;
  readonly totalWeight: bigint;
  readonly expectedSize: number;
  readonly registry: 'chain' | 'genesis' | 'self';
}

export interface SelectionRequest {
  readonly totalStake: bigint;
  readonly expectedStorers: number;
  readonly seedRound: bigint;
  readonly seed: Uint8Array;
}

/** The registry of a seed round (lib/chain/storer-registry.ts RemoteStorerRegistry.at). */
export type RegistryAt = (round: number, seed: Uint8Array) => Promise<StorerRegistry>;

export interface Selection {
  /** Parameters for one store request; FAILED_PRECONDITION when the request's view contradicts ours. */
  paramsFor(request: SelectionRequest): Promise<SelectionParams>;
  /** Registry lookup for verifying commitments (genesis storers; or only this storer without a genesis). */
  lookup(storerId: Uint8Array): RegisteredStorer | undefined;
}

export function createSelection(genesis: Genesis | undefined, self: { idHex: string; vrfPublicKey: Uint8Array; stake: bigint }, replication: number, registryAt?: RegistryAt): Selection {
  if (genesis) {
    const { nodes, totalStake } = nodesWithRole(genesis, 'storer');
    const byId = new Map(nodes.map((n) => [n.id, { vrfPublicKey: fromHex(n.vrfPublicKey), stake: BigInt(n.stake) }]));
    const tau = genesis.params.storerCommitteeSize;
    const mine = byId.get(self.idHex);
    return {
      async paramsFor(request) {
        if (request.expectedStorers !== 0 && request.expectedStorers !== tau) {
          throw failedPrecondition(`expected_storers ${request.expectedStorers} differs from the registry's storer committee size ${tau}`);
        }
        if (registryAt) {
          // The chain's registry: genesis storers and those registered since (RegisterNode), by their
          // node records at the seed round.
          if (request.seedRound > BigInt(Number.MAX_SAFE_INTEGER)) throw failedPrecondition(`seed_round ${request.seedRound} is out of range`);
          let reg: StorerRegistry;
          try {
            reg = await registryAt(Number(request.seedRound), request.seed);
          } catch (err) {
            throw unavailable(`cannot read the storer registry of round ${request.seedRound}: ${(err as Error).message}`);
          }
          if (request.totalStake !== 0n && request.totalStake !== reg.totalWeight) {
            throw failedPrecondition(`total_stake ${request.totalStake} differs from the registry's total effective storer stake ${reg.totalWeight} at round ${request.seedRound}`);
          }
          if (reg.totalWeight === 0n) throw failedPrecondition(`no storer has any weight at round ${request.seedRound}`);
          const entry = reg.lookup(fromHex(self.idHex));
          if (!entry) throw failedPrecondition(`storer ${self.idHex} is not a registered storer at round ${request.seedRound} (register it with a RegisterNode transaction), so no commitment of it would be accepted`);
          if (Buffer.compare(Buffer.from(entry.vrfPublicKey), Buffer.from(self.vrfPublicKey)) !== 0) {
            throw failedPrecondition(`the chain registers another VRF key for storer ${self.idHex} than the one in its data directory`);
          }
          return { stake: entry.stake, totalWeight: reg.totalWeight, expectedSize: Math.min(tau, Number(reg.totalWeight)), registry: 'chain' };
        }
        if (!mine) throw failedPrecondition(`storer ${self.idHex} is not a storer in the genesis registry (WOLK_GENESIS), so no commitment of it would be accepted`);
        if (Buffer.compare(Buffer.from(mine.vrfPublicKey), Buffer.from(self.vrfPublicKey)) !== 0) {
          throw failedPrecondition(`the genesis registers another VRF key for storer ${self.idHex} than the one in its data directory`);
        }
        if (request.totalStake !== 0n && request.totalStake !== totalStake) {
          throw failedPrecondition(`total_stake ${request.totalStake} differs from the registry's total storer stake ${totalStake}`);
        }
        return { stake: mine.stake, totalWeight: totalStake, expectedSize: Math.min(tau, Number(totalStake)), registry: 'genesis' };
      },
      lookup: (id) => byId.get(Buffer.from(id).toString('hex')),
    };
  }
  return {
    async paramsFor(request) {
      const total = request.totalStake > 0n ? request.totalStake : self.stake;
      if (self.stake > total) throw failedPrecondition(`total_stake ${total} is below this storer's own stake ${self.stake}`);
      if (total === 0n) throw failedPrecondition('this storer has no stake (WOLK_STAKE=0) and the request gives no total_stake');
      const tau = request.expectedStorers > 0 ? request.expectedStorers : replication;
      return { stake: self.stake, totalWeight: total, expectedSize: Math.min(tau, Number(total)), registry: 'self' };
    },
    lookup: (id) => (Buffer.from(id).toString('hex') === self.idHex ? { vrfPublicKey: self.vrfPublicKey, stake: self.stake } : undefined),
  };
}
