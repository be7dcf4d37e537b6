/**
 * The one generic workflow. It carries out what the interpreter decides: it starts the
 * activities, timers and child runs the interpreter asks for, feeds their outcomes back as
 * events, routes operator actions (updates) and external events into the interpreter, answers
 * the state query, and continues-as-new when the history grows long. No semantic rule lives
 * here; they are all in `interpreter/` and unit-tested there.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  ActivityCancellationType,
  CancellationScope,
  ChildWorkflowFailure,
  ContinueAsNew,
  TimeoutFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  makeContinueAsNewFunc,
  defineSignal,
  defineUpdate,
  executeChild,
  getExternalWorkflowHandle,
  proxySinks,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
  type Sinks,
} from '@temporalio/workflow';
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import type { Activities } from '../activities/index.js';
import type { DefinitionActivities } from '../activities/definitions.js';
import type { EventActivities } from '../activities/event-mailbox.js';
import type { LimiterActivities } from '../activities/limiter.js';
import type { FailureDetails } from '../activities/errors.js';
import type {
  ActivityPlan,
  CallCost,
  Command,
  EngineEvent,
  ExternalEvent,
  WorkCommand,
} from '../interpreter/commands.js';
import {
  applyControl,
  checkControl,
  deliverEvent,
  failedNodes,
  upgradeOf,
  type ControlAction,
  type DeliveryStatus,
} from '../interpreter/control.js';
import type { Definition } from '../interpreter/definition-schema.js';
import {
  compileProgram,
  handleEvent,
  initialState,
  pendingWork,
  permitGranted,
  permitWaiting,
  startRun,
  useEvaluation,
} from '../interpreter/engine.js';
import { SLICE_LIMITS, segmentFull, yieldSlice, type Slices } from '../interpreter/expression-budget.js';
import { viewLineage, type RunLineage } from '../interpreter/lineage.js';
import type { RunQuotas } from '../interpreter/quotas.js';
import { truncateMessage } from '../interpreter/messages.js';
import { resolveRunInput } from '../interpreter/run-input.js';
import { taintedParamPointers } from '../interpreter/taint.js';
import {
  untilReturned,
  viewRunState,
  type Execution,
  type RunError,
  type RunState,
  type RunStateView,
} from '../interpreter/run-state.js';
import { isClosed, runTransition } from '../interpreter/state-ops.js';
import { moveToVersion, repeatedBy } from '../interpreter/run-surgery.js';
import { remainingBudget } from '../interpreter/budget.js';
import { RUN_PERMIT, runPermitKey, shownKey } from '../interpreter/run-limits.js';
import type { EventSinks } from './event-mailbox.js';
import type { PermitMessage } from './limiter.js';
import { describeRun } from './run-details.js';
import { StatusKey, statusPublisher } from './status-attribute.js';
import {
  CHILD_COST_PATCH,
  failedChildCost,
  inheritBudget,
  readChildOutcome,
  type ChildArgs,
  type ChildOutcome,
} from './child-cost.js';

/** The run's definition version as visibility shows it (kept current when a run moves to another version). */
const DefinitionVersionKey = defineSearchAttributeKey('WeftDefinitionVersion', SearchAttributeType.KEYWORD);

/** Marks runs whose expression failure messages are cut to `MAX_MESSAGE_BYTES` (interpreter/messages.ts). */
export const BOUNDED_MESSAGES_PATCH = 'weft-bounded-failure-messages';
/** Marks runs whose budget held back an item of an `ai` map (interpreter/budget.ts); older runs started every item. */
export const BUDGET_EVERY_CALL_PATCH = 'weft-budget-every-call';
/** Marks runs with a budget whose AI calls say so (`budgeted`): the activity refuses a model without a price. */
export const AI_BUDGETED_PATCH = 'weft-ai-budgeted';
/**
 * Marks runs that started a child while another child was running: the new child gets what is
 * left of the budget minus what the running ones were handed, so children at once cannot spend
 * it more than once. Older runs gave each child the whole remainder.
 */
export const CHILD_BUDGET_RESERVE_PATCH = 'weft-child-budget-reserve';
/** Marks runs in which a node failed with StateTooLarge (`interpreter/state-size.ts`); older runs grew the state unbounded. */
export const STATE_BOUND_PATCH = 'weft-state-bound';
/** Marks runs in which a null-key event wait ignored an event with a key; older runs let it take the event. */
export const KEYLESS_ONLY_PATCH = 'weft-keyless-wait-only';
/**
 * A loop on a branch not taken dies as a whole (its members `skipped`, dead tokens along its exits)
 * instead of waiting for back edges that never come, which left what follows it `pending`.
 */
export const DEAD_LOOPS_PATCH = 'weft-dead-loops';
/** Marks runs whose connector calls name the params rendered from secret-derived values (`call.mask`). */
export const TAINT_MASK_PATCH = 'weft-taint-mask';
/**
 * Marks runs in which an operator skipped a running node: its activity (or child run) is
 * cancelled and the node completes with the given output. Written only when such a skip is
 * taken, so other runs' histories are unchanged; older workers refused the skip.
 */
export const SKIP_RUNNING_PATCH = 'weft-skip-running';

