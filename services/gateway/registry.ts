// Which storers exist, their keys, stake and endpoints: the chain's registry of a request's seed round
// (consensus, proofs checked: genesis storers and those registered since, with the endpoints of their
// node records), the genesis file (WOLK_GENESIS) without consensus, plus the configured storers
// (WOLK_STORERS and the targets of WOLK_STORERS_SRV, read at each request; GetInfo names the id behind each).
import type { Genesis } from '../../lib/chain/genesis.js';
import type { ChainRegistry } from '../../lib/chain/registry-client.js';
import { fromHex } from '../../lib/crypto/hash.js';
import { unaryCall } from '../../lib/grpc/client.js';
import { toEndpoints, type EndpointsLike } from '../../lib/net/endpoints.js';
import type { Clients } from './rpc.js';

export interface StorerEntry {
  readonly id: string; // hex
  readonly vrfPublicKey?: Uint8Array;
  readonly stake?: bigint;
  endpoint: string;
}

export interface Registry {
  /** Endpoints to send store requests to (now: the configured ones follow DNS with WOLK_STORERS_SRV). */
  readonly endpoints: readonly string[];
  readonly totalStake: bigint;
  readonly expectedStorers: number;
  byId(idHex: string): StorerEntry | undefined;
  /**
   * Storer weights for a request on the seed of `round` (lib/chain/storer-registry.ts): stake ×
   * reputation as of that round, read from consensus with proofs; the genesis stakes without consensus.
   */
  weightsAt(round: bigint, seed: Uint8Array): Promise<Weights>;
  /** Resolves ids behind endpoints not in the genesis (GetInfo), once. */
  endpointOf(idHex: string, signal?: AbortSignal): Promise<string | undefined>;
}

/** The storers of one seed round: the sortition denominator, each storer's key and weight, where to reach them. */
export interface Weights {
  readonly totalStake: bigint;
  /** A storer's VRF key and weight at that round; undefined when it is not a storer then. */
  lookup(idHex: string): { readonly vrfPublicKey: Uint8Array; readonly stake: bigint } | undefined;
  /** Endpoints to solicit: the configured ones and every storer of the round with a weight. */
  readonly endpoints: readonly string[];
}

export function createRegistry(clients: Clients, genesis: Genesis | undefined, storerEndpoints: EndpointsLike, expectedDefault: number, chain?: ChainRegistry): Registry {
  const storers = toEndpoints(storerEndpoints);
  const byId = new Map<string, StorerEntry>();
  let totalStake = 0n;
  for (const n of genesis?.nodes ?? []) {
    if (!n.roles.includes('storer')) continue;
    byId.set(n.id, { id: n.id, vrfPublicKey: fromHex(n.vrfPublicKey), stake: BigInt(n.stake), endpoint: n.endpoint });
    totalStake += BigInt(n.stake);
  }
  const genesisEndpoints = [...byId.values()].map((e) => e.endpoint);
  // The configured storers now; without any (none set, or an SRV name not resolved yet), the genesis storers.
  const endpointsNow = () => {
    const configured = storers.current();
    return { configured: configured.length > 0, endpoints: configured.length > 0 ? configured : genesisEndpoints };
  };
  // Storers known only from chain records (registered after genesis, behind no configured endpoint):
  // with configured endpoints they are still solicited at their record endpoint, every time.
  const fromRecords = new Set<string>();
  let probed: Promise<void> | undefined;
  let probedList: readonly string[] | undefined;
  const probe = (signal?: AbortSignal) => {
    const { endpoints } = endpointsNow();
    // A changed list (DNS) is probed afresh.
    if (probedList !== endpoints) probed = undefined;
    probedList = endpoints;
    return (probed ??= Promise.all(
      endpoints.map(async (endpoint) => {
        try {
          const c = clients.storer(endpoint);
          const info = await unaryCall(c.getInfo.bind(c), {}, { endpoint, timeoutMs: 2000, signal });
          const id = Buffer.from(info.storerId).toString('hex');
          const known = byId.get(id);
          if (known) known.endpoint = endpoint;
          else byId.set(id, { id, endpoint });
          fromRecords.delete(id);
        } catch {
          // unreachable now: asked again on a later miss
        }
      }),
    ).then(() => undefined));
  };
  return {
    get endpoints() {
      return endpointsNow().endpoints;
    },
    totalStake,
    expectedStorers: genesis?.params.storerCommitteeSize ?? expectedDefault,
    byId: (id) => byId.get(id),
    async weightsAt(round, seed) {
      const { configured, endpoints } = endpointsNow();
      if (!chain || round > BigInt(Number.MAX_SAFE_INTEGER)) {
        return {
          totalStake,
          lookup: (id) => {
            const e = byId.get(id);
            return e?.vrfPublicKey && e.stake !== undefined ? { vrfPublicKey: e.vrfPublicKey, stake: e.stake } : undefined;
          },
          endpoints,
        };
      }
      const reg = await chain.at(Number(round), seed);
      // Where to solicit: without configured storers, every storer of the round at its node record's
      // endpoint (UpdateNode may have moved it); with them, those endpoints plus the record endpoint of
      // each storer registered after genesis that none of them answered for.
      const all = new Set(configured ? endpoints : []);
      for (const s of reg.storers) {
        if (s.stake <= 0n) continue;
        const id = Buffer.from(s.id).toString('hex');
        const known = byId.get(id);
        if (configured && known && !fromRecords.has(id)) continue;
        if (known) known.endpoint = s.endpoint;
        else {
          byId.set(id, { id, endpoint: s.endpoint });
          if (configured) fromRecords.add(id);
        }
        all.add(s.endpoint);
      }
      return { totalStake: reg.totalWeight, lookup: (id) => reg.lookup(Buffer.from(id, 'hex')), endpoints: [...all] };
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
