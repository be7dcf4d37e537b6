/**
 * `GET /v1/definitions/{id}/stats?window=24h`: what the closed runs of a definition did in a
 * time window, from real data, without replaying runs. Run outcomes and durations come from
 * Temporal visibility (the runs closed in the window: status, start and close time); a failed
 * run's error type from its close event alone (one history page of one event, read by the
 * server, no worker involved). Only cost needs more: a run's AI cost lives in its state, so the
 * `state` query (which makes a worker replay the closed run) is asked only of runs whose version
 * has a node that can cost (`ai`, `subworkflow`, or a `map` of either); a version without one
 * costs 0 by construction. At most `MAX_RUNS` runs (the most recently closed) are examined, and
 * the answer says when that cap was reached.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { VersionedDefinition } from '../../interpreter/definition-schema.js';
import type { RunStateView } from '../../interpreter/run-state.js';
import { DefinitionIdKey, DefinitionVersionKey, TenantKey } from '../shared/search-attributes.js';
import type { TenantRuns } from '../temporal/tenant-runs.js';
import { validationFailed } from '../shared/http-error.js';
import { mapTemporalError, WORKFLOW_TYPE } from './run-service.js';

/** The most runs one stats request examines. */
export const MAX_RUNS = 500;
/** Close-event reads and state queries in flight at once (a state query makes a worker replay a closed run). */
const QUERY_CONCURRENCY = 8;
/** How long one state query may take before the worker is taken to be absent. */
const QUERY_DEADLINE_MS = 5_000;

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const MAX_WINDOW_MS = 90 * UNIT_MS.d;
const WINDOW_MESSAGE = 'expected a duration such as 30m, 1h, 24h or 7d (at most 90d)';

/** A window such as "24h" in milliseconds; throws 400 naming `/query/window` otherwise. */
export function parseWindow(value: unknown): number {
  const match = typeof value === 'string' ? /^([1-9][0-9]{0,5})(m|h|d)$/.exec(value) : null;
  const ms = match ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : NaN;
  if (!(ms > 0 && ms <= MAX_WINDOW_MS)) throw validationFailed([{ path: '/query/window', message: WINDOW_MESSAGE }]);
  return ms;
}

export interface DefinitionStatsView {
  definition_id: string;
  window: string;
  since: string;
  until: string;
  runs: { closed: number; completed: number; failed: number; cancelled: number };
  /** completed / (completed + failed); cancelled runs are an operator's choice and do not count. null with no such run. */
  success_rate: number | null;
  /** Close time minus start time of the closed runs, in milliseconds (nearest rank). */
  duration_ms: { p50: number; p95: number; max: number } | null;
  /** Failed runs by the failure's type, most frequent first. */
  errors: Array<{ type: string; count: number }>;
  /** Sum of the runs' AI cost (`state.cost.usd`). */
  cost_usd: number;
  /** Runs examined (at most `limit`); `truncated` when more closed in the window. */
  examined: number;
  limit: number;
  truncated: boolean;
  /** Runs whose cost or error type was needed but could not be read (no worker for the state, history gone). */
  unreadable: number;
}

type Outcome = 'completed' | 'failed' | 'cancelled';

const OUTCOME: Record<string, Outcome | undefined> = {
  COMPLETED: 'completed',
  FAILED: 'failed',
  TERMINATED: 'failed',
  TIMED_OUT: 'failed',
  CANCELLED: 'cancelled',
};

/** Nearest-rank percentile of sorted numbers. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Whether a run of this version can have a cost: only `ai` nodes and child runs spend. */
export function canCost(definition: Pick<VersionedDefinition, 'nodes'>): boolean {
  return definition.nodes.some(
    (node) =>
      node.type === 'ai' || node.type === 'subworkflow' || (node.type === 'map' && (node.ai ?? node.subworkflow)),
  );
}

export class DefinitionStats {
  constructor(
    private readonly client: Client,
    /** Whose runs count: the query is scoped to the tenant. */
    private readonly ids: TenantRuns,
    /** A stored version of one of the tenant's definitions (whether its runs can cost). */
    private readonly version: (id: string, version: string) => Promise<Pick<VersionedDefinition, 'nodes'> | undefined>,
  ) {}

