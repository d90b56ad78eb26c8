// The storer registry a store request is weighed against (docs/rewards.md "Reputation in storer
// selection"). One rule for the storer (its own sortition), the gateway (checking commitments before
// the SetKey) and the ledger (checking them in the block), so that all three compute the same weight:
//
//   A store request names a finalized round s (seed_round) and uses seed(s). The registry for it is the
//   genesis storers, each with the stake and reputation_ppm of its node record IN THE STATE AFTER BLOCK s
//   (a finalized, immutable state every party can read: the ledger from its own tree, storers and
//   gateways by GetStateProof at round s, proofs checked against block s's header). Its sortition
//   weight is effectiveStake(stake, reputation_ppm) (lib/chain/reputation.ts); the denominator is the
//   sum of those weights. A Reward finalized after round s does not change this request's registry; it
//   applies to requests on later seeds.
//
// A genesis storer whose record at s lacks the storer role (or is missing) weighs 0.
import { NodeRecord, NodeRole } from '../../gen/wolk/common/v1/node.js';
import { AccountRecord } from '../../gen/wolk/common/v1/state.js';
import type { BlockHeader, SmtProof } from '../../gen/wolk/common/v1/chain.js';
import { verifyProofResponse } from '../client/proof.js';
import { sha256 } from '../crypto/hash.js';
import type { RegisteredStorer } from './commitment.js';
import { effectiveStake } from './reputation.js';

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const utf8 = new TextEncoder();

/** State key of an account: SHA-256("wolk/account/v1" ‖ 0x00 ‖ P) (state.proto). */
export function accountStateKey(publicKey: Uint8Array): Uint8Array {
  return sha256(utf8.encode('wolk/account/v1'), Uint8Array.of(0), publicKey);
}

export interface StorerRegistry {
  /** The round whose state it was read from. */
  readonly round: number;
  /** Sum of the storers' effective stakes: the sortition denominator. */
  readonly totalWeight: bigint;
  /** A storer's VRF key and effective stake, or undefined when it is not a registered storer at that round. */
  lookup(storerId: Uint8Array): RegisteredStorer | undefined;
}

/** The registry from the storers' node records at round s (same order as `ids`; undefined = no record). */
export function storerRegistryFrom(round: number, ids: readonly Uint8Array[], records: readonly (NodeRecord | undefined)[]): StorerRegistry {
  const byId = new Map<string, RegisteredStorer>();
  let total = 0n;
  ids.forEach((id, i) => {
    const n = records[i];
    if (!n || !n.roles.includes(NodeRole.NODE_ROLE_STORER)) return;
    const weight = effectiveStake(n.stake, n.reputationPpm);
    total += weight;
    byId.set(hex(id), { vrfPublicKey: new Uint8Array(n.vrfPublicKey), stake: weight });
  });
  return { round, totalWeight: total, lookup: (id) => byId.get(hex(id)) };
}

/** Reads the registry at round s from a state reader (the ledger's tree at block s's root). */
export async function storerRegistryFromState(round: number, ids: readonly Uint8Array[], get: (key: Uint8Array) => Promise<Uint8Array | null>): Promise<StorerRegistry> {
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
 * The registry read over the network (storers, gateways): one GetStateProof per genesis storer at
 * round s, each proof checked against the header of block s, the header's round checked, and when the
 * caller knows the seed it used, the header's seed too (a node that answers for another round or
 * chain is caught). Registries of recent rounds are cached; concurrent reads of one round share one fetch.
 */
export class RemoteStorerRegistry {
  private readonly cache = new Map<number, Promise<{ registry: StorerRegistry; seed: Uint8Array | null }>>();

  constructor(
    private readonly ids: readonly Uint8Array[],
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
    const records = await Promise.all(
      this.ids.map(async (id) => {
        const key = accountStateKey(id);
        const res = await this.getStateProof(key, round);
        const checked = verifyProofResponse(res, key);
        if (!checked.ok) throw new Error(`registry at round ${round}: ${checked.reason}`);
        if (Number(res.header!.round) !== round) throw new Error(`registry at round ${round}: the consensus node answered for round ${res.header!.round}`);
        seed = new Uint8Array(res.header!.seed);
        return checked.value === null ? undefined : AccountRecord.decode(checked.value).node;
      }),
    );
    return { registry: storerRegistryFrom(round, this.ids, records), seed };
  }
}
