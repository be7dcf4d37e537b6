/**
 * Runs as the gateway sees them: start, state and result, on top of the Temporal client.
 * Temporal being unreachable surfaces as `unavailable` (503), never as a 500.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  ServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, TerminatedFailure, TimeoutFailure } from '@temporalio/common';
import { durationMs } from '../../interpreter/duration.js';
import type { RunLineage } from '../../interpreter/lineage.js';
import type { RunError, RunStateView } from '../../interpreter/run-state.js';
import type { VersionedDefinition } from '../../interpreter/definition-schema.js';
import { canonicalJson } from '../shared/canonical-json.js';
import { DefinitionIdKey, DefinitionVersionKey } from '../shared/search-attributes.js';
import { TenantRuns } from '../temporal/tenant-runs.js';
import {
  quotaMessage,
  quotaProblems,
  runQuotas,
  type QuotaName,
  type Quotas,
  type RunQuotas,
} from '../../interpreter/quotas.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { HttpError, notFound, validationFailed } from '../shared/http-error.js';
import { nodeInputOf, type NodeInput } from './node-input.js';
import { takeRunPermit } from '../../activities/limiter.js';
import { initialState } from '../../interpreter/engine.js';
import { resolveRunInput } from '../../interpreter/run-input.js';
import { RUN_PERMIT, keyAtStart, shownKey, temporalPriorityKey } from '../../interpreter/run-limits.js';
import { debounceStart } from './run-debounce.js';
import { OpenRunsAdmission } from './admission.js';
import type { ConnectorQueues } from '../shared/connector-queues.js';

/** `Retry-After` (seconds) of a start refused by the tenant's `concurrent_runs` quota: runs must complete first. */
export const ADMISSION_RETRY_AFTER_S = 5;

/** The workflow type name of the generic interpreter workflow. */
export const WORKFLOW_TYPE = 'interpret';

export interface RunServiceOptions {
  client: Client;
  taskQueue: string;
  namespace: string;
  uiUrl: string;
  /** Whose runs these are (default: the default tenant's). */
  ids?: TenantRuns;
  /** The tenant's quotas as they are now (read per start); absent: no quotas (runs as before quotas existed). */
  quotas?: () => Promise<Quotas>;
  /** Counts starts refused by a quota. */
  metrics?: Pick<GatewayMetrics, 'quotaRefusals' | 'openRuns'>;
  /** Where the runs' connector calls go (`WEFT_CONNECTOR_QUEUES`, `runConnectorQueues`); absent: the run's queue. */
  connectorQueues?: ConnectorQueues;
}

/** Who and which request started a run: kept in its memo (and so in its history). */
export interface StartContext {
  requestId?: string;
  /** The actor, as the audit log names it. */
  startedBy?: string;
  /** This run's priority (1–5, 5 highest), over the definition's `options.priority`. */
  priority?: number;
}

export interface StartedRun {
  run_id: string;
  instance_id: string;
  definition_id: string;
  definition_version: string;
  ui_url: string;
}

/** A start's answer: the run, and whether this request started it (false: it existed already). */
export interface StartOutcome {
  run: StartedRun;
  created: boolean;
  debounced?: undefined;
}

/** The answer to a start of a debounced definition (`options.debounce`): the run its burst becomes. */
export interface DebouncedRun {
  accepted: true;
  debounced: true;
  /** The run the burst becomes: `GET /v1/runs/{run_id}` finds it once the window passed. */
  run_id: string;
  definition_id: string;
  definition_version: string;
  /** The earliest the run starts: the window restarts with every start of the burst. */
  starts_after: string;
  /** Starts the burst has taken so far, this one included. */
  starts: number;
}

/** A start that went to the definition's debouncer: no run started yet. */
export interface DebouncedOutcome {
  created: false;
  debounced: DebouncedRun;
}

export interface RunResult {
  status: 'running' | 'paused' | 'completed' | 'failed' | 'cancelled';
  result?: unknown;
  error?: RunError;
}

const GRPC_UNAVAILABLE = new Set([4, 14]); // DEADLINE_EXCEEDED, UNAVAILABLE
const GRPC_FAILED_PRECONDITION = 9;
/** `Retry-After` of a run that cannot answer a query until a worker retries its workflow task. */
const WORKFLOW_NOT_READY_RETRY_S = 2;

