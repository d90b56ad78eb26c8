// Which storers exist, their keys, stake and endpoints: from the genesis file (WOLK_GENESIS) until the
// on-chain registry is read, plus WOLK_STORERS endpoints (GetInfo names the id behind each).
import type { Genesis } from '../../lib/chain/genesis.js';
import type { ChainRegistry } from '../../lib/chain/registry-client.js';
import { fromHex } from '../../lib/crypto/hash.js';
import { unary, type Clients } from './rpc.js';

export interface StorerEntry {
  readonly id: string; // hex
  readonly vrfPublicKey?: Uint8Array;
  readonly stake?: bigint;
  endpoint: string;
}

export interface Registry {
  /** Endpoints to send store requests to. */
  readonly endpoints: readonly string[];
  readonly totalStake: bigint;
  readonly expectedStorers: number;
  byId(idHex: string): StorerEntry | undefined;
  /**
   * Storer weights for a request on the seed of `round` (lib/chain/storer-registry.ts): stake ×
   * reputation as of that round, read from consensus with proofs; the genesis stakes without consensus.
   */
  weightsAt(round: bigint, seed: Uint8Array): Promise<{ readonly totalStake: bigint; stakeOf(idHex: string): bigint | undefined }>;
  /** Resolves ids behind endpoints not in the genesis (GetInfo), once. */
  endpointOf(idHex: string, signal?: AbortSignal): Promise<string | undefined>;
}

export function createRegistry(clients: Clients, genesis: Genesis | undefined, storerEndpoints: readonly string[], expectedDefault: number, chain?: ChainRegistry): Registry {
  const byId = new Map<string, StorerEntry>();
  let totalStake = 0n;
  for (const n of genesis?.nodes ?? []) {
    if (!n.roles.includes('storer')) continue;
    byId.set(n.id, { id: n.id, vrfPublicKey: fromHex(n.vrfPublicKey), stake: BigInt(n.stake), endpoint: n.endpoint });
    totalStake += BigInt(n.stake);
  }
  const endpoints = storerEndpoints.length > 0 ? storerEndpoints : [...byId.values()].map((e) => e.endpoint);
  let probed: Promise<void> | undefined;
  const probe = (signal?: AbortSignal) =>
    (probed ??= Promise.all(
      endpoints.map(async (endpoint) => {
        try {
          const c = clients.storer(endpoint);
          const info = await unary(endpoint, c.getInfo.bind(c), {}, 2000, signal);
          const id = Buffer.from(info.storerId).toString('hex');
          const known = byId.get(id);
          if (known) known.endpoint = endpoint;
          else byId.set(id, { id, endpoint });
        } catch {
          // unreachable now: asked again on a later miss
        }
      }),
    ).then(() => undefined));
  return {
    endpoints,
    totalStake,
    expectedStorers: genesis?.params.storerCommitteeSize ?? expectedDefault,
    byId: (id) => byId.get(id),
    async weightsAt(round, seed) {
      if (!chain || round > BigInt(Number.MAX_SAFE_INTEGER)) return { totalStake, stakeOf: (id) => byId.get(id)?.stake };
      const reg = await chain.at(Number(round), seed);
      return { totalStake: reg.totalWeight, stakeOf: (id) => reg.lookup(Buffer.from(id, 'hex'))?.stake };
    },
    async endpointOf(id, signal) {
      const hit = byId.get(id);
      if (hit) return hit.endpoint;
      await probe(signal);
      if (!byId.has(id)) probed = undefined;
      return byId.get(id)?.endpoint;
    },
  };
}
