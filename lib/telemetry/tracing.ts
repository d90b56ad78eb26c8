// OpenTelemetry tracing, off by default. Turned on by OTEL_TRACES_EXPORTER=otlp|console (standard
// OTEL_EXPORTER_OTLP_* variables configure otlp) or WOLK_TRACE_FILE (JSON lines, for tests and
// debugging). gRPC client and server spans come from the grpc instrumentation, HTTP spans from the
// http one; both need the ESM loader hook registered before grpc-js is imported (preload.ts).
import { appendFileSync } from 'node:fs';
import { trace, type Tracer } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { readEnv, readOption, type Environment } from '../config/env.js';

/** Writes each finished span as one JSON line, synchronously, so nothing is lost if the process dies. */
export class JsonLinesSpanExporter implements SpanExporter {
  constructor(private readonly path: string) {}
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    try {
      const lines = spans.map((s) =>
        JSON.stringify({
          traceId: s.spanContext().traceId,
          spanId: s.spanContext().spanId,
          parentSpanId: s.parentSpanContext?.spanId,
          name: s.name,
          kind: s.kind,
          service: s.resource.attributes['service.name'],
          startTime: s.startTime,
          endTime: s.endTime,
          status: s.status,
          attributes: s.attributes,
        }),
      );
      appendFileSync(this.path, lines.join('\n') + '\n');
      done({ code: ExportResultCode.SUCCESS });
    } catch (error) {
      done({ code: ExportResultCode.FAILED, error: error as Error });
    }
  }
  async shutdown(): Promise<void> {}
}

export function tracingEnabled(env: Environment): boolean {
  return readOption(env, 'OTEL_TRACES_EXPORTER') !== 'none' || readEnv(env, 'WOLK_TRACE_FILE') !== undefined;
}

let provider: NodeTracerProvider | undefined;

/** Sets up tracing when enabled; returns whether it did. Call before grpc-js or http are imported. */
export function initTracing(env: Environment, serviceName: string): boolean {
  if (provider || !tracingEnabled(env)) return provider !== undefined;
  const processors: SpanProcessor[] = [];
  const exporter = readOption(env, 'OTEL_TRACES_EXPORTER');
  if (exporter === 'otlp') processors.push(new BatchSpanProcessor(new OTLPTraceExporter()));
  if (exporter === 'console') processors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
  const file = readEnv(env, 'WOLK_TRACE_FILE');
  if (file) processors.push(new SimpleSpanProcessor(new JsonLinesSpanExporter(file)));
  provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': readEnv(env, 'OTEL_SERVICE_NAME') ?? serviceName }),
    spanProcessors: processors,
  });
  provider.register();
  registerInstrumentations({ instrumentations: [new GrpcInstrumentation(), new HttpInstrumentation()] });
  return true;
}

/** Flushes and stops tracing (on shutdown). */
export async function shutdownTracing(): Promise<void> {
  if (!provider) return;
  const p = provider;
  provider = undefined;
  await p.shutdown();
}

/** The tracer for Wolk's own spans (e.g. the gateway's upload phases). A no-op tracer when off. */
export function wolkTracer(): Tracer {
  return trace.getTracer('wolk');
}