  /** The failure type in a failed run's close event (no replay: the server reads one event). */
  private async failureType(run: WorkflowExecutionInfo): Promise<string | undefined> {
    const { history } = await this.client.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
      this.client.workflowService.getWorkflowExecutionHistory({
        namespace: this.client.options.namespace,
        execution: { workflowId: run.workflowId, runId: run.runId },
        historyEventFilterType:
          proto.temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
      }),
    );
    const failure = history?.events?.[0]?.workflowExecutionFailedEventAttributes?.failure;
    return failure?.applicationFailureInfo?.type ?? undefined;
  }

  /** Whether runs of `definitionId` at the version a run names can cost (unknown version: assume so). */
  private costly(definitionId: string): (run: WorkflowExecutionInfo) => Promise<boolean> {
    const known = new Map<string, Promise<boolean>>();
    return (run) => {
      const version = run.typedSearchAttributes.get(DefinitionVersionKey);
      if (version === undefined) return Promise.resolve(true);
      let found = known.get(version);
      if (!found) {
        found = this.version(definitionId, version).then(
          (definition) => (definition ? canCost(definition) : true),
          () => true,
        );
        known.set(version, found);
      }
      return found;
    };
  }

  /** Stats of the runs of `definitionId` that closed in the last `windowMs`. */
  async compute(
    definitionId: string,
    window: string,
    windowMs: number,
    now = new Date(),
  ): Promise<DefinitionStatsView> {
    const since = new Date(now.getTime() - windowMs);
    // definitionId was found in the store, so it matches the id pattern and cannot break the quotes.
    const query = [
      `${TenantKey.name} = '${this.ids.tenant}'`,
      `WorkflowType = '${WORKFLOW_TYPE}'`,
      `${DefinitionIdKey.name} = '${definitionId}'`,
      `CloseTime >= '${since.toISOString()}'`,
      "ExecutionStatus != 'Running'",
      "ExecutionStatus != 'ContinuedAsNew'",
    ].join(' AND ');
    const runs: WorkflowExecutionInfo[] = [];
    let truncated = false;
    try {
      for await (const run of this.client.workflow.list({ query, pageSize: 100 })) {
        if (runs.length === MAX_RUNS) {
          truncated = true;
          break;
        }
        runs.push(run);
      }
    } catch (err) {
      mapTemporalError(err);
    }

    const counts = { closed: 0, completed: 0, failed: 0, cancelled: 0 };
    const durations: number[] = [];
    for (const run of runs) {
      const outcome = OUTCOME[run.status.name];
      if (!outcome) continue;
      counts.closed += 1;
      counts[outcome] += 1;
      if (run.closeTime) durations.push(run.closeTime.getTime() - run.startTime.getTime());
    }
    durations.sort((a, b) => a - b);

    // A closed run answers queries only through a worker replaying it: with no worker polling,
    // each query would wait for its deadline, so after one times out the rest are not asked.
    let gaveUp = false;
    const costly = this.costly(definitionId);
    const read = await mapLimit(runs, QUERY_CONCURRENCY, async (run) => {
      const failed = run.status.name === 'FAILED';
      let type: string | undefined;
      let cost = 0;
      let unreadable = false;
      if (failed) {
        try {
          type = await this.failureType(run);
        } catch {
          unreadable = true;
        }
      }
      if (await costly(run)) {
        if (gaveUp) unreadable = true;
        else {
          try {
            const state = await this.client.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
              this.client.workflow.getHandle(run.workflowId, run.runId).query<RunStateView>('state'),
            );
            cost = state.cost?.usd ?? 0;
          } catch (err) {
            if (/deadline/i.test(err instanceof Error ? err.message : String(err))) gaveUp = true;
            unreadable = true;
          }
        }
      }
      return { type, cost, unreadable };
    });
    const errors = new Map<string, number>();
    let cost = 0;
    let unreadable = 0;
    runs.forEach((run, i) => {
      const found = read[i];
      if (found?.unreadable) unreadable += 1;
      cost += found?.cost ?? 0;
      if (OUTCOME[run.status.name] !== 'failed') return;
      // A terminated or timed-out run never recorded an error of its own.
      const type =
        found?.type ??
        (run.status.name === 'TERMINATED' ? 'Terminated' : run.status.name === 'TIMED_OUT' ? 'RunTimedOut' : 'Unknown');
      errors.set(type, (errors.get(type) ?? 0) + 1);
    });

    const decided = counts.completed + counts.failed;
    return {
      definition_id: definitionId,
      window,
      since: since.toISOString(),
      until: now.toISOString(),
      runs: counts,
      success_rate: decided === 0 ? null : counts.completed / decided,
      duration_ms:
        durations.length === 0
          ? null
          : {
              p50: percentile(durations, 50),
              p95: percentile(durations, 95),
              max: durations[durations.length - 1] ?? 0,
            },
      errors: [...errors]
        .map(([type, count]) => ({ type, count }))
        .sort((a, b) => b.count - a.count || (a.type < b.type ? -1 : 1)),
      cost_usd: Math.round(cost * 1e9) / 1e9,
      examined: runs.length,
      limit: MAX_RUNS,
      truncated,
      unreadable,
    };
  }
}
