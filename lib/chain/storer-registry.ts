// The storer registry a store request is weighed against (docs/rewards.md "Reputation in storer
// selection"). One rule for the storer (its own sortition), the gateway (checking commitments before
// the SetKey) and the ledger (checking them in the block), so that all three compute the same weight:
//
//   A store request names a finalized round s (seed_round) and uses seed(s). The registry for it is the
//   storer set IN THE STATE AFTER BLOCK s (state key STORER_SET_KEY, lib/chain/state-keys.ts: every
//   account whose node record has the storer role, genesis storers and those registered since),
//   each with the stake and reputation_ppm of its node record in that state (a finalized, immutable
//   state every party can read: the ledger from its own tree, storers and gateways by GetStateProof
//   at round s, proofs checked against block s's header). Its sortition weight is
//   effectiveStake(stake, reputation_ppm) (lib/chain/reputation.ts); the denominator is the sum of those weights. A Reward, RegisterNode or
//   UpdateNode finalized after round s does not change this request's registry; it applies to
//   requests on later seeds.
//
// A listed storer whose record at s lacks the storer role (or is missing) weighs 0.
import { NodeRecord, NodeRole } from '../../gen/wolk/common/v1/node.js';
import { AccountRecord, StorerSet } from '../../gen/wolk/common/v1/state.js';
import type { BlockHeader, SmtProof } from '../../gen/wolk/common/v1/chain.js';
import { verifyProofResponse } from '../client/proof.js';
import type { RegisteredStorer } from './commitment.js';
import { accountStateKey, STORER_SET_KEY } from './state-keys.js';
import { effectiveStake } from './reputation.js';

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** A storer of the registry: its id, VRF key, effective stake (sortition weight) and gRPC endpoint. */
export interface RegistryEntry extends RegisteredStorer {
  readonly id: Uint8Array;
  readonly endpoint: string;
}

export interface StorerRegistry {
  /** The round whose state it was read from. */
  readonly round: number;
  /** Sum of the storers' effective stakes: the sortition denominator. */
  readonly totalWeight: bigint;
  /** Every storer with the storer role, in the set's order (ascending id); weight 0 at reputation 0. */
  readonly storers: readonly RegistryEntry[];
  /** A storer's VRF key and effective stake, or undefined when it is not a registered storer at that round. */
  lookup(storerId: Uint8Array): RegistryEntry | undefined;
}

/** The storer set's ids from its encoded state value (null = no set: no storers). */
export function decodeStorerSet(value: Uint8Array | null): Uint8Array[] {
  if (value === null) return [];
  return StorerSet.decode(value).storerIds.map((b) => new Uint8Array(b));
}

/**
 * The storer set with `id` added (isStorer) or removed, ascending and without duplicates; null when
 * nothing changes. What RegisterNode, UpdateNode and genesis write under STORER_SET_KEY.
 */
export function updatedStorerSet(ids: readonly Uint8Array[], id: Uint8Array, isStorer: boolean): Uint8Array[] | null {
  const k = hex(id);
  const at = ids.findIndex((x) => hex(x) === k);
  if (isStorer === at >= 0) return null;
  const next = isStorer ? [...ids, id] : ids.filter((_, i) => i !== at);
  return next.sort((a, b) => Buffer.compare(a, b));
}

/** The encoded StorerSet for `ids` (sorted here, so that every node writes the same bytes). */
export function encodeStorerSet(ids: readonly Uint8Array[]): Uint8Array {
  const sorted = [...ids].sort((a, b) => Buffer.compare(a, b));
  return StorerSet.encode({ storerIds: sorted.map((b) => Buffer.from(b)) }).finish();
}