/** The gRPC status code somewhere in an error's cause chain (the SDK wraps the call's error). */
function grpcCode(err: unknown): number | undefined {
  for (
    let e: unknown = err, depth = 0;
    e instanceof Object && depth < 5;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

/** Every message of an error's cause chain, joined. */
function messageChain(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) parts.push(e.message);
  return parts.join(' / ');
}

/**
 * Temporal's refusal of a query or an update while the run's workflow task keeps failing
 * (FAILED_PRECONDITION, WorkflowNotReady): the run cannot take anything until a worker runs its
 * task again.
 */
export function workflowNotReady(err: unknown): boolean {
  return grpcCode(err) === GRPC_FAILED_PRECONDITION && /workflow task in failed state/i.test(messageChain(err));
}

/** Maps Temporal client errors to the gateway's errors; rethrows what it does not know. */
export function mapTemporalError(err: unknown, runId?: string): never {
  if (err instanceof HttpError) throw err;
  if (err instanceof WorkflowNotFoundError) throw notFound(`run "${runId ?? err.workflowId}"`);
  // A query while the run's last workflow task failed (a worker killed mid-task, say): Temporal
  // answers FAILED_PRECONDITION (WorkflowNotReady) until a worker runs the task again. Transient.
  const messages = messageChain(err);
  if (/query timed out before a worker could process it/i.test(messages)) {
    throw new HttpError(
      'unavailable',
      'the run did not answer in time: no worker processed its query (is a worker running, is its workflow task failing?); retry',
      [],
      WORKFLOW_NOT_READY_RETRY_S,
    );
  }
  if (workflowNotReady(err)) {
    throw new HttpError(
      'unavailable',
      'the run cannot be read right now: its last workflow task failed and a worker has not run it again yet; retry',
      [],
      WORKFLOW_NOT_READY_RETRY_S,
    );
  }
  if (err instanceof ServiceError) {
    const code = (err.cause as { code?: number } | undefined)?.code;
    if (code === 5) throw notFound(`run "${runId ?? ''}"`);
    if (code === undefined || GRPC_UNAVAILABLE.has(code)) {
      throw new HttpError('unavailable', `the Temporal server is unavailable: ${err.message}`);
    }
  }
  if (err instanceof Error && /UNAVAILABLE|ECONNREFUSED|failed to connect|deadline/i.test(err.message)) {
    throw new HttpError('unavailable', `the Temporal server is unavailable: ${err.message}`);
  }
  throw err;
}

/**
 * An update-with-start of a limiter or debouncer (`try_acquire`, `debounce`) that reached it as it
 * completed fails ("workflow execution already completed"): once more, the start makes a new one.
 * Both updates may be repeated (a holder asking again is granted again; a start counted twice
 * leaves the same last input). Temporal being unreachable is not retried here: it answers 503.
 */
async function againIfClosing<T>(call: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      let mapped: unknown = err;
      try {
        mapTemporalError(err);
      } catch (known) {
        mapped = known;
      }
      if (mapped instanceof HttpError && mapped.code === 'unavailable') throw mapped;
      if (attempt >= attempts) {
        const message = err instanceof Error ? err.message : String(err);
        throw new HttpError('unavailable', `the start could not be handed to Temporal (${message}); retry`, [], 1);
      }
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

function newRunKey(): string {
  return randomBytes(6).toString('hex');
}

/** Identifies a run's input whatever its key order; kept in the memo for idempotent starts. */
export function inputHash(input: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(input)).digest('hex');
}

export class RunService {
  readonly ids: TenantRuns;

  constructor(private readonly options: RunServiceOptions) {
    this.ids = options.ids ?? new TenantRuns('default');
  }

  uiUrl(workflowId: string, runId: string): string {
    const ns = encodeURIComponent(this.options.namespace);
    return `${this.options.uiUrl}/namespaces/${ns}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;
  }

  /**
   * What every start of `definition` shares, whoever starts it (the gateway or a Temporal
   * Schedule): the interpreter's input, task queue, memo, search attributes and summary, so
   * runs look the same in the Web UI and in `GET /v1/runs` however they began.
   */
  workflowOptions(
    definition: VersionedDefinition,
    input: Record<string, unknown>,
    context: StartContext = {},
    quotas?: RunQuotas,
    runPermit?: { limiter: string; key: string | null },
  ) {
    const priority = context.priority ?? definition.options.priority;
    return {
      taskQueue: this.options.taskQueue,
      args: [
        {
          definition,
          input,
          ...(quotas ? { quotas } : {}),
          ...(context.startedBy === undefined ? {} : { started_by: context.startedBy }),
          ...(runPermit ? { run_permit: runPermit } : {}),
          ...(context.priority === undefined ? {} : { priority: context.priority }),
          ...(this.options.connectorQueues ? { connector_queues: this.options.connectorQueues } : {}),
        },
      ],
      // Temporal orders a task queue's tasks by priority key (1 first): weft's 5 is Temporal's 1.
      ...(priority === undefined ? {} : { priority: { priorityKey: temporalPriorityKey(priority) } }),
      memo: {
        definition_id: definition.id,
        definition_version: definition.version,
        input_hash: inputHash(input),
        tenant: this.ids.tenant,
        // Links the run to the audit log entry of the request that started it, and its author.
        ...(context.requestId === undefined ? {} : { request_id: context.requestId }),
        ...(context.startedBy === undefined ? {} : { started_by: context.startedBy }),
      },
      typedSearchAttributes: [
        { key: DefinitionIdKey, value: definition.id },
        { key: DefinitionVersionKey, value: definition.version },
        this.ids.searchAttribute,
      ],
      staticSummary: `${definition.name ?? definition.id} · ${definition.id} v${definition.version}`,
      ...(definition.options.timeout === undefined
        ? {}
        : { workflowExecutionTimeout: durationMs(definition.options.timeout) }),
    };
  }

  /**
   * Starts a run pinned to `definition`. A caller-chosen `runId` is used as the workflow id as
   * is; otherwise the id is `<definition id>-<random key>`. A `runId` that already names a run
   * (running or closed) never starts another: the existing run is returned (`created: false`)
   * when it was started with the same definition version and input, else `409 conflict`.
   */
  async start(
    definition: VersionedDefinition,
    input: Record<string, unknown>,
    runId?: string,
    context: StartContext = {},
  ): Promise<StartOutcome | DebouncedOutcome> {
    const quotas = this.options.quotas ? await this.options.quotas() : undefined;
    if (definition.options.debounce !== undefined) {
      if (quotas) this.refuseStatic(definition, quotas);
      return this.debounced(definition, input, context, quotas && runQuotas(quotas));
    }
    if (!quotas) return this.startWorkflow(definition, input, runId, context);
    this.refuseStatic(definition, quotas);
    const done = await this.refuseConcurrent(quotas, runId);
    try {
      return await this.startWorkflow(definition, input, runId, context, runQuotas(quotas));
    } finally {
      done();
    }
  }

  /** The run-time quotas a run of this tenant starts with now (what schedules pin). */
  async runQuotas(): Promise<RunQuotas | undefined> {
    return this.options.quotas ? runQuotas(await this.options.quotas()) : undefined;
  }

  /** The tenant's open runs, counted for `concurrent_runs` without serialising starts (`admission.ts`). */
  private readonly admission = new OpenRunsAdmission({
    count: async () => {
      try {
        const { count } = await this.options.client.workflow.count(
          this.ids.scope(`ExecutionStatus = 'Running' AND WorkflowType = '${WORKFLOW_TYPE}'`),
        );
        return count;
      } catch (err) {
        return mapTemporalError(err);
      }
    },
  });

  private refused(quota: QuotaName): void {
    this.options.metrics?.quotaRefusals.inc({ tenant: this.ids.tenant, quota, at: 'start' });
  }

  /** A stored definition asking for more than the tenant's quotas allow now (they may have been lowered). */
  private refuseStatic(definition: VersionedDefinition, quotas: Quotas): void {
    const problems = quotaProblems(definition, quotas);
    if (problems.length === 0) return;
    for (const quota of new Set(problems.map((p) => p.quota))) this.refused(quota);
    throw validationFailed(
      problems.map(({ path, message }) => ({ path, message })),
      `version ${definition.version} of "${definition.id}" asks for more than the tenant's quotas allow`,
    );
  }

  /**
   * `concurrent_runs`: the tenant's running runs, as Temporal visibility counts them, plus what
   * this gateway started since the count (`admission.ts`); returns the function to call once the
   * start returned. Visibility lags a start by a little (milliseconds on the dev server's SQL
   * store, up to a second or so on Elasticsearch), and gateways do not coordinate: concurrent
   * starts through several gateways may overshoot by the starts made within that lag. Event
   * mailboxes are not runs: not counted. A refusal is `429 rate_limited` with `Retry-After`.
   */
  private async refuseConcurrent(quotas: Quotas, runId: string | undefined): Promise<() => void> {
    const answer = await this.admission.admit(quotas.concurrent_runs);
    this.options.metrics?.openRuns.set({ tenant: this.ids.tenant }, answer.open);
    if (answer.admitted) return answer.done;
    // A repeated start of a run that exists (a retried request, a redelivered event) starts
    // nothing: it goes on to the idempotent answer (or the conflict) instead of a refusal.
    if (runId !== undefined && (await this.exists(runId))) return () => undefined;
    this.refused('concurrent_runs');
    const message = quotaMessage(
      'concurrent_runs',
      `${quotas.concurrent_runs} running runs for tenant "${this.ids.tenant}"`,
      `${answer.open} running`,
    );
    throw new HttpError('rate_limited', message, [{ path: '', message }], ADMISSION_RETRY_AFTER_S);
  }

  private async exists(runId: string): Promise<boolean> {
    try {
      await this.handle(runId).describe();
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      return mapTemporalError(err, runId);
    }
  }

  private async startWorkflow(
    definition: VersionedDefinition,
    input: Record<string, unknown>,
    runId: string | undefined,
    context: StartContext,
    quotas?: RunQuotas,
  ): Promise<StartOutcome> {
    const workflowId = this.ids.workflowId(runId ?? `${definition.id}-${newRunKey()}`);
    let runPermit: { limiter: string; key: string | null } | undefined;
    if (definition.options.max_concurrent_runs !== undefined && definition.options.on_limit === 'skip') {
      // A repeated start of a run that exists takes no permit: it answers as the first start did.
      if (runId !== undefined && (await this.exists(runId))) return this.existing(definition, input, workflowId);
      runPermit = await this.skipOrPermit(definition, input, workflowId);
    }
    try {
      const handle = await this.options.client.workflow.start(WORKFLOW_TYPE, {
        ...this.workflowOptions(definition, input, context, quotas, runPermit),
        workflowId,
        workflowIdConflictPolicy: 'FAIL',
        // A closed run keeps its id (for the namespace's retention period): the same run_id
        // after the run finished is a retry of that start, not a new run.
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
      return { created: true, run: this.startedRun(definition, workflowId, handle.firstExecutionRunId) };
    } catch (err) {
      // Taken a moment ago by a start of the same run_id: that run holds the permit, keep it.
      if (err instanceof WorkflowExecutionAlreadyStartedError) return this.existing(definition, input, workflowId);
      if (runPermit) await this.giveBack(runPermit.limiter, workflowId);
      return mapTemporalError(err, workflowId);
    }
  }

  /**
   * `on_limit: "skip"`: takes the run permit for `workflowId` before the run exists, or refuses the
   * start with `409` (nothing started). The limiter answers an update-with-start in one workflow
   * task, so concurrent starts (through any gateways) never both get the last permit.
   */
  private async skipOrPermit(
    definition: VersionedDefinition,
    input: Record<string, unknown>,
    workflowId: string,
  ): Promise<{ limiter: string; key: string | null }> {
    const limit = definition.options.max_concurrent_runs;
    if (limit === undefined) throw new Error('skipOrPermit without options.max_concurrent_runs');
    const key = await this.keyAtStart(definition, input, workflowId);
    let answer: Awaited<ReturnType<typeof takeRunPermit>>;
    try {
      answer = await againIfClosing(() =>
        takeRunPermit(this.options.client, this.ids.tenant, this.options.taskQueue, workflowId, {
          definition_id: definition.id,
          key,
          max_concurrency: limit,
        }),
      );
    } catch (err) {
      return mapTemporalError(err);
    }
    if (answer.granted) return { limiter: answer.limiter, key };
    const shown = shownKey(definition, key);
    const of = shown === null ? '' : ` with key ${JSON.stringify(shown)}`;
    const message = `options.max_concurrent_runs: ${answer.holders} of at most ${limit} run(s) of "${definition.id}"${of} are running and on_limit is "skip": no run was started`;
    throw new HttpError('conflict', message, [{ path: '/options/max_concurrent_runs', message }]);
  }

  /**
   * A start of a debounced definition: handed to its debouncer, which starts one run per burst
   * (`run-debounce.ts`). The tenant's `concurrent_runs` quota is not counted here: no run starts now.
   */
  private async debounced(
    definition: VersionedDefinition,
    input: Record<string, unknown>,
    context: StartContext,
    quotas?: RunQuotas,
  ): Promise<DebouncedOutcome> {
    const key = await this.keyAtStart(definition, input, this.ids.workflowId(definition.id));
    try {
      const answer = await againIfClosing(() =>
        debounceStart(
          this.options.client,
          { tenant: this.ids.tenant, taskQueue: this.options.taskQueue },
          definition,
          key,
          this.workflowOptions(definition, input, context, quotas),
        ),
      );
      return {
        created: false,
        debounced: {
          accepted: true,
          debounced: true,
          run_id: this.ids.runId(answer.workflow_id),
          definition_id: definition.id,
          definition_version: definition.version,
          starts_after: answer.starts_after,
          starts: answer.starts,
        },
      };
    } catch (err) {
      return mapTemporalError(err);
    }
  }

  /** `options.concurrency_key` over the start's input (`interpreter/run-limits.ts`); one that fails answers 400. */
  private async keyAtStart(
    definition: VersionedDefinition,
    input: Record<string, unknown>,
    workflowId: string,
  ): Promise<string | null> {
    const resolved = resolveRunInput(definition, input);
    const run = {
      id: workflowId,
      definition_id: definition.id,
      definition_version: definition.version,
      started_at: new Date().toISOString(),
    };
    try {
      return await keyAtStart(
        definition.options.concurrency_key,
        initialState(run, input, resolved.ok ? resolved.variables : {}),
      );
    } catch (err) {
      const message = `could not be evaluated over this input: ${err instanceof Error ? err.message : String(err)}`;
      throw validationFailed([{ path: '/options/concurrency_key', message }], 'the run cannot start');
    }
  }

  /** Gives back a run permit taken for a run that did not start. */
  private async giveBack(limiter: string, workflowId: string): Promise<void> {
    await this.options.client.workflow
      .getHandle(limiter)
      .signal('release', { workflow_id: workflowId, run_id: '', exec: RUN_PERMIT })
      // The limiter's check of its holders takes it back when this cannot be sent.
      .catch(() => undefined);
  }

  private startedRun(definition: VersionedDefinition, workflowId: string, instanceId: string): StartedRun {
    return {
      run_id: this.ids.runId(workflowId),
      instance_id: instanceId,
      definition_id: definition.id,
      definition_version: definition.version,
      ui_url: this.uiUrl(workflowId, instanceId),
    };
  }

  /** The idempotent answer for a run_id that is taken: the same start, or a conflict saying why. */
  private async existing(
    definition: VersionedDefinition,
    input: Record<string, unknown>,
    workflowId: string,
  ): Promise<StartOutcome> {
    let description: Awaited<ReturnType<WorkflowHandle['describe']>>;
    try {
      description = await this.options.client.workflow.getHandle(workflowId).describe();
    } catch (err) {
      return mapTemporalError(err, workflowId);
    }
    const memo = description.memo ?? {};
    const taken = `a run with run_id "${this.ids.runId(workflowId)}" already exists`;
    if (memo.definition_id !== definition.id) {
      throw new HttpError('conflict', `${taken} for another definition`);
    }
    if (memo.definition_version !== definition.version) {
      throw new HttpError(
        'conflict',
        `${taken} on version ${String(memo.definition_version)}, not ${definition.version}`,
      );
    }
    if (memo.input_hash !== inputHash(input)) {
      throw new HttpError('conflict', `${taken} with a different input`);
    }
    const instanceId = description.raw.workflowExecutionInfo?.firstRunId || description.runId;
    return { created: false, run: this.startedRun(definition, workflowId, instanceId) };
  }

  /** A handle on one of this tenant's runs. */
  handle(runId: string): WorkflowHandle {
    return this.options.client.workflow.getHandle(this.ids.workflowId(runId));
  }

  /** The run state for running and closed runs (answered by the workflow's state query). */
  async state(runId: string): Promise<RunStateView> {
    const handle = this.handle(runId);
    try {
      // `workflow_id` in the state stays Temporal's id (`<tenant>/<run id>`), as the Web UI shows it.
      const state = await handle.query<RunStateView>('state');
      if (state.status !== 'running' && state.status !== 'paused') return state;
      // Terminated (cancel {"force": true}) or timed out, the run never recorded its own end: the
      // query replays it up to there, still running. Temporal knows it closed.
      const description = await handle.describe();
      if (description.status.name === 'RUNNING') return state;
      const reportsCost = description.memo?.reports_cost === true;
      return closedByTemporal(state, await this.outcome(handle, reportsCost));
    } catch (err) {
      return mapTemporalError(err, runId);
    }
  }

  /** Who wrote each variable of a running or closed run (the workflow's lineage query). */
  async lineage(runId: string): Promise<RunLineage> {
    try {
      const lineage = await this.handle(runId).query<RunLineage>('lineage');
      // The workflow knows itself by its workflow id; the caller asked by its run id.
      return { ...lineage, run_id: runId };
    } catch (err) {
      return mapTemporalError(err, runId);
    }
  }

  /** The resolved input of a node's most recent call, read from the run's history (`node-input.ts`). */
  async nodeInput(runId: string, node: string): Promise<NodeInput> {
    try {
      const history = await this.handle(runId).fetchHistory();
      return await nodeInputOf(this.options.client.options.loadedDataConverter, runId, node, history.events ?? []);
    } catch (err) {
      // fetchHistory hands the raw gRPC error on: NOT_FOUND is code 5.
      if ((err as { code?: unknown } | null)?.code === 5) throw notFound(`run "${runId}"`);
      return mapTemporalError(err, runId);
    }
  }

  /** The run's outcome; with `waitMs`, waits that long for a running run to close. */
  async result(runId: string, waitMs = 0): Promise<RunResult> {
    const handle = this.handle(runId);
    try {
      const description = await handle.describe();
      // A child run started by a parent since weft-child-cost returns `{ result, cost }` to it.
      const reportsCost = description.memo?.reports_cost === true;
      if (description.status.name !== 'RUNNING') return await this.outcome(handle, reportsCost);
      if (waitMs <= 0) return { status: 'running' };
      // When the wait runs out, its long poll is cancelled, not left to poll on after the answer.
      const abort = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<RunResult>((resolve) => {
        timer = setTimeout(() => {
          abort.abort();
          resolve({ status: 'running' });
        }, waitMs);
      });
      const outcome = this.options.client.connection.withAbortSignal(abort.signal, () =>
        this.outcome(handle, reportsCost),
      );
      outcome.catch(() => undefined); // settles after the answer when the wait ran out
      try {
        return await Promise.race([outcome, timeout]);
      } finally {
        clearTimeout(timer);
      }
    } catch (err) {
      return mapTemporalError(err, runId);
    }
  }

  private async outcome(handle: WorkflowHandle, reportsCost: boolean): Promise<RunResult> {
    try {
      const result: unknown = await handle.result();
      return { status: 'completed', result: reportsCost ? (result as { result?: unknown } | null)?.result : result };
    } catch (err) {
      if (!(err instanceof WorkflowFailedError)) throw err;
      return closedWithError(err);
    }
  }
}

/**
 * The state of a run that Temporal closed without the run's taking part (terminated, timed out):
 * the outcome `/result` answers (`failed` with `Terminated` or `Timeout`), and the nodes that were
 * still pending, running or waiting `cancelled`, since none of them will ever go on.
 */
export function closedByTemporal(state: RunStateView, outcome: RunResult): RunStateView {
  const nodes = Object.fromEntries(
    Object.entries(state.nodes).map(([id, node]) => [
      id,
      ['pending', 'running', 'waiting'].includes(node.status) ? { ...node, status: 'cancelled' as const } : node,
    ]),
  );
  const { pause_reason: _paused, ...rest } = state;
  return {
    ...rest,
    status: outcome.status === 'running' ? state.status : outcome.status,
    current_node: null,
    active_nodes: [],
    nodes,
    ...(outcome.error ? { error: outcome.error } : {}),
    ...('result' in outcome ? { result: outcome.result } : {}),
  };
}

function closedWithError(err: WorkflowFailedError): RunResult {
  const cause = err.cause;
  if (cause instanceof CancelledFailure)
    return { status: 'cancelled', error: { type: 'Cancelled', message: cause.message } };
  if (cause instanceof TerminatedFailure)
    return { status: 'failed', error: { type: 'Terminated', message: cause.message } };
  if (cause instanceof TimeoutFailure)
    return { status: 'failed', error: { type: 'Timeout', message: 'the run timed out' } };
  if (cause instanceof ApplicationFailure) {
    const detail = cause.details?.[0] as Partial<RunError> | undefined;
    const error: RunError = { type: cause.type ?? 'Error', message: detail?.message ?? cause.message };
    if (detail?.node) error.node = detail.node;
    return { status: 'failed', error };
  }
  return { status: 'failed', error: { type: 'Error', message: cause?.message ?? err.message } };
}
