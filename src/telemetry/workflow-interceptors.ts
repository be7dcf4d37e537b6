/**
 * Workflow interceptors that trace runs: bundled into the workflow code (by path, see
 * `WORKFLOW_INTERCEPTORS_PATH`) only when a worker is started with tracing. They run inside the
 * workflow sandbox and hand finished spans to the worker's `exporter` sink.
 */
export { interceptors } from '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors.js';
