// Asks a gRPC server for its health (grpc.health.v1.Health/Check): what the devnet launcher, the
// gateway's /status and Kubernetes probes rely on.
import { credentials, makeClientConstructor, status, type CallOptions, type Client, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { unaryCall } from './client.js';
import { grpcCode } from './errors.js';
import { sleep } from './retry.js';

export type HealthState = 'SERVING' | 'NOT_SERVING' | 'UNKNOWN' | 'SERVICE_UNKNOWN' | 'UNREACHABLE';

const HealthClient = makeClientConstructor(healthService as Parameters<typeof makeClientConstructor>[0], 'grpc.health.v1.Health');

interface CheckClient extends Client {
  check(req: { service: string }, md: Metadata, opts: Partial<CallOptions>, cb: (err: ServiceError | null, res: { status: string | number } | undefined) => void): { cancel(): void };
}

const STATUS_NAMES: Record<number, HealthState> = { 0: 'UNKNOWN', 1: 'SERVING', 2: 'NOT_SERVING', 3: 'SERVICE_UNKNOWN' };

export async function checkHealth(endpoint: string, service = '', timeoutMs = 2000): Promise<HealthState> {
  const client = new HealthClient(endpoint, credentials.createInsecure()) as unknown as CheckClient;
  try {
    const res = await unaryCall(client.check.bind(client), { service }, { endpoint, timeoutMs });
    if (!res) return 'UNREACHABLE';
    const s = res.status;
    return typeof s === 'number' ? (STATUS_NAMES[s] ?? 'UNKNOWN') : (s as HealthState);
  } catch (err) {
    return grpcCode(err) === status.NOT_FOUND ? 'SERVICE_UNKNOWN' : 'UNREACHABLE';
  } finally {
    client.close();
  }
}

/** Polls until the endpoint answers SERVING or the time is up. */
export async function waitForServing(endpoint: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && !signal?.aborted) {
    if ((await checkHealth(endpoint, '', 1000)) === 'SERVING') return true;
    await sleep(100, signal);
  }
  return false;
}
