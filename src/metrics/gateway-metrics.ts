/**
 * The gateway's Prometheus series, served at `GET /metrics`. Each gateway has its own registry
 * (tests run several gateways in one process); counts start at zero when the process starts.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

/** How a run came to be started. */
export type StartTrigger = 'api' | 'webhook' | 'event' | 'retry';

export interface GatewayMetrics {
  registry: Registry;
  runs?: Gauge<'definition_id' | 'status'>;
  runsStarted: Counter<'definition_id' | 'trigger'>;
  eventDeliveries: Counter<'definition_id' | 'outcome'>;
}

/** Run counts by definition and status, as Temporal visibility has them. */
export type RunCounts = () => Promise<Array<{ definition_id: string; status: string; count: number }>>;

export function createGatewayMetrics(
  options: { processMetrics?: boolean; runCounts?: RunCounts } = {},
): GatewayMetrics {
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
    ...(options.runCounts ? { runs: runsGauge(registry, options.runCounts) } : {}),
    eventDeliveries: new Counter({
      name: 'weft_event_deliveries_total',
      help: 'Events handed to runs by this gateway (HTTP and NATS), by the definition of the run and outcome (delivered, buffered)',
      labelNames: ['definition_id', 'outcome'],
      registers: [registry],
    }),
  };
}

/**
 * `weft_runs{definition_id, status}`: how many runs of each definition are running, completed,
 * failed or cancelled, counted by Temporal visibility when scraped. It covers every run whoever
 * started it and survives gateway restarts, which per-process counters cannot.
 */
function runsGauge(registry: Registry, runCounts: RunCounts): Gauge<'definition_id' | 'status'> {
  return new Gauge({
    name: 'weft_runs',
    help: 'Runs by definition and status (running, completed, failed, cancelled), from Temporal visibility at scrape time',
    labelNames: ['definition_id', 'status'],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        for (const { definition_id, status, count } of await runCounts()) this.set({ definition_id, status }, count);
      } catch {
        // Temporal unreachable: the series is absent from this scrape rather than wrong.
      }
    },
  });
}
