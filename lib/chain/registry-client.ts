// The storer registry of a seed round read from consensus nodes over gRPC (lib/chain/storer-registry.ts
// has the rule and the proof checks): storers and gateways use this so that they weigh storers exactly
// as the ledger does. A node that does not have the round yet (NOT_FOUND: it lags) or is down is skipped
// for the next; a round just finalized elsewhere is retried briefly.
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { ConsensusServiceClient, type GetStateProofResponse } from '../../gen/wolk/consensus/v1/consensus.js';
import { RemoteStorerRegistry, type StorerRegistry } from './storer-registry.js';

export interface ChainRegistry {
  at(round: number, seed?: Uint8Array): Promise<StorerRegistry>;
  close(): void;
}

export function chainRegistry(endpoints: readonly string[], o: { timeoutMs?: number; attempts?: number } = {}): ChainRegistry {
  const clients = endpoints.map((e) => ({ endpoint: e, client: new ConsensusServiceClient(e, credentials.createInsecure(), { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 2000 }) }));
  const timeoutMs = o.timeoutMs ?? 5000;
  const attempts = o.attempts ?? 5;
  let preferred = 0;
  const one = (c: ConsensusServiceClient, key: Uint8Array, round: number) =>
    new Promise<GetStateProofResponse>((resolve, reject) =>
      c.getStateProof({ key: Buffer.from(key), round: BigInt(round) }, new Metadata(), { deadline: Date.now() + timeoutMs }, (err: ServiceError | null, res) => (err ? reject(err) : resolve(res))),
    );
  const getStateProof = async (key: Uint8Array, round: number): Promise<GetStateProofResponse> => {
    const errors: string[] = [];
    for (let attempt = 0; attempt < attempts; attempt++) {
      for (let i = 0; i < clients.length; i++) {
        const idx = (preferred + i) % clients.length;
        const { endpoint, client } = clients[idx]!;
        try {
          const res = await one(client, key, round);
          preferred = idx;
          return res;
        } catch (err) {
          errors.push(`${endpoint}: ${(err as ServiceError).details ?? (err as Error).message}`);
        }
      }
      await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
    }
    throw new Error(`no consensus node proved the registry at round ${round} (${errors.slice(-clients.length).join('; ') || 'none configured'})`);
  };
  const remote = new RemoteStorerRegistry(getStateProof);
  return {
    at: (round, seed) => remote.at(round, seed),
    close: () => clients.forEach((c) => c.client.close()),
  };
}
