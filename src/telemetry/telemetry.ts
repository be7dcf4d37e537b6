/**
 * OpenTelemetry for the gateway and the worker. The exporter comes from the standard `OTEL_*`
 * variables (OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_TRACES_EXPORTER` asks for it), or
 * from the caller (tests pass an in-memory exporter). Without either nothing is started: no SDK,
 * no patched modules, no interceptors.
 */
import { createRequire } from 'node:module';
import { ProxyTracerProvider, trace } from '@opentelemetry/api';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK, resources } from '@opentelemetry/sdk-node';
import {
  BasicTracerProvider,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';

export interface TelemetryOptions {
  /** `service.name` of every span (`OTEL_SERVICE_NAME` wins, as the SDK reads it). */
  serviceName: string;
  /** Export here (each span as it ends) instead of what the environment says. */
  exporter?: SpanExporter;
  env?: NodeJS.ProcessEnv;
}

/** A started SDK; hand it to `startGateway` / `startWorker` as their `tracing` option. */
export interface Telemetry {
  /** The resource of this process's spans; workflow spans get it too. */
  resource: resources.Resource;
  /** The SDK's span processor; the worker's sink feeds it the spans made inside workflows. */
  spanProcessor: SpanProcessor;
  /** Flushes pending spans and stops the SDK; a collector that cannot be reached is reported, not thrown. */
  shutdown(): Promise<void>;
}

/** Paths nobody wants a trace of: probes and scrapes. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** Whether the environment asks for traces to be exported. */
export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').trim();
  if (exporters) return exporters !== 'none';
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Starts the SDK when there is somewhere to send spans; `undefined` otherwise. Once per process:
 * it registers the global tracer provider, context manager and propagator.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry | undefined {
  if (!options.exporter && !tracingConfigured(options.env)) return undefined;
  const sdk = new NodeSDK({
    resource: new resources.Resource({ 'service.name': options.serviceName }),
    // Without span processors the SDK builds them from OTEL_TRACES_EXPORTER and OTEL_EXPORTER_OTLP_*.
    ...(options.exporter ? { spanProcessors: [new SimpleSpanProcessor(options.exporter)] } : {}),
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.has((request.url ?? '').split('?')[0] ?? ''),
      }),
      // Node's fetch is undici, which the http instrumentation does not see: this one follows
      // undici's diagnostics channels, makes a client span in the caller's context (a child of
      // the running activity's span) and adds the traceparent header to the request.
      new UndiciInstrumentation(),
    ],
  });
  sdk.start();
  // The instrumentation patches `http` when it is next required; ESM imports never require it,
  // and express may have loaded it already, so require it once here.
  const require = createRequire(import.meta.url);
  require('http');
  require('https');

  const provider = trace.getTracerProvider();
  const delegate = provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider;
  if (!(delegate instanceof BasicTracerProvider)) {
    throw new Error('another OpenTelemetry tracer provider is registered in this process');
  }
  return {
    resource: delegate.resource,
    spanProcessor: delegate.getActiveSpanProcessor(),
    async shutdown() {
      // Losing the last spans must not turn a clean stop into a failed one.
      await sdk.shutdown().catch((err: unknown) => {
        process.stderr.write(`telemetry: could not flush the last spans: ${String(err)}\n`);
      });
    },
  };
}