/** What the gateway passes when it starts a run: the pinned definition version and the input. */
export interface InterpretArgs {
  definition: Definition & { version: string };
  input?: Record<string, unknown>;
  /**
   * Carried across continue-as-new, or set by the gateway for a retry or rerun of a closed run:
   * the state to go on from, and the nodes to retry or the node to rerun from (with its actor).
   */
  resume?: {
    state: RunState;
    retry_nodes?: string[];
    /** Who retried (when the retry came with a move to another version). */
    retry_by?: { by: string; request_id?: string };
    rerun?: { from: string; variables?: Record<string, unknown>; by: string; request_id?: string };
  };
  /** Continue-as-new once the history holds this many events (default 5,000). */
  continue_as_new_after?: number;
  /** The tenant's run-time quotas, set by the gateway at start and kept in the state; absent: none. */
  quotas?: RunQuotas;
  /** Set by the parent run that started this one: report the cost, stop at its budget (`child-cost.ts`). */
  child?: ChildArgs;
  /** Who started the run (the gateway's actor), kept as `run.started_by` (forbid_self_approval reads it). */
  started_by?: string;
  /**
   * The run permit (`options.max_concurrent_runs`) this run holds already: taken by the gateway for
   * a start with `on_limit: "skip"`, or carried across continue-as-new. Absent: the run takes one.
   */
  run_permit?: { limiter: string; key: string | null };
  /** The priority the run was started with (1–5, 5 highest), over `options.priority`. */
  priority?: number;
  /**
   * The task queue of each routed connector's (and `ai`'s) calls (`WEFT_CONNECTOR_QUEUES`), fixed
   * for the run when it starts: continue-as-new carries it and child runs inherit it, so a change
   * of configuration never moves the calls of a run under way (which replay would refuse). A
   * connector not in it, and everything else (permits, definition loading, event waits), runs on
   * the run's own queue. Absent: every activity on the run's queue, as before routing existed.
   */
  connector_queues?: Readonly<Record<string, string>>;
}

export interface ControlResult {
  accepted: true;
  status: RunStateView['status'];
}

export const stateQuery = defineQuery<RunStateView>('state');
/** The interpreter's own state, unmasked: what a retry of a closed failed run starts from. */
export const rawStateQuery = defineQuery<RunState>('raw_state');
/** Which node wrote each variable, from which inputs, and when (the latest writes per variable). */
export const lineageQuery = defineQuery<RunLineage>('lineage');
export const eventSignal = defineSignal<[ExternalEvent]>('event');
export const deliverEventUpdate = defineUpdate<{ status: DeliveryStatus }, [ExternalEvent]>('deliver_event');
export const controlUpdate = defineUpdate<ControlResult, [ControlAction]>('control');
/** From a node's limiter (`workflows/limiter.ts`): an execution's place in line, or its permit. */
export const permitSignal = defineSignal<[PermitMessage]>('permit');

/**
 * Runs since this patch hold a permit of the node's limiter while a task/ai execution with
 * `resource_limits.max_concurrency` runs (workflows/limiter.ts). The marker is written the first
 * time such an execution starts, so runs without limits keep their histories unchanged; runs
 * recorded before it ran their limited nodes unlimited, and replay so.
 */
export const RESOURCE_LIMITS_PATCH = 'weft-resource-limits';
/**
 * Runs since this patch of a definition with `options.max_concurrent_runs` hold a run permit of the
 * definition's run limiter (node `__run__`) from before their first node until they end. Asked only
 * for such definitions (new with this patch), so other runs' histories are unchanged.
 */
export const RUN_LIMITS_PATCH = 'weft-run-limits';

const DEFAULT_CONTINUE_AS_NEW_AFTER = 5_000;

/** Run-time quota refusals, counted by the worker (never called on replay). */
export interface QuotaSinks extends Sinks {
  weftQuotas: { refused(quota: string): void };
}
const { weftQuotas } = proxySinks<QuotaSinks>();
const { weftEvents } = proxySinks<EventSinks>();

/**
 * Runs waiting at an `event` node since this patch register with the mailbox of the (type, key)
 * they wait for (`workflows/event-mailbox.ts`), which sends them its events as `event` signals,
 * and unregister once they no longer wait there. The marker is written the first time a run
 * waits for an event, so runs that never do keep their histories unchanged; a run parked before
 * the patch registers at its next activation.
 */
export const EVENT_MAILBOX_PATCH = 'weft-event-mailbox';

/** Mailbox-side identity of what an event node waits for (the engine compares keys as strings). */
function waitKey(execution: Extract<Execution, { kind: 'event' }>): string {
  const key = execution.correlation_key;
  const k = key === null || key === undefined ? '' : typeof key === 'string' ? `k${key}` : `k${JSON.stringify(key)}`;
  return `${execution.event_type}\n${k}`;
}

/**
 * Runs started since this patch evaluate with the linear-time regex engine and in slices: every
 * SLICE_LIMITS.units of work the run yields on a 1 ms durable timer, in the middle of an
 * expression if need be, so no activation holds the sandbox long on a loaded host. Runs started
 * before it replay with the backtracking engine and the per-step budget alone.
 */
export const EXPRESSION_SLICES_PATCH = 'weft-expression-slices';

/**
 * Runs since this patch bound the counted work of one workflow execution (SEGMENT_LIMITS in
 * interpreter/expression-budget.ts): once it is done, the engine hands back, the run starts no
 * new work (nor the timers that resume parked engine work), lets what is in flight end and
 * continues as new, so a worker that lost the run from its cache never replays more than one
 * segment in a workflow task. Asked only when a bound is first passed, so runs that never pass
 * it keep their histories; runs recorded before it replay unbounded.
 */
export const BOUNDED_SEGMENTS_PATCH = 'weft-bounded-segments';

/** A local call's retry backoff up to this long waits inside the worker; a longer one on a durable timer. */
const LOCAL_RETRY_THRESHOLD_MS = 10_000;

function activityOptions(plan: ActivityPlan) {
  return {
    startToCloseTimeout: plan.start_to_close_ms,
    summary: plan.summary,
    retry: {
      maximumAttempts: plan.retry.maximum_attempts,
      initialInterval: plan.retry.initial_interval_ms,
      backoffCoefficient: plan.retry.backoff_coefficient,
      maximumInterval: plan.retry.maximum_interval_ms,
      nonRetryableErrorTypes: plan.retry.non_retryable_error_types,
    },
  };
}

