/**
 * The worker's Prometheus series, recorded by an activity interceptor around every activity:
 * connector call durations, retries, and AI tokens and cost. Workflow code records nothing
 * (it must stay deterministic and free of I/O); run outcomes come from Temporal visibility
 * (`GET /v1/definitions/{id}/stats`).
 */
import type { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type { QuotaSinks } from '../../workflows/interpret.js';
import type { EventSinks } from '../../workflows/event-mailbox.js';
import type { FlowSinks } from '../../workflows/limiter.js';
import { ApplicationFailure } from '@temporalio/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ErrorTypes } from '../../activities/errors.js';
import { tenantOfWorkflowId } from '../shared/tenants.js';

export interface WorkerMetrics {
  registry: Registry;
  activityDuration: Histogram<'activity' | 'connector' | 'action' | 'outcome'>;
  activityRetries: Counter<'activity' | 'connector' | 'action'>;
  aiTokens: Counter<'model' | 'kind'>;
  aiCost: Counter<'model'>;
  /** Connector calls stopped by the `response_bytes` quota (`ResponseTooLarge`), by the run's tenant. */
  quotaRefusals: Counter<'tenant' | 'quota' | 'at'>;
  /** Events taken by a waiting node straight from a mailbox's signal, by tenant. */
  eventsDelivered: Counter<'tenant'>;
  eventDeliverySeconds: Histogram<'tenant'>;
  /** Events the mailboxes this worker last ran keep for runs that may still wait for them. */
  eventsPending: Gauge<'tenant'>;
  eventsExpired: Counter<'tenant' | 'reason'>;
  /** Per mailbox (workflow id): its last reported count, summed into `eventsPending`. */
  mailboxPending: Map<string, number>;
  /** Executions waiting in the lines of the node limiters this worker ran last, by definition and node. */
  flowWaiting: Gauge<'definition_id' | 'node'>;
  /** From asking for a permit to its grant, by definition and node. */
  permitWaitSeconds: Histogram<'definition_id' | 'node'>;
  /** Per limiter (workflow id): its last reported line length, summed into `flowWaiting`. */
  limiterWaiting: Map<string, number>;
}

export function createWorkerMetrics(options: { processMetrics?: boolean } = {}): WorkerMetrics {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'weft_worker_' });
  return {
    registry,
    activityDuration: new Histogram({
      name: 'weft_activity_duration_seconds',
      help: 'Duration of one activity attempt, by activity, connector and action (task nodes) and outcome (ok, error)',
      labelNames: ['activity', 'connector', 'action', 'outcome'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    activityRetries: new Counter({
      name: 'weft_activity_retries_total',
      help: 'Activity attempts after the first (Temporal retries), by activity, connector and action',
      labelNames: ['activity', 'connector', 'action'],
      registers: [registry],
    }),
    aiTokens: new Counter({
      name: 'weft_ai_tokens_total',
      help: 'Tokens used by AI steps, by model and kind (input, output)',
      labelNames: ['model', 'kind'],
      registers: [registry],
    }),
    aiCost: new Counter({
      name: 'weft_ai_cost_usd_total',
      help: 'Cost of AI steps in USD (from the price table: defaults and WEFT_AI_PRICES), by model',
      labelNames: ['model'],
      registers: [registry],
    }),
    quotaRefusals: new Counter({
      name: 'weft_quota_refusals_total',
      help: 'Work refused by a tenant quota on this worker: connector responses over max_response_bytes (quota response_bytes, at run)',
      labelNames: ['tenant', 'quota', 'at'],
      registers: [registry],
    }),
    eventsDelivered: new Counter({
      name: 'weft_events_delivered_total',
      help: 'Events a run took at a waiting event node as its mailbox sent them, by tenant',
      labelNames: ['tenant'],
      registers: [registry],
    }),
    eventDeliverySeconds: new Histogram({
      name: 'weft_event_delivery_seconds',
      help: 'From the gateway accepting an event to a waiting run taking it, by tenant',
      labelNames: ['tenant'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    eventsPending: new Gauge({
      name: 'weft_events_pending',
      help: 'Events kept by the event mailboxes this worker ran last, for runs that wait for them later, by tenant',
      labelNames: ['tenant'],
      registers: [registry],
    }),
    eventsExpired: new Counter({
      name: 'weft_events_expired_total',
      help: 'Events a mailbox stopped keeping: retention (the window passed) or overflow (its count or size bound), by tenant',
      labelNames: ['tenant', 'reason'],
      registers: [registry],
    }),
    mailboxPending: new Map(),
    flowWaiting: new Gauge({
      name: 'weft_flow_waiting',
      help: 'Executions waiting for a permit in the lines of the node limiters (resource_limits) this worker ran last, by definition and node (every concurrency key summed)',
      labelNames: ['definition_id', 'node'],
      registers: [registry],
    }),
    permitWaitSeconds: new Histogram({
      name: 'weft_flow_permit_wait_seconds',
      help: "Time an execution waited in its node limiter's line for a permit (0 when granted at once), by definition and node",
      labelNames: ['definition_id', 'node'],
      buckets: [0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
      registers: [registry],
    }),
    limiterWaiting: new Map(),
  };
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/** The connector and action of a `runConnector` call ('' for other activities). */
function callLabels(activity: string, args: readonly unknown[]): { connector: string; action: string } {
  const call = args[0];
  if (activity !== 'runConnector' || !call || typeof call !== 'object') return { connector: '', action: '' };
  const { connector, action } = call as Record<string, unknown>;
  return { connector: text(connector), action: text(action) };
}

/** Records AI usage from a `runAi` result; tolerant of shapes it does not know. */
function recordAi(metrics: WorkerMetrics, result: unknown): void {
  if (!result || typeof result !== 'object') return;
  const { model, usage, cost_usd } = result as Record<string, unknown>;
  const name = text(model);
  const tokens = (usage ?? {}) as Record<string, unknown>;
  if (typeof tokens.input_tokens === 'number')
    metrics.aiTokens.inc({ model: name, kind: 'input' }, tokens.input_tokens);
  if (typeof tokens.output_tokens === 'number')
    metrics.aiTokens.inc({ model: name, kind: 'output' }, tokens.output_tokens);
  if (typeof cost_usd === 'number' && cost_usd > 0) metrics.aiCost.inc({ model: name }, cost_usd);
}

/** The activity interceptor for `Worker.create({ interceptors: { activity: [...] } })`. */
export function metricsInterceptor(metrics: WorkerMetrics): ActivityInterceptorsFactory {
  return (ctx: Context) => ({
    inbound: {
      async execute(input, next) {
        const activity = ctx.info.activityType;
        const labels = { activity, ...callLabels(activity, input.args) };
        if (ctx.info.attempt > 1) metrics.activityRetries.inc(labels);
        const end = metrics.activityDuration.startTimer(labels);
        try {
          const result = await next(input);
          end({ outcome: 'ok' });
          if (activity === 'runAi') recordAi(metrics, result);
          return result;
        } catch (err) {
          end({ outcome: 'error' });
          if (err instanceof ApplicationFailure && err.type === ErrorTypes.ResponseTooLarge) {
            const tenant = tenantOfWorkflowId(ctx.info.workflowExecution?.workflowId ?? '');
            metrics.quotaRefusals.inc({ tenant, quota: 'response_bytes', at: 'run' });
          }
          throw err;
        }
      },
    },
  });
}

/**
 * The workflow's `weftQuotas` sink: a node refused by a run-time quota (QuotaExceeded) counts as
 * `weft_quota_refusals_total{tenant, quota, at="run"}`. Sinks are not called on replay, so each
 * refusal counts once. Registered with or without metrics, so the workflow's call always has a
 * receiver.
 */
export function quotaSinks(metrics: WorkerMetrics | undefined): InjectedSinks<QuotaSinks> {
  return {
    weftQuotas: {
      refused: {
        fn: (info, quota) =>
          metrics?.quotaRefusals.inc({ tenant: tenantOfWorkflowId(info.workflowId), quota, at: 'run' }),
        callDuringReplay: false,
      },
    },
  };
}

/**
 * The workflows' `weftEvents` sink: deliveries and their latency (runs), kept and expired events
 * (mailboxes). Not called on replay, so each counts once.
 */
export function eventSinks(metrics: WorkerMetrics | undefined): InjectedSinks<EventSinks> {
  return {
    weftEvents: {
      delivered: {
        fn: (info, latencyMs) => {
          const tenant = tenantOfWorkflowId(info.workflowId);
          metrics?.eventsDelivered.inc({ tenant });
          metrics?.eventDeliverySeconds.observe({ tenant }, latencyMs / 1000);
        },
        callDuringReplay: false,
      },
      pending: {
        fn: (info, count) => {
          if (!metrics) return;
          const before = metrics.mailboxPending.get(info.workflowId) ?? 0;
          if (count === 0) metrics.mailboxPending.delete(info.workflowId);
          else metrics.mailboxPending.set(info.workflowId, count);
          metrics.eventsPending.inc({ tenant: tenantOfWorkflowId(info.workflowId) }, count - before);
        },
        callDuringReplay: false,
      },
      expired: {
        fn: (info, reason, count) =>
          metrics?.eventsExpired.inc({ tenant: tenantOfWorkflowId(info.workflowId), reason }, count),
        callDuringReplay: false,
      },
    },
  };
}

/**
 * The limiters' `weftFlow` sink: their lines' lengths (summed per definition and node into
 * `weft_flow_waiting`) and each grant's wait. Not called on replay, so each counts once.
 */
export function flowSinks(metrics: WorkerMetrics | undefined): InjectedSinks<FlowSinks> {
  return {
    weftFlow: {
      waiting: {
        fn: (info, definition_id, node, count) => {
          if (!metrics) return;
          const before = metrics.limiterWaiting.get(info.workflowId) ?? 0;
          if (count === 0) metrics.limiterWaiting.delete(info.workflowId);
          else metrics.limiterWaiting.set(info.workflowId, count);
          metrics.flowWaiting.inc({ definition_id, node }, count - before);
        },
        callDuringReplay: false,
      },
      granted: {
        fn: (_info, definition_id, node, waitedMs) =>
          metrics?.permitWaitSeconds.observe({ definition_id, node }, waitedMs / 1000),
        callDuringReplay: false,
      },
    },
  };
}
