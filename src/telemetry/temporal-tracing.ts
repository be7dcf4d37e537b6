/**
 * The Temporal SDK's OpenTelemetry interceptors, wired for our client and worker. The trace
 * context travels in Temporal headers: client → workflow → each activity.
 */
import { fileURLToPath } from 'node:url';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  makeWorkflowExporter,
  type OpenTelemetrySinks,
} from '@temporalio/interceptors-opentelemetry';
import type { ClientInterceptors } from '@temporalio/client';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type { Telemetry } from './telemetry.js';

/** The workflow interceptors module, bundled into the traced workflow bundle (`src/worker/workflow-bundles.ts`). */
export const WORKFLOW_INTERCEPTORS_PATH = fileURLToPath(new URL('./workflow-interceptors.js', import.meta.url));

/** Interceptors for a `Client` that starts runs: a `StartWorkflow` span whose context the run inherits. */
export function clientTracing(): ClientInterceptors {
  return { workflow: [new OpenTelemetryWorkflowClientInterceptor()] };
}

/**
 * What a worker needs to trace besides a traced workflow bundle (which contains the workflow
 * interceptors): the activity interceptors, and the sink that exports the spans made inside workflows.
 */
export function workerTracing(telemetry: Telemetry): {
  activity: ActivityInterceptorsFactory[];
  sinks: InjectedSinks<OpenTelemetrySinks>;
} {
  return {
    activity: [
      (ctx) => ({
        inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
        outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
      }),
    ],
    // Workflow code cannot reach the exporter; its interceptors send finished spans here.
    sinks: { exporter: makeWorkflowExporter(telemetry.spanProcessor, telemetry.resource) },
  };
}
