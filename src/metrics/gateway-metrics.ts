/**
 * The gateway's Prometheus series, served at `GET /metrics`. Each gateway has its own registry
 * (tests run several gateways in one process); counts start at zero when the process starts.
 */
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';

/** How a run came to be started. */
export type StartTrigger = 'api' | 'webhook' | 'event' | 'retry';

export interface GatewayMetrics {
  registry: Registry;
  runsStarted: Counter<'definition_id' | 'trigger'>;
  eventDeliveries: Counter<'definition_id' | 'outcome'>;
}

export function createGatewayMetrics(options: { processMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  // Process metrics (CPU, memory, event loop lag) once per process: several registries would double them.
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'weft_gateway_' });
  return {
    registry,
    runsStarted: new Counter({
      name: 'weft_runs_started_total',
      help: 'Runs started by this gateway, by definition and by what started them (api, webhook, event, retry)',
      labelNames: ['definition_id', 'trigger'],
      registers: [registry],
    }),
    eventDeliveries: new Counter({
      name: 'weft_event_deliveries_total',
      help: 'Events handed to runs by this gateway (HTTP and NATS), by the definition of the run and outcome (delivered, buffered)',
      labelNames: ['definition_id', 'outcome'],
      registers: [registry],
    }),
  };
}