/** Usage an AI step reports with its failure, so a failed call still counts against the budget. */
function failedCallCost(details: Partial<FailureDetails> | undefined): CallCost | undefined {
  const detail = details?.detail as
    { usage?: { input_tokens?: number; output_tokens?: number }; cost_usd?: number } | undefined;
  if (!detail?.usage || typeof detail.cost_usd !== 'number') return undefined;
  return {
    usd: detail.cost_usd,
    input_tokens: detail.usage.input_tokens ?? 0,
    output_tokens: detail.usage.output_tokens ?? 0,
  };
}

/** Translates a failure into the language's error shape (type, message, attempts). */
function failureOf(
  err: unknown,
  maxAttempts: number,
): { type: string; message: string; attempts: number; cost?: CallCost } {
  let cause = err instanceof ActivityFailure || err instanceof ChildWorkflowFailure ? err.cause : err;
  if (cause instanceof ChildWorkflowFailure) cause = cause.cause;
  if (cause instanceof ApplicationFailure) {
    const details = cause.details?.[0] as Partial<FailureDetails> | undefined;
    const attempts = typeof details?.attempt === 'number' ? details.attempt : maxAttempts;
    const cost = failedCallCost(details) ?? failedChildCost(details);
    return { type: cause.type ?? 'Error', message: cause.message, attempts, ...(cost ? { cost } : {}) };
  }
  if (cause instanceof TimeoutFailure) {
    return {
      type: 'Timeout',
      message: `timed out (${cause.timeoutType ?? 'unknown'}) after its retries`,
      attempts: maxAttempts,
    };
  }
  return { type: 'Error', message: cause instanceof Error ? cause.message : String(cause), attempts: maxAttempts };
}

/** An execution waiting for (or holding) a permit of its node's limiter. */
interface PermitWait {
  node: string;
  key: string | null;
  granted: boolean;
  grant: () => void;
  limiter?: string;
  /** Its place in line as the limiter last told it (1: next); unknown until told. */
  position?: number;
}

/** What the state view shows of the executions waiting for a permit. */
function permitWaits(permits: Map<string, PermitWait>): Map<string, { key: string | null; position?: number }> {
  const waits = new Map<string, { key: string | null; position?: number }>();
  for (const [exec, wait] of permits)
    if (!wait.granted)
      waits.set(exec, { key: wait.key, ...(wait.position === undefined ? {} : { position: wait.position }) });
  return waits;
}

type InboxItem =
  | { kind: 'engine'; event: EngineEvent }
  | { kind: 'permit'; exec: string }
  | { kind: 'control'; action: ControlAction; done: (refused?: string) => void }
  | { kind: 'event'; event: ExternalEvent; done: (status: DeliveryStatus) => void };

