/**
 * Wires a gateway from configuration: store, Temporal client (lazy, so the gateway starts and
 * answers 503 while Temporal is down), routes, and an HTTP server.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import type express from 'express';
import { ConnectorRegistry } from '../../activities/connectors/registry.js';
import type { Config } from '../config.js';
import { createLogger, type Logger } from '../logger.js';
import { createGatewayMetrics } from '../metrics/gateway-metrics.js';
import { DefinitionIdKey } from '../temporal/search-attributes.js';
import { openDefinitionStore } from '../store/open-store.js';
import { clientTracing } from '../telemetry/temporal-tracing.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { createGateway } from './app.js';
import { DefinitionStats } from './definition-stats.js';
import { startNatsEvents } from './nats-events.js';
import { RunControl } from './run-control.js';
import { RunListing } from './run-listing.js';
import { RunService } from './run-service.js';
import { ScheduleSync } from './schedule-sync.js';

const COUNTED_STATUSES: Record<string, string> = {
  running: "ExecutionStatus = 'Running'",
  completed: "ExecutionStatus = 'Completed'",
  failed: "ExecutionStatus IN ('Failed', 'Terminated', 'TimedOut')",
  cancelled: "ExecutionStatus = 'Canceled'",
};

/** Visibility counts per definition (the first 200) and status, for the `weft_runs` gauge. */
async function runCounts(client: Client, store: { list(): Promise<Array<{ id: string }>> }) {
  const definitions = (await store.list()).slice(0, 200);
  const counts = await Promise.all(
    definitions.flatMap(({ id }) =>
      Object.entries(COUNTED_STATUSES).map(async ([status, clause]) => ({
        definition_id: id,
        status,
        count: (await client.workflow.count(`${DefinitionIdKey.name} = ${JSON.stringify(id)} AND ${clause}`)).count,
      })),
    ),
  );
  return counts;
}

export interface RunningGateway {
  url: string;
  /** The express app, for tests that inspect its routes. */
  app: express.Express;
  server: Server;
  close(): Promise<void>;
}

export interface GatewayOptions {
  /** A started OpenTelemetry SDK (`startTelemetry`): runs started here join the request's trace. */
  tracing?: Telemetry;
}

export async function startGateway(
  config: Config,
  logger: Logger = createLogger('gateway'),
  options: GatewayOptions = {},
): Promise<RunningGateway> {
  const store = await openDefinitionStore(config.databaseUrl);
  const connection = Connection.lazy({ address: config.temporalAddress });
  const client = new Client({
    connection,
    namespace: config.namespace,
    ...(options.tracing ? { interceptors: clientTracing() } : {}),
  });
  const runs = new RunService({
    client,
    taskQueue: config.taskQueue,
    namespace: config.namespace,
    uiUrl: config.uiUrl,
  });
  const listing = new RunListing(config.temporalAddress, config.namespace);
  // Only the schemas are used here; connections open in workers.
  const connectors = new ConnectorRegistry();
  const metrics = createGatewayMetrics({ runCounts: () => runCounts(client, store) });
  const control = new RunControl(
    client,
    store,
    async (definition, input, runId) => (await runs.start(definition, input, runId)).created,
    config.taskQueue,
    metrics,
  );
  const app = createGateway({
    store,
    runs,
    listing,
    control,
    metrics,
    stats: new DefinitionStats(client),
    schedules: new ScheduleSync({ client, store, runs, logger }),
    catalog: connectors.catalog(),
    checkParams: (connector, action, inputs) => connectors.checkParams(connector, action, inputs),
    logger,
    temporalReady: async () => {
      await connection.ensureConnected();
      await connection.workflowService.getSystemInfo({});
    },
  });
  const events = config.natsEvents
    ? await startNatsEvents({
        ...config.natsEvents,
        durable: `weft-gateway-${config.natsEvents.stream}`,
        deliver: (event) => control.deliver(event),
        logger,
      }).catch((err: unknown) => {
        logger.error({ err }, 'could not consume events from NATS; POST /v1/events still works');
        return undefined;
      })
    : undefined;
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, '0.0.0.0', () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${port}`,
    app,
    server,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await events?.close();
      await connection.close();
      await listing.close();
      await store.close();
    },
  };
}