/** The registry from the storers' node records at round s (same order as `ids`; undefined = no record). */
export function storerRegistryFrom(round: number, ids: readonly Uint8Array[], records: readonly (NodeRecord | undefined)[]): StorerRegistry {
  const byId = new Map<string, RegistryEntry>();
  const storers: RegistryEntry[] = [];
  let total = 0n;
  ids.forEach((id, i) => {
    const n = records[i];
    if (!n || !n.roles.includes(NodeRole.NODE_ROLE_STORER)) return;
    const weight = effectiveStake(n.stake, n.reputationPpm);
    if (byId.has(hex(id))) return;
    total += weight;
    const entry: RegistryEntry = { id: new Uint8Array(id), vrfPublicKey: new Uint8Array(n.vrfPublicKey), stake: weight, endpoint: n.endpoint };
    byId.set(hex(id), entry);
    storers.push(entry);
  });
  return { round, totalWeight: total, storers, lookup: (id) => byId.get(hex(id)) };
}

/** Reads the registry at round s from a state reader (the ledger's tree at block s's root). */
export async function storerRegistryFromState(round: number, get: (key: Uint8Array) => Promise<Uint8Array | null>): Promise<StorerRegistry> {
  const ids = decodeStorerSet(await get(STORER_SET_KEY));
  const records = await Promise.all(
    ids.map(async (id) => {
      const b = await get(accountStateKey(id));
      return b === null ? undefined : AccountRecord.decode(b).node;
    }),
  );
  return storerRegistryFrom(round, ids, records);
}

/** What a GetStateProof answer carries (ConsensusService). */
export interface StateProofAnswer {
  readonly proof?: SmtProof | undefined;
  readonly header?: BlockHeader | undefined;
}

/**
 * The registry read over the network (storers, gateways): a GetStateProof of the storer set at round
 * s, then one per storer in it, each proof checked against the header of block s, the header's round checked, and when the
 * caller knows the seed it used, the header's seed too (a node that answers for another round or
 * chain is caught). Registries of recent rounds are cached; concurrent reads of one round share one fetch.
 */
export class RemoteStorerRegistry {
  private readonly cache = new Map<number, Promise<{ registry: StorerRegistry; seed: Uint8Array | null }>>();

  constructor(
    private readonly getStateProof: (key: Uint8Array, round: number) => Promise<StateProofAnswer>,
    private readonly keep = 32,
  ) {}

  async at(round: number, seed?: Uint8Array): Promise<StorerRegistry> {
    let p = this.cache.get(round);
    if (!p) {
      p = this.read(round);
      this.cache.set(round, p);
      p.catch(() => this.cache.delete(round));
      while (this.cache.size > this.keep) this.cache.delete(this.cache.keys().next().value!);
    }
    const got = await p;
    if (seed !== undefined && got.seed !== null && hex(got.seed) !== hex(seed)) {
      throw new Error(`the seed given is not the seed of block ${round} (by the consensus node's header)`);
    }
    return got.registry;
  }

  private async read(round: number): Promise<{ registry: StorerRegistry; seed: Uint8Array | null }> {
    let seed: Uint8Array | null = null;
    const proven = async (key: Uint8Array, what: string): Promise<Uint8Array | null> => {
      const res = await this.getStateProof(key, round);
      const checked = verifyProofResponse(res, key);
      if (!checked.ok) throw new Error(`registry at round ${round}: ${what}: ${checked.reason}`);
      if (Number(res.header!.round) !== round) throw new Error(`registry at round ${round}: the consensus node answered for round ${res.header!.round}`);
      const s = new Uint8Array(res.header!.seed);
      if (seed !== null && hex(seed) !== hex(s)) throw new Error(`registry at round ${round}: the consensus nodes answered with two different headers`);
      seed = s;
      return checked.value;
    };
    const ids = decodeStorerSet(await proven(STORER_SET_KEY, 'the storer set'));
    const records = await Promise.all(
      ids.map(async (id) => {
        const value = await proven(accountStateKey(id), `storer ${hex(id).slice(0, 16)}`);
        return value === null ? undefined : AccountRecord.decode(value).node;
      }),
    );
    return { registry: storerRegistryFrom(round, ids, records), seed };
  }
}
