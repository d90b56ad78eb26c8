// Loaded with `node --import tsx --import ./lib/telemetry/preload.ts <entry>` by every service entry
// point. When tracing is on it registers OpenTelemetry's ESM loader hook and the tracer provider before
// the entry point imports grpc-js or http, which is what makes gRPC client spans appear (TOOLCHAIN.md).
import { register } from 'node:module';
import { basename, dirname } from 'node:path';
import { processEnvironment } from '../config/env.js';
import { initTracing, tracingEnabled } from './tracing.js';

const env = processEnvironment();
if (tracingEnabled(env)) {
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  const entry = process.argv[1] ?? 'wolk';
  // services/<name>/main.ts → wolk-<name>
  const service = basename(entry).startsWith('main.') ? basename(dirname(entry)) : basename(entry).replace(/\.[cm]?[jt]s$/, '');
  initTracing(env, `wolk-${service}`);
}
