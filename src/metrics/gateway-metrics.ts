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
  /** Events in their mailbox (durable) when answered, by tenant. */
  eventsAccepted: Counter<'tenant'>;
  /** Requests refused by a quota: at `submit` (and `/validate`) or `start` (see interpreter/quotas.ts). */
  quotaRefusals: Counter<'tenant' | 'quota' | 'at'>;
  quotaLimits?: Gauge<'tenant' | 'quota'>;
  /** The tenant's open runs as admission last estimated them (visibility count plus this gateway's starts since). */
  openRuns: Gauge<'tenant'>;
}

/** The quotas in force: the defaults (tenant `*`) and each tenant with values of its own. */
export type QuotaLimits = () => Promise<Array<{ tenant: string; quota: string; value: number }>>;

/** Run counts by definition and status, as Temporal visibility has them. */
export type RunCounts = () => Promise<Array<{ definition_id: string; status: string; count: number }>>;

/** `weft_runs` is recounted in the background once older than this (a scrape never waits for it then). */
export const RUN_COUNTS_REFRESH_MS = 10_000;
/** Counts older than this (Temporal unreachable for a while) are not served: the scrape waits for a recount. */
export const RUN_COUNTS_MAX_AGE_MS = 60_000;

/**
 * Visibility counts cached for scrapes: one count per stored definition took 2.2 s with 200
 * definitions on the dev server, so a scrape serves the latest counts at once and, when they are
 * older than RUN_COUNTS_REFRESH_MS, starts one recount in the background (never two at once). Only
 * the first scrape, and one after counts passed RUN_COUNTS_MAX_AGE_MS, waits for the count.
 */
export function cachedRunCounts(count: RunCounts, now: () => number = Date.now): RunCounts {
  let last: { at: number; counts: Awaited<ReturnType<RunCounts>> } | undefined;
  let running: Promise<Awaited<ReturnType<RunCounts>>> | undefined;
  const recount = () =>
    (running ??= count()
      .then((counts) => {
        last = { at: now(), counts };
        return counts;
      })
      .finally(() => (running = undefined)));
  return async () => {
    const age = last === undefined ? Infinity : now() - last.at;
    if (last === undefined || age > RUN_COUNTS_MAX_AGE_MS) return recount();
    if (age > RUN_COUNTS_REFRESH_MS) recount().catch(() => undefined);
    return last.counts;
  };
}

export function createGatewayMetrics(
  options: { processMetrics?: boolean; runCounts?: RunCounts; quotaLimits?: QuotaLimits } = {},
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
    ...(options.runCounts ? { runs: runsGauge(registry, cachedRunCounts(options.runCounts)) } : {}),
    eventsAccepted: new Counter({
      name: 'weft_events_accepted_total',
      help: 'Events this gateway accepted (HTTP and NATS): durable in their mailbox when answered, by tenant',
      labelNames: ['tenant'],
      registers: [registry],
    }),
    quotaRefusals: new Counter({
      name: 'weft_quota_refusals_total',
      help: 'Definitions and starts refused by a tenant quota, by tenant, quota and where (submit, validate, start)',
      labelNames: ['tenant', 'quota', 'at'],
      registers: [registry],
    }),
    openRuns: new Gauge({
      name: 'weft_admission_open_runs',
      help: "A tenant's running runs as the last start checked them against its concurrent_runs quota: Temporal visibility's count (at most 1 s old) plus the starts this gateway made since",
      labelNames: ['tenant'],
      registers: [registry],
    }),
    ...(options.quotaLimits ? { quotaLimits: quotaLimitsGauge(registry, options.quotaLimits) } : {}),
  };
}

/** `weft_quota_limit{tenant, quota}`: the quotas in force, read from the store when scraped. */
function quotaLimitsGauge(registry: Registry, limits: QuotaLimits): Gauge<'tenant' | 'quota'> {
  return new Gauge({
    name: 'weft_quota_limit',
    help: 'Quotas in force (timer_horizon in ms): tenant "*" for the WEFT_QUOTA_* defaults, then each tenant with values of its own',
    labelNames: ['tenant', 'quota'],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        for (const { tenant, quota, value } of await limits()) this.set({ tenant, quota }, value);
      } catch {
        // The store unreachable: the series is absent from this scrape rather than wrong.
      }
    },
  });
}

/**
 * `weft_runs{definition_id, status}`: how many runs of each definition are running, completed,
 * failed or cancelled, counted by Temporal visibility (at most RUN_COUNTS_REFRESH_MS old plus one
 * recount, see cachedRunCounts). It covers every run whoever
 * started it and survives gateway restarts, which per-process counters cannot.
 */
function runsGauge(registry: Registry, runCounts: RunCounts): Gauge<'definition_id' | 'status'> {
  return new Gauge({
    name: 'weft_runs',
    help: 'Runs by definition and status (running, completed, failed, cancelled), from Temporal visibility, recounted in the background when older than 10 s',
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
