/**
 * `npm run worker`: the generic workflow and the connectors. `--queues a,b` (or
 * `WEFT_WORKER_QUEUES`) serves only those task queues, one SDK worker each: workflow tasks and
 * every activity on the main queue (`TEMPORAL_TASK_QUEUE`) when it is listed, only activities on
 * the others (the pools `WEFT_CONNECTOR_QUEUES` routes connectors to). Without either it serves
 * the main queue and every routed queue.
 */
import { parseArgs } from 'node:util';
import { Connection } from '@temporalio/client';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { ensureSearchAttributes } from '../temporal/register-search-attributes.js';
import { openDefinitionStore } from '../store/open-store.js';
import { installRuntime, startWorker } from '../worker/create-worker.js';
import { serveMetrics } from '../metrics/serve-metrics.js';
import { createWorkerMetrics } from '../metrics/worker-metrics.js';
import { startTelemetry } from '../telemetry/telemetry.js';
import { codecFromKeys } from '../codec/data-converter.js';
import { storeConnectionSource } from '../connections/connection-source.js';
import { processMemoryBudget } from '../../activities/memory-budget.js';
import { parseWorkerQueues, servedQueues } from '../shared/connector-queues.js';

const config = loadConfig();
const logger = createLogger('worker', config.logLevel);

/** `--queues` over `WEFT_WORKER_QUEUES`; a mistake in either stops the worker, naming it. */
function givenQueues(): string[] | undefined {
  try {
    const { values } = parseArgs({ options: { queues: { type: 'string' } }, strict: true });
    return values.queues === undefined ? config.workerQueues : parseWorkerQueues(values.queues);
  } catch (err) {
    process.stderr.write(`weft worker: --queues: ${(err as Error).message}\n`);
    process.exit(2);
  }
}
const queues = servedQueues(config.taskQueue, config.connectorQueues, givenQueues());
// Off (no SDK at all) unless the OTEL_* variables name an exporter.
const tracing = startTelemetry({ serviceName: 'weft-worker' });

// Against an existing server (not our dev server) the search attributes may be missing.
const connection = await Connection.connect({ address: config.temporalAddress, tls: config.temporalTls });
try {
  await ensureSearchAttributes(connection, config.namespace);
} catch (err) {
  logger.warn({ err }, 'could not register search attributes; runs may fail to start until they exist');
} finally {
  await connection.close();
}

// The SDK shuts the worker down gracefully on SIGINT/SIGTERM; `done` settles after that.
// Subworkflow nodes read the definitions the gateway stored, from the same store.
const definitions = await Promise.resolve(openDefinitionStore(config.databaseUrl));
const metrics = config.workerMetricsPort === undefined ? undefined : createWorkerMetrics({ processMetrics: true });
installRuntime(config.workerSdkMetricsPort === undefined ? {} : { sdkMetricsPort: config.workerSdkMetricsPort });
const workers = await Promise.all(
  queues.map((taskQueue) =>
    startWorker({
      address: config.temporalAddress,
      ...(config.temporalTls ? { tls: config.temporalTls } : {}),
      namespace: config.namespace,
      taskQueue,
      // A pool's queue gets connector and AI calls only; the runs' workflow tasks stay on the main one.
      activitiesOnly: taskQueue !== config.taskQueue,
      definitions,
      // Named connections: read from the same store, their secret settings opened with the gateway's key.
      activityDeps: { connections: storeConnectionSource(definitions.connections, config.connectionKey) },
      logger,
      ...(metrics ? { metrics } : {}),
      ...(tracing ? { tracing } : {}),
      ...(config.codecKeys ? { codec: codecFromKeys(config.codecKeys) } : {}),
      ...(config.workerWorkflowTasks === undefined ? {} : { workflowTasks: config.workerWorkflowTasks }),
      resourceTargets: config.workerTargets,
      ...(config.workerActivitySlotsMin === undefined ? {} : { activitySlotsMin: config.workerActivitySlotsMin }),
      // One budget for the process: every queue's worker reserves from it.
      memoryBudget: processMemoryBudget(config.workerMemoryMb),
    }),
  ),
);
const metricsServer =
  metrics && config.workerMetricsPort !== undefined
    ? await serveMetrics(metrics.registry, config.workerMetricsPort)
    : undefined;
if (metricsServer) logger.info({ port: metricsServer.port }, 'worker metrics at /metrics');
logger.info(
  {
    taskQueue: config.taskQueue,
    queues,
    workflows: queues.includes(config.taskQueue),
    temporal: config.temporalAddress,
    resourceTargets: config.workerTargets,
    ...(config.workerActivitySlotsMin === undefined ? {} : { activitySlotsMin: config.workerActivitySlotsMin }),
    memoryBudgetMb: processMemoryBudget(config.workerMemoryMb).totalMb,
  },
  'worker running',
);
// One stopping (a signal stops them all; a fatal error only its own) stops the others and the process.
const failed = await Promise.race(
  workers.map((worker) =>
    worker.done.then(
      () => undefined,
      (err: unknown) => ({ err }),
    ),
  ),
);
await Promise.allSettled(workers.map((worker) => worker.shutdown()));
await metricsServer?.close();
await definitions.close();
await tracing?.shutdown();
// As with one worker: a fatal error ends the process with it (exit code 1), after the others stopped.
if (failed) throw failed.err;
logger.info('worker stopped');
