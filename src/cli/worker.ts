/** `npm run worker`: one worker for the generic workflow and the connectors. */
import { Connection } from '@temporalio/client';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { ensureSearchAttributes } from '../temporal/register-search-attributes.js';
import { openDefinitionStore } from '../store/open-store.js';
import { startWorker } from '../worker/create-worker.js';
import { serveMetrics } from '../metrics/serve-metrics.js';
import { createWorkerMetrics } from '../metrics/worker-metrics.js';
import { startTelemetry } from '../telemetry/telemetry.js';
import { codecFromKeys } from '../codec/data-converter.js';
import { storeConnectionSource } from '../connections/connection-source.js';
import { processMemoryBudget } from '../../activities/memory-budget.js';

const config = loadConfig();
const logger = createLogger('worker', config.logLevel);
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
const worker = await startWorker({
  address: config.temporalAddress,
  ...(config.temporalTls ? { tls: config.temporalTls } : {}),
  namespace: config.namespace,
  taskQueue: config.taskQueue,
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
  memoryBudget: processMemoryBudget(config.workerMemoryMb),
});
const metricsServer =
  metrics && config.workerMetricsPort !== undefined
    ? await serveMetrics(metrics.registry, config.workerMetricsPort)
    : undefined;
if (metricsServer) logger.info({ port: metricsServer.port }, 'worker metrics at /metrics');
logger.info(
  {
    taskQueue: config.taskQueue,
    temporal: config.temporalAddress,
    resourceTargets: config.workerTargets,
    ...(config.workerActivitySlotsMin === undefined ? {} : { activitySlotsMin: config.workerActivitySlotsMin }),
    memoryBudgetMb: processMemoryBudget(config.workerMemoryMb).totalMb,
  },
  'worker running',
);
await worker.done;
await metricsServer?.close();
await definitions.close();
await tracing?.shutdown();
logger.info('worker stopped');