export async function interpret(args: InterpretArgs): Promise<unknown> {
  const info = workflowInfo();
  const { definition } = args;
  // Runs recorded before failure messages were bounded keep theirs whole on replay; the patch
  // marker is written only when a message is actually cut, so other runs' histories are unchanged.
  const program = {
    ...compileProgram(definition),
    boundMessage: (message: string) => {
      const cut = truncateMessage(message);
      return cut !== message && patched(BOUNDED_MESSAGES_PATCH) ? cut : message;
    },
    // Asked only when the budget would hold a map item back, so other runs' histories are unchanged.
    budgetEveryCall: () => patched(BUDGET_EVERY_CALL_PATCH),
    // Asked only when a write would take the state over its bound, so other runs' histories are unchanged.
    stateBound: () => patched(STATE_BOUND_PATCH),
    // Asked only when a keyed event would match a null-key wait, so other runs' histories are unchanged.
    keylessOnly: () => patched(KEYLESS_ONLY_PATCH),
    // Asked only when every edge entering a loop arrived dead, so other runs' histories are unchanged.
    deadLoops: () => patched(DEAD_LOOPS_PATCH),
  };
  const now = () => new Date().toISOString();
  const ids = { workflow_id: info.workflowId, instance_id: info.runId };

  let state: RunState;
  if (args.resume) {
    state = args.resume.state;
  } else {
    const resolved = resolveRunInput(definition, args.input ?? {});
    if (!resolved.ok) {
      const message = resolved.problems.map((p) => `${p.path}: ${p.message}`).join('; ');
      throw ApplicationFailure.create({
        type: 'InvalidInput',
        message,
        nonRetryable: true,
        details: [resolved.problems],
      });
    }
    const run = {
      id: info.workflowId,
      definition_id: definition.id,
      definition_version: definition.version,
      started_at: info.startTime.toISOString(),
      ...(args.started_by === undefined ? {} : { started_by: args.started_by }),
    };
    state = initialState(run, args.input ?? {}, resolved.variables, args.quotas);
    inheritBudget(state, definition.options.max_cost_usd, args.child);
  }

  // The run's priority (a start's own, over options.priority): its place in run and node limiters' lines.
  const runPriority = args.priority ?? definition.options.priority;
  const inbox: InboxItem[] = [];
  let slices: Slices | undefined;
  if (patched(EXPRESSION_SLICES_PATCH)) {
    let bounded: boolean | undefined;
    slices = {
      used: 0,
      spent: 0,
      pause: () => sleep(1),
      waiting: () => inbox.length > 0,
      bounded: () => (bounded ??= patched(BOUNDED_SEGMENTS_PATCH)),
    };
    useEvaluation(state, { slices });
  } else {
    useEvaluation(state, { legacyRegex: true });
  }
  const publishStatus = statusPublisher();
  const scopes = new Map<string, CancellationScope>();
  const running = new Set<string>(); // activities and child runs in flight (not timers)
  // What each running child was handed of the budget; its cost counts in the run's when it ends.
  const reserved = new Map<string, number>();
  const canAfter = args.continue_as_new_after ?? DEFAULT_CONTINUE_AS_NEW_AFTER;
  let continueDue = false;
  let closing: Extract<Command, { type: 'complete' | 'fail' }> | undefined;
  // A retry or rerun of the paused run on another version: the run continues as new on it.
  let upgrade: { definition: InterpretArgs['definition']; resume: NonNullable<InterpretArgs['resume']> } | undefined;

  // Executions waiting for (or holding) a permit of their node's limiter, by exec id.
  const permits = new Map<string, PermitWait>();
  // The graph can end before the workflow returns (mailboxes to unregister, permits to release,
  // handlers to finish): until it returns, the state query says "running", as Temporal does.
  let returned = false;
  // The run permit (options.max_concurrent_runs) this run waits for or holds.
  let runPermit: { key: string | null; granted: boolean; limiter?: string; position?: number } | undefined =
    args.run_permit ? { ...args.run_permit, granted: true } : undefined;
  setHandler(stateQuery, () => {
    const view = untilReturned(viewRunState(definition, state, ids, permitWaits(permits)), returned);
    if (!runPermit || runPermit.granted || returned) return view;
    const { position } = runPermit;
    const key = shownKey(definition, runPermit.key);
    return {
      ...view,
      queued: { for: 'options.max_concurrent_runs', key, ...(position ? { position } : {}) },
    };
  });
  setHandler(rawStateQuery, () => state);
  setHandler(lineageQuery, () => viewLineage(state));
  setHandler(eventSignal, (event) => void inbox.push({ kind: 'event', event, done: () => undefined }));
  setHandler(
    deliverEventUpdate,
    (event) =>
      new Promise<{ status: DeliveryStatus }>((resolve) =>
        inbox.push({ kind: 'event', event, done: (status) => resolve({ status }) }),
      ),
    {
      // Once the graph ended nothing drains the inbox: an Update accepted then would never be
      // answered and would keep the run open forever. Validators do not run on replay.
      validator: (_event: ExternalEvent) => {
        if (isClosed(state.status)) throw new Error(`the run is ${state.status}`);
      },
    },
  );
  setHandler(
    controlUpdate,
    async (action) => {
      const refused = await new Promise<string | undefined>((resolve) =>
        inbox.push({ kind: 'control', action, done: resolve }),
      );
      if (refused) throw ApplicationFailure.create({ type: 'Rejected', message: refused, nonRetryable: true });
      return { accepted: true, status: state.status };
    },
    {
      validator: (action: ControlAction) => {
        const reason = checkControl(program, state, action);
        if (reason) throw new Error(reason);
      },
    },
  );

  /** The run's current details in the Web UI (not history): status, active nodes, what it waits for. */
  const showDetails = () => setCurrentDetails(describeRun(definition, state, permitWaits(permits)));
  const { requestPermit } = proxyActivities<LimiterActivities>({
    startToCloseTimeout: '30s',
    summary: 'ask for a permit',
    // Until it succeeds: without the request the execution would wait for ever.
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
  });
  // Releases on their way: the run must not close before they are sent (Temporal drops them).
  const releasing = new Set<Promise<void>>();
  const releasePermit = (limiter: string, exec: string, runId = info.runId): void => {
    const sent = CancellationScope.nonCancellable(() =>
      getExternalWorkflowHandle(limiter).signal('release', {
        workflow_id: info.workflowId,
        run_id: runId,
        exec,
      }),
    )
      .catch(() => undefined)
      .finally(() => releasing.delete(sent));
    releasing.add(sent);
  };
  setHandler(permitSignal, (message) => {
    if (message.exec === RUN_PERMIT) {
      // Granted after the run gave its place up (cancelled while queued): give it back.
      if (!runPermit) {
        if (message.granted) releasePermit(message.limiter, RUN_PERMIT, '');
      } else if (message.granted) {
        runPermit.granted = true;
        delete runPermit.position;
      } else if (message.position !== undefined && !runPermit.granted) {
        runPermit.position = message.position;
      }
      return;
    }
    const wait = permits.get(message.exec);
    if (!wait) {
      // Granted to an execution that is over (cancelled while its request was on the way): give it back.
      if (message.granted) releasePermit(message.limiter, message.exec);
      return;
    }
    if (message.granted) {
      wait.granted = true;
      delete wait.position;
      wait.grant();
      // The call starts at once; the state notes it in its next step.
      inbox.push({ kind: 'permit', exec: message.exec });
    } else if (message.position !== undefined && !wait.granted) {
      wait.position = message.position;
      // Not in history: the Web UI's current details name the new place in line at once.
      showDetails();
    }
  });
  /** Whether the execution holds a permit of its node's limiter while it runs (RESOURCE_LIMITS_PATCH). */
  const limited = (command: Extract<WorkCommand, { type: 'run_activity' | 'run_ai' }>): boolean =>
    command.limit !== undefined && patched(RESOURCE_LIMITS_PATCH);
  /**
   * The queue a call is routed to (`args.connector_queues`, by connector or `ai`); without a
   * table or an entry the option is left out, so the call is scheduled exactly as before routing.
   */
  const routing = (command: Extract<WorkCommand, { type: 'run_activity' | 'run_ai' }>): { taskQueue?: string } => {
    const table = args.connector_queues;
    const name = command.type === 'run_ai' ? 'ai' : command.call.connector;
    return table && Object.prototype.hasOwnProperty.call(table, name) ? { taskQueue: table[name] } : {};
  };
  /**
   * A limited call's activity is awaited to its real end when cancelled (WAIT_CANCELLATION_COMPLETED):
   * the permit is held while the call may still be running on a worker, so the limit counts calls
   * actually in flight.
   */
  const callOptions = (command: Extract<WorkCommand, { type: 'run_activity' | 'run_ai' }>) => ({
    ...activityOptions(command.plan),
    ...routing(command),
    ...(limited(command) ? { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED } : {}),
  });
  /**
   * A local call (`plan.local`, README "Local execution") runs as a local activity on this worker,
   * inside the workflow task: no `taskQueue`, so a connector routed to another queue keeps its
   * activity there (the operator's placement wins). Backoffs up to LOCAL_RETRY_THRESHOLD wait in
   * the worker; longer ones on a durable timer. A cancel does not wait for the call, as with an
   * activity (validation refuses local calls with a limiter permit).
   */
  const connectorActivity = (command: Extract<WorkCommand, { type: 'run_activity' }>) => {
    if (!command.plan.local || routing(command).taskQueue !== undefined)
      return proxyActivities<Activities>(callOptions(command));
    return proxyLocalActivities<Activities>({
      ...activityOptions(command.plan),
      localRetryThreshold: LOCAL_RETRY_THRESHOLD_MS,
      cancellationType: ActivityCancellationType.TRY_CANCEL,
    });
  };
  /**
   * Runs `start` in `scope`, holding a permit of the node's limiter when its command has a
   * limit: asks for it, waits for it (cancellable: the scope's cancel gives the place up), and
   * gives it back however the execution ends.
   */
  const withPermit = <T>(
    command: Extract<WorkCommand, { type: 'run_activity' | 'run_ai' }>,
    scope: CancellationScope,
    start: () => Promise<T>,
  ): Promise<T> => {
    const { limit } = command;
    if (!limit || !limited(command)) return scope.run(start);
    let grant: () => void = () => undefined;
    const granted = new Promise<void>((resolve) => (grant = resolve));
    const wait: PermitWait = { node: command.node, key: limit.key, granted: false, grant };
    permits.set(command.exec, wait);
    permitWaiting(state, command.exec, limit.key, now());
    return scope.run(async () => {
      try {
        // Not cancellable: once asked the limiter knows of it, so the id is needed to give the place up.
        wait.limiter = await CancellationScope.nonCancellable(() =>
          requestPermit({
            definition_id: definition.id,
            node: command.node,
            key: limit.key,
            ...(limit.max_concurrency === undefined ? {} : { max_concurrency: limit.max_concurrency }),
            ...(limit.rate ? { rate: limit.rate } : {}),
            ...(runPriority === undefined ? {} : { priority: runPriority }),
            exec: command.exec,
          }),
        );
        await Promise.race([granted, CancellationScope.current().cancelRequested]);
        return await start();
      } finally {
        permits.delete(command.exec);
        if (wait.limiter) releasePermit(wait.limiter, command.exec);
      }
    });
  };
  const { tryRunPermit } = proxyActivities<LimiterActivities>({
    startToCloseTimeout: '30s',
    summary: 'take a run permit if one is free',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
  });
  /**
   * Takes the run's permit before its first node (options.max_concurrent_runs, RUN_LIMITS_PATCH):
   * waits in line for it ("queue"; an operator's cancel ends the wait), or takes one only if free
   * ("skip": "refused" when none is).
   */
  const admitted = async (): Promise<'admitted' | 'refused' | 'cancelled'> => {
    const limit = definition.options.max_concurrent_runs;
    if (limit === undefined || runPermit || !patched(RUN_LIMITS_PATCH)) return 'admitted';
    const key = await runPermitKey(definition, state);
    const priority = runPriority;
    const ask = {
      definition_id: definition.id,
      key,
      max_concurrency: limit,
      ...(priority === undefined ? {} : { priority }),
    };
    if (definition.options.on_limit === 'skip') {
      const answer = await tryRunPermit(ask);
      if (answer.granted) runPermit = { key, granted: true, limiter: answer.limiter };
      return answer.granted ? 'admitted' : 'refused';
    }
    const wait: { key: string | null; granted: boolean; limiter?: string } = { key, granted: false };
    runPermit = wait;
    // Not cancellable: once asked the limiter knows of it, so the id is needed to give the place up.
    wait.limiter = await CancellationScope.nonCancellable(() =>
      requestPermit({ ...ask, node: RUN_PERMIT, exec: RUN_PERMIT, holder: 'run' }),
    );
    // Nothing drains the inbox before the first node: a cancel arriving meanwhile ends the wait.
    const cancelled = () => inbox.some((item) => item.kind === 'control' && item.action.type === 'cancel');
    await condition(() => wait.granted || cancelled());
    return wait.granted ? 'admitted' : 'cancelled';
  };
  /** The run permit given back (the release sent) before the run closes; continue-as-new keeps it. */
  const runPermitReleased = async (): Promise<void> => {
    const held = runPermit;
    runPermit = undefined;
    if (held?.limiter) releasePermit(held.limiter, RUN_PERMIT, '');
    await CancellationScope.nonCancellable(() => Promise.all([...releasing]));
  };
  /** Every permit given back (and the releases sent) before the run closes or continues. */
  const permitsReleased = async (): Promise<void> => {
    await CancellationScope.nonCancellable(async () => {
      await condition(() => permits.size === 0);
      await Promise.all([...releasing]);
    });
  };

  const settle = (exec: string, event: EngineEvent) => {
    scopes.delete(exec);
    running.delete(exec);
    inbox.push({ kind: 'engine', event });
  };

  /** Starts a child run; since CHILD_COST_PATCH it reports its cost and gets the remaining budget. */
  const startChild = (command: Extract<WorkCommand, { type: 'start_child' }>, scope: CancellationScope): void => {
    const { exec } = command;
    const { loadDefinition } = proxyActivities<DefinitionActivities>({
      startToCloseTimeout: '30s',
      summary: `${command.node}: load ${command.call.definition}`,
      retry: { maximumAttempts: 5 },
    });
    const childId = `${info.workflowId}.${exec.replace('#', '-').replace('/', '-')}`;
    const reporting = patched(CHILD_COST_PATCH);
    const left = remainingBudget(program, state);
    let handed = 0;
    for (const usd of reserved.values()) handed += usd;
    // patched() only when a sibling holds part of the budget, so other runs' histories are unchanged.
    const budget =
      left !== undefined && handed > 0 && patched(CHILD_BUDGET_RESERVE_PATCH) ? Math.max(0, left - handed) : left;
    if (budget !== undefined && reporting) reserved.set(exec, budget);
    const child: ChildArgs = budget === undefined ? {} : { budget_usd: budget };
    scope
      .run(async () => {
        const definition = await loadDefinition({
          id: command.call.definition,
          ...(command.call.version ? { version: command.call.version } : {}),
        });
        return executeChild(interpret, {
          workflowId: childId,
          args: [
            {
              definition,
              input: command.call.input,
              ...(state.quotas ? { quotas: state.quotas } : {}),
              ...(reporting ? { child } : {}),
              // A child run is started on behalf of whoever started its parent.
              ...(state.run.started_by === undefined ? {} : { started_by: state.run.started_by }),
              // Its calls go where its parent's go.
              ...(args.connector_queues ? { connector_queues: args.connector_queues } : {}),
            },
          ],
          staticSummary: `${definition.name ?? definition.id} · ${definition.id} v${definition.version} (from ${command.node})`,
          memo: {
            definition_id: definition.id,
            definition_version: definition.version,
            parent: info.workflowId,
            ...(reporting ? { reports_cost: true } : {}),
          },
        });
      })
      .then(
        (output) => {
          reserved.delete(exec);
          settle(exec, { type: 'child_completed', exec, ...(reporting ? readChildOutcome(output) : { output }) });
        },
        (err: unknown) => {
          reserved.delete(exec);
          const f = failureOf(err, 1);
          const error = { type: f.type, message: f.message };
          settle(exec, { type: 'child_failed', exec, error, ...(f.cost ? { cost: f.cost } : {}) });
        },
      );
  };

  // Only definitions with secret-derived params get the patch marker (and the changed calls).
  const taintedParams = taintedParamPointers(definition);
  const masking = taintedParams.size > 0 && patched(TAINT_MASK_PATCH);
  const dispatch = (command: WorkCommand): void => {
    const scope = new CancellationScope();
    scopes.set(command.exec, scope);
    const { exec } = command;
    if (command.type === 'start_timer') {
      const ms = Math.max(0, Date.parse(command.deadline) - Date.now());
      scope
        .run(() => sleep(ms, { summary: command.summary }))
        .then(
          () => settle(exec, { type: 'timer_fired', exec }),
          () => scopes.delete(exec),
        );
      return;
    }
    running.add(exec);
    const settleWork = (
      work: Promise<{ output: unknown; attempt: number; cost?: CallCost; cached?: boolean }>,
      plan: ActivityPlan,
    ) =>
      work.then(
        (r) =>
          settle(exec, {
            type: 'activity_completed',
            exec,
            output: r.output,
            attempts: r.attempt,
            ...(r.cost ? { cost: r.cost } : {}),
            ...(r.cached ? { cached: true } : {}),
          }),
        (err: unknown) => {
          const f = failureOf(err, plan.retry.maximum_attempts);
          const error = { type: f.type, message: f.message };
          settle(exec, {
            type: 'activity_failed',
            exec,
            attempts: f.attempts,
            error,
            ...(f.cost ? { cost: f.cost } : {}),
          });
        },
      );
    if (command.type === 'run_activity') {
      const { runConnector } = connectorActivity(command);
      const mask = masking ? taintedParams.get(command.node) : undefined;
      void settleWork(
        withPermit(command, scope, () => runConnector(mask ? { ...command.call, mask } : command.call)),
        command.plan,
      );
    } else if (command.type === 'run_ai') {
      const { runAi } = proxyActivities<Activities>(callOptions(command));
      // Only runs with a budget tell the activity (and get the patch marker): it refuses unpriced models.
      const budgeted = remainingBudget(program, state) !== undefined && patched(AI_BUDGETED_PATCH);
      const call = withPermit(command, scope, () => runAi(budgeted ? { ...command.call, budgeted } : command.call));
      void settleWork(
        call.then((r) => ({
          output: r.output,
          attempt: r.attempt,
          cost: {
            usd: r.cost_usd,
            input_tokens: r.usage.input_tokens,
            output_tokens: r.usage.output_tokens,
            ...(r.unpriced ? { unpriced_model: r.model } : {}),
          },
        })),
        command.plan,
      );
    } else {
      startChild(command, scope);
    }
  };

  // The event mailboxes this run is registered with, by what it waits for (EVENT_MAILBOX_PATCH).
  const mailboxes = new Map<string, { token: string; id?: string; registering?: Promise<void> }>();
  const { registerEventWait } = proxyActivities<EventActivities>({
    startToCloseTimeout: '30s',
    summary: 'register with the event mailbox',
    // Until it succeeds: without the registration the run would not hear its events.
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
  });
  // Signals still on their way: the run must not close before they are sent (Temporal drops them).
  const unregistering = new Set<Promise<void>>();
  const unregister = (mailbox: string, token: string): Promise<void> => {
    const sent = getExternalWorkflowHandle(mailbox)
      .signal('unregister', { workflow_id: info.workflowId, token })
      .catch(() => undefined)
      .finally(() => unregistering.delete(sent));
    unregistering.add(sent);
    return sent;
  };
  const syncMailboxes = (): void => {
    const wanted = new Map<string, { exec: string; execution: Extract<Execution, { kind: 'event' }> }>();
    for (const [exec, execution] of Object.entries(state.inflight))
      if (execution.kind === 'event' && !wanted.has(waitKey(execution)))
        wanted.set(waitKey(execution), { exec, execution });
    if (wanted.size === 0 && mailboxes.size === 0) return;
    if (!patched(EVENT_MAILBOX_PATCH)) return;
    for (const [key, { exec, execution }] of wanted) {
      if (mailboxes.has(key)) continue;
      const entry: { token: string; id?: string; registering?: Promise<void> } = { token: exec };
      mailboxes.set(key, entry);
      entry.registering = registerEventWait({
        event_type: execution.event_type,
        correlation_key: execution.correlation_key,
        token: exec,
      }).then(
        // No longer waiting there by the time the registration is done: undo it.
        (id) => {
          entry.id = id;
          delete entry.registering;
          return mailboxes.get(key) === entry ? undefined : unregister(id, entry.token);
        },
        () => undefined,
      );
    }
    for (const [key, entry] of mailboxes) {
      if (wanted.has(key)) continue;
      mailboxes.delete(key);
      if (entry.id) void unregister(entry.id, entry.token);
    }
  };

  // The run's segment is done (BOUNDED_SEGMENTS_PATCH): parked engine work waits for the next run too.
  const segmentDone = () => slices !== undefined && segmentFull(slices);
  const perform = (commands: Command[]): void => {
    if (segmentDone()) continueDue = true;
    for (const command of commands) {
      if (command.type === 'complete' || command.type === 'fail') closing = command;
      else if (command.type === 'cancel') scopes.get(command.exec)?.cancel();
      // Work found while a continue-as-new is due stays recorded in the state and starts in the next run.
      else if (!continueDue || (command.type === 'start_timer' && !(segmentDone() && isYield(state, command))))
        dispatch(command);
    }
    showDetails();
    publishStatus(state.status);
    syncMailboxes();
    if (state.quota_refusals) {
      for (const quota of state.quota_refusals) weftQuotas.refused(quota);
      delete state.quota_refusals;
    }
  };

  /**
   * Prepares the move of the paused run to another version for a retry or rerun: the executions
   * of the nodes it repeats are cancelled, the state is mapped onto the version by node id, and
   * the action is what the continued run applies first.
   */
  const moveTo = (
    to: InterpretArgs['definition'],
    action: Extract<ControlAction, { type: 'retry' | 'rerun' }>,
  ): NonNullable<typeof upgrade> => {
    const actor = { by: action.by, ...(action.request_id === undefined ? {} : { request_id: action.request_id }) };
    const nodes = action.type === 'retry' ? (action.node === undefined ? failedNodes(state) : [action.node]) : [];
    const repeated = repeatedBy(to, action.type === 'retry' ? { type: 'retry', nodes } : action);
    for (const [exec, execution] of Object.entries(state.inflight)) {
      if (!repeated.has(execution.node) || (execution.kind === 'wait' && execution.purpose === 'yield')) continue;
      scopes.get(exec)?.cancel();
      delete state.inflight[exec];
    }
    const from = state.run.definition_version;
    moveToVersion(definition, to, state);
    runTransition(state, 'version_changed', now(), { ...actor, note: `version ${from} → ${to.version}` });
    syncMailboxes();
    const { definition: _moved, ...applied } = action;
    const resume: NonNullable<InterpretArgs['resume']> =
      applied.type === 'retry'
        ? { state, retry_nodes: nodes, retry_by: actor }
        : {
            state,
            rerun: {
              from: applied.from,
              ...actor,
              ...(applied.variables === undefined ? {} : { variables: applied.variables }),
            },
          };
    return { definition: to, resume };
  };

  const step = async (item: InboxItem): Promise<void> => {
    if (item.kind === 'engine') {
      perform(await handleEvent(program, state, item.event, now()));
    } else if (item.kind === 'permit') {
      permitGranted(state, item.exec, now());
      perform([]);
    } else if (item.kind === 'control') {
      // The run may have moved on since the validator accepted the action.
      const { action } = item;
      let refused = checkControl(program, state, action);
      if (
        !refused &&
        action.type === 'skip' &&
        state.nodes[action.node]?.status === 'running' &&
        !patched(SKIP_RUNNING_PATCH)
      )
        refused = `node "${action.node}" is running; only a pending, waiting or failed node can be skipped`;
      const to = refused ? undefined : upgradeOf(state, action);
      if (to && (action.type === 'retry' || action.type === 'rerun')) upgrade = moveTo(to, action);
      else if (!refused) perform(await applyControl(program, state, action, now()));
      item.done(refused);
    } else {
      const delivery = await deliverEvent(program, state, item.event, now());
      perform(delivery.commands);
      item.done(delivery.status);
      const accepted = item.event.accepted_at === undefined ? NaN : Date.parse(item.event.accepted_at);
      if (delivery.status === 'delivered' && Number.isFinite(accepted))
        weftEvents.delivered(Math.max(0, Date.now() - accepted));
    }
  };

  /**
   * Continues the run as new on the version a retry or rerun moved it to, once the cancelled work
   * has settled. What arrived meanwhile is not stepped on the old version: actions are refused
   * (send them again), timers are re-armed from the state, and events come again from the
   * mailboxes the continued run registers with.
   */
  const continueOn = async (next: NonNullable<typeof upgrade>): Promise<never> => {
    await condition(() => running.size === 0);
    for (const item of inbox.splice(0)) {
      if (item.kind === 'control') item.done(`the run is moving to version ${next.definition.version}; send it again`);
      else if (item.kind === 'event') item.done('ignored');
    }
    await Promise.all([...unregistering]);
    await permitsReleased();
    await condition(allHandlersFinished);
    upsertSearchAttributes([
      { key: DefinitionVersionKey, value: next.definition.version },
      { key: StatusKey, value: 'running' },
    ]);
    const continued = makeContinueAsNewFunc<typeof interpret>({
      memo: { ...(workflowInfo().memo ?? {}), definition_version: next.definition.version },
    });
    return continued({ ...args, definition: next.definition, resume: next.resume });
  };

  try {
    // A retry of a closed run takes a permit as a new run does; continue-as-new carries its own.
    const admission = await admitted();
    // Cancelled while queued: the main loop applies the cancel to a run no node of which started.
    if (admission === 'admitted' && args.resume) {
      perform(pendingWork(state));
      if (args.resume.retry_nodes?.length) {
        perform(
          await applyControl(
            program,
            state,
            {
              type: 'retry',
              ...(args.resume.retry_by ?? { by: 'retry' }),
              ...(args.resume.retry_nodes.length === 1 ? { node: args.resume.retry_nodes[0] } : {}),
            },
            now(),
          ),
        );
      } else if (args.resume.rerun) {
        const { from, variables, by, request_id } = args.resume.rerun;
        const action: ControlAction = {
          type: 'rerun',
          from,
          by,
          ...(variables === undefined ? {} : { variables }),
          ...(request_id === undefined ? {} : { request_id }),
        };
        perform(await applyControl(program, state, action, now()));
      }
    } else if (admission === 'admitted') {
      perform(await startRun(program, state, now()));
    } else if (admission === 'refused') {
      const key = shownKey(definition, await runPermitKey(definition, state));
      const limit = definition.options.max_concurrent_runs ?? 0;
      const of = key === null ? '' : ` with key ${key}`;
      throw ApplicationFailure.create({
        type: 'RunLimitReached',
        message: `options.max_concurrent_runs: ${limit} run(s) of "${definition.id}"${of} are running and on_limit is "skip": this run did not start`,
        nonRetryable: true,
      });
    }
    while (!closing) {
      await condition(() => inbox.length > 0 || (continueDue && running.size === 0));
      // Everything that arrived in this activation is handled before waiting again.
      for (let item = inbox.shift(); item && !closing && !upgrade; item = inbox.shift()) {
        // Several messages in one activation: each may do up to a slice of work, so yield between them.
        if (slices && slices.used >= SLICE_LIMITS.units) await yieldSlice(slices);
        await step(item);
      }
      if (upgrade) return await continueOn(upgrade);
      if (
        !continueDue &&
        (workflowInfo().historyLength >= canAfter || workflowInfo().continueAsNewSuggested || segmentDone())
      ) {
        continueDue = true;
      }
      if (continueDue && !closing && running.size === 0 && inbox.length === 0) {
        await Promise.all([...unregistering]);
        await permitsReleased();
        await condition(allHandlersFinished);
        const carried = runPermit?.limiter ? { run_permit: { limiter: runPermit.limiter, key: runPermit.key } } : {};
        return await continueAsNew<typeof interpret>({ ...args, ...carried, resume: { state } });
      }
    }
  } catch (err) {
    if (isCancellation(err) && state.status !== 'cancelled') {
      await applyControl(
        program,
        state,
        { type: 'cancel', by: 'temporal', reason: 'cancelled through Temporal' },
        now(),
      );
    }
    // Cancelled through Temporal: the cancelled executions still give their permits back.
    await permitsReleased();
    if (!(err instanceof ContinueAsNew)) await runPermitReleased();
    throw err;
  }
  for (const scope of scopes.values()) scope.cancel();
  // Messages that arrived together with the end of the run are answered, not left hanging.
  for (const item of inbox.splice(0)) {
    if (item.kind === 'control') item.done(`the run is ${state.status}`);
    else if (item.kind === 'event') item.done('ignored');
  }
  // The run waits for no event any more: its mailboxes stop sending to it.
  if (mailboxes.size > 0) {
    const left = [...mailboxes.values()];
    mailboxes.clear();
    await Promise.all(
      left.map((entry) => entry.registering ?? (entry.id ? unregister(entry.id, entry.token) : Promise.resolve())),
    );
  }
  await Promise.all([...unregistering]);
  await permitsReleased();
  await runPermitReleased();
  await condition(allHandlersFinished);

  const view = viewRunState(definition, state, ids);
  returned = true;
  if (state.status === 'cancelled') {
    // The gateway recorded who cancelled through an update and now asks Temporal to cancel the
    // run, so its status becomes "canceled"; a cancellation that never comes ends it as failed.
    await condition(() => false, '1 minute');
    throw ApplicationFailure.create({
      type: 'Cancelled',
      message: view.error?.message ?? 'cancelled',
      nonRetryable: true,
    });
  }
  // A parent that started this run adds its cost to its own (child-cost.ts).
  if (closing.type === 'fail') throw runFailure(view.error ?? closing.error, args.child ? view.cost : undefined);
  return args.child ? ({ result: view.result, cost: view.cost } satisfies ChildOutcome) : view.result;
}

/** A timer that resumes engine work parked at a slice boundary (not a node's own wait). */
function isYield(state: RunState, command: Extract<Command, { type: 'start_timer' }>): boolean {
  const execution = state.inflight[command.exec];
  return execution?.kind === 'wait' && execution.purpose === 'yield';
}

/**
 * The run's own failure, its message (and the error in its details) cut to `MAX_MESSAGE_BYTES`:
 * Temporal terminates a run whose failure passes ~2 MB. Only the closing command's failure
 * changes, which replay does not compare; messages within the bound are unchanged.
 */
function runFailure(error: RunError, cost?: RunStateView['cost']): ApplicationFailure {
  const where = error.node ? ` at node "${error.node}"` : '';
  return ApplicationFailure.create({
    type: error.type,
    message: truncateMessage(`${error.message}${where}`),
    nonRetryable: true,
    details: [{ ...error, message: truncateMessage(error.message), ...(cost ? { cost } : {}) }],
  });
}
