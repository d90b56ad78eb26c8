// When tracing is turned on, every gRPC hop is recorded: a real service process
// started the way the devnet and the image start it (with the telemetry preload) writes its server
// spans, and the client side of its outgoing calls, to WOLK_TRACE_FILE.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkHealth } from '../../lib/grpc/health-client.js';
import { ROOT, waitForExit, waitForLog } from '../helpers/process.js';

function startTraced(env: Record<string, string>) {
  return spawn(process.execPath, ['--import', 'tsx', '--import', './lib/telemetry/preload.ts', 'services/storer/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, WOLK_LISTEN: '127.0.0.1:0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

interface SpanLine {
  name: string;
  kind: number;
  service: string;
  traceId: string;
}

test('with WOLK_TRACE_FILE set, a gRPC call to a service is recorded as a server span', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-trace-'));
  const traceFile = join(dir, 'spans.jsonl');
  const child = startTraced({ WOLK_DATA_DIR: join(dir, 'data'), WOLK_TRACE_FILE: traceFile, OTEL_SERVICE_NAME: 'wolk-storer-test' });
  const exit = waitForExit(child);
  const started = await waitForLog(child, 'started');
  t.is(await checkHealth(started['grpc'] as string, '', 10_000), 'SERVING');
  child.kill('SIGTERM');
  t.is((await exit).code, 0);
  const spans = readFileSync(traceFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SpanLine);
  const server = spans.find((s) => s.name === 'grpc.grpc.health.v1.Health/Check');
  t.truthy(server, `a span for the health check; got ${spans.map((s) => s.name).join(', ')}`);
  t.is(server?.kind, 1, 'SpanKind.SERVER');
  t.is(server?.service, 'wolk-storer-test');
  t.regex(server?.traceId ?? '', /^[0-9a-f]{32}$/);
});
