// GET /status: the processes this gateway knows (from its configuration) and whether each answers
// SERVING on gRPC health right now.
import { checkHealth, type HealthState } from '../../lib/grpc/health-client.js';

export interface KnownProcess {
  readonly role: 'consensus' | 'storer' | 'indexer' | 'rewards';
  readonly endpoint: string;
}

export interface ProcessStatus extends KnownProcess {
  readonly health: HealthState;
}

export async function probeAll(processes: readonly KnownProcess[], timeoutMs = 3000): Promise<ProcessStatus[]> {
  return Promise.all(processes.map(async (p) => ({ ...p, health: await checkHealth(p.endpoint, '', timeoutMs) })));
}
