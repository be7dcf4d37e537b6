/**
 * Operator actions and external events, carried to runs through Temporal Updates: the run's
 * own validator says at once whether an action is accepted and why not, and the accepted
 * action is in the run's history with who did it.
 */
import {
  ServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { publishToMailbox } from '../../activities/event-mailbox.js';
import type { ExternalEvent } from '../../interpreter/commands.js';
import { variableRefusals, type ControlAction } from '../../interpreter/control.js';
import { compileProgram } from '../../interpreter/engine.js';
import { downstreamNodes } from '../../interpreter/graph.js';
import {
  blockedFailures,
  moveToVersion,
  reopenedState,
  rerunRefusal,
  versionProblems,
  type NamedNode,
  type Reopening,
} from '../../interpreter/run-surgery.js';
import type { RunState, RunStateView } from '../../interpreter/run-state.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { DefinitionStore } from '../store/definition-store.js';
import type { VersionedDefinition } from '../../interpreter/definition-schema.js';
import type { Problem } from '../../interpreter/problems.js';
import type { InterpretArgs } from '../../workflows/interpret.js';
import type { ConnectorQueues } from '../shared/connector-queues.js';
import { DefinitionIdKey, DefinitionVersionKey, RerunOfKey, RetryOfKey } from '../shared/search-attributes.js';
import type { TenantRuns } from '../temporal/tenant-runs.js';
import { HttpError, notFound, validationFailed } from '../shared/http-error.js';
import { mapTemporalError, workflowNotReady } from './run-service.js';
import { triggerFilterMatches } from './trigger-checks.js';
import { OutlivingWork } from './outliving-work.js';

/** Starts a run of a definition (the gateway's RunService.start, for event triggers). */
export type StartRun = (
  definition: VersionedDefinition,
  input: Record<string, unknown>,
  runId: string,
) => Promise<unknown>;

export interface EventDelivery {
  /** The event's id: the caller's, or one the gateway gave it (send it again with it to retry safely). */
  event_id: string;
  /** Runs its mailbox sent it to by the time of the answer; runs that wait later still get it. */
  delivered_to: string[];
  started: string[];
}

function closedMessage(err: unknown): boolean {
  return err instanceof Error && /already completed|workflow execution already|not found/i.test(err.message);
}

/**
 * How long an operator action may wait for the run to take it. A run whose workflow task keeps
 * failing never takes an Update; a cancel then falls back to Temporal's own cancellation.
 */
export const CONTROL_DELIVERY_MS = 10_000;

/** How long POST /v1/events retries getting an event into its mailbox before answering 429/503. */
export const EVENT_ACCEPT_MS = 10_000;
/** How long the gateway asks the mailbox which runs it sent the event to (best effort). */
const SENT_TO_MS = 2_000;
/** The bound on the whole of POST /v1/events (accepting, asking, starting triggered runs). */
export const EVENT_RESPONSE_MS = 15_000;
/** What Retry-After says when Temporal is at a limit or unavailable. */
const RETRY_AFTER_S = 2;

/** What a retry or rerun of a closed run hands the new run to go on from. */
type InterpretResume = NonNullable<InterpretArgs['resume']>;

/** How many taken numbers a new retry or rerun id skips before it answers 409 conflict. */
const LINKED_ID_TRIES = 10;

export class RunControl {
  constructor(
    private readonly client: Client,
    private readonly store: Pick<DefinitionStore, 'get' | 'list'>,
    private readonly startRun: StartRun,
    private readonly taskQueue: string,
    /** Whose runs these are: ids are translated and visibility queries scoped through it. */
    private readonly ids: TenantRuns,
    /** Counts accepted events and the runs started here (retries, event triggers). */
    private readonly metrics?: Pick<GatewayMetrics, 'runsStarted' | 'eventsAccepted'>,
    /** Calls that go on after their answer; the gateway waits for them before it closes. */
    private readonly outliving: OutlivingWork = new OutlivingWork(),
    /** Where the new run's connector calls go (`WEFT_CONNECTOR_QUEUES` as configured now, like any new run). */
    private readonly connectorQueues?: ConnectorQueues,
  ) {}

  private handle(runId: string) {
    return this.client.workflow.getHandle(this.ids.workflowId(runId));
  }

  /**
   * Sends an operator action; 409 `rejected` with the run's reason when it is refused. A retry
   * of a closed failed run (or one with `version`) starts a new linked run (`retryClosed`).
   */
  async control(
    runId: string,
    request: ControlAction & { force?: boolean; version?: string },
  ): Promise<{ accepted: true; status: RunStateView['status']; run_id?: string }> {
    const handle = this.handle(runId);
    // `force` and `version` are the gateway's, never sent to the run.
    const { force, version, ...action } = request;
    try {
      if (action.type === 'retry') {
        const status = (await handle.describe()).status.name;
        if (status === 'FAILED') {
          return { accepted: true, status: 'running', run_id: await this.retryClosed(runId, action, version) };
        }
        if (version !== undefined) {
          const state = await handle.query<RunState>('raw_state');
          const failed = blockedFailures(state);
          const nodes = action.node === undefined ? failed : [action.node];
          const named = nodes.map((node) => ({ node, path: action.node === undefined ? '/version' : '/node' }));
          const to = await this.openOnVersion(state, version, named, () => new Set(nodes));
          return await this.update(runId, to === undefined ? action : { ...action, definition: to });
        }
      }
      if (action.type === 'cancel' && force === true) {
        await handle.describe(); // not found, or closed, answers as for any action
        const reason = action.reason ? `: ${action.reason}` : '';
        await handle.terminate(`terminated by ${action.by}${reason}`);
        // What GET /v1/runs/{id} reads from now on: a terminated run is failed (Terminated).
        return { accepted: true, status: 'failed' };
      }
      return await this.update(runId, action);
    } catch (err) {
      return this.refusal(err, runId);
    }
  }

  /** Sends the action as the run's `control` Update, bounded by CONTROL_DELIVERY_MS. */
  private async update(
    runId: string,
    action: ControlAction,
  ): Promise<{ accepted: true; status: RunStateView['status']; run_id?: string }> {
    const handle = this.handle(runId);
    const update = handle.executeUpdate<{ accepted: true; status: RunStateView['status'] }, [ControlAction]>(
      'control',
      { args: [action] },
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), CONTROL_DELIVERY_MS);
    });
    // A run whose workflow task keeps failing may refuse the Update at once (WorkflowNotReady)
    // instead of never taking it: the same for the caller as an Update not taken in time.
    const taken = update.catch((err: unknown) => {
      if (workflowNotReady(err)) return undefined;
      throw err;
    });
    const result = await Promise.race([taken, late]).finally(() => clearTimeout(timer));
    if (result === undefined) {
      this.outliving.track(taken); // answered (or failed) later, when nobody waits for it
      if (action.type !== 'cancel') {
        throw new HttpError(
          'unavailable',
          `the run did not take the ${action.type} within ${CONTROL_DELIVERY_MS / 1000} s (its workflow task may be failing); cancel it, or terminate it with cancel {"force": true}`,
        );
      }
      // The run cannot take the cancellation itself: Temporal's cancellation, recorded in its history.
      await handle.cancel();
      return { accepted: true, status: 'cancelled' };
    }
    // Temporal's own cancellation makes the run's status "canceled" everywhere (UI, visibility).
    if (action.type === 'cancel') await handle.cancel();
    return result;
  }

  /** What Temporal's refusals of an action mean for the caller. */
  private async refusal(err: unknown, runId: string): Promise<never> {
    const handle = this.handle(runId);
    if (err instanceof HttpError) throw err;
    if (err instanceof WorkflowUpdateFailedError) {
      throw new HttpError('rejected', err.cause?.message ?? 'the run refused the action');
    }
    if (err instanceof WorkflowNotFoundError) {
      // Temporal answers "not found" to an update of a closed run; tell the two apart.
      const status = await handle.describe().then(
        (d) => d.status.name,
        () => undefined,
      );
      if (status) throw new HttpError('rejected', `the run is closed (${status.toLowerCase()})`);
      throw notFound(`run "${runId}"`);
    }
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      throw new HttpError('conflict', 'a retry or rerun of this run is already starting; ask again in a moment');
    if (closedMessage(err)) throw new HttpError('rejected', 'the run is closed');
    return mapTemporalError(err, runId);
  }

  /**
   * The version an open (paused) run is asked to move to, checked against its state for every
   * problem (409 with `details`); undefined when it is the version the run is on. The run checks
   * again when it takes the action, and continues as new on the version.
   */
  private async openOnVersion(
    state: RunState,
    version: string,
    named: NamedNode[],
    repeated: (definition: VersionedDefinition) => ReadonlySet<string>,
  ): Promise<VersionedDefinition | undefined> {
    const { definition_id: id, definition_version: current } = state.run;
    const target = await this.definitionOf(id, version, '/version');
    if (target.version === current) return undefined;
    const before = await this.definitionOf(id, current);
    this.refuseProblems(target, current, versionProblems(before, target, state, named, repeated(target)));
    return target;
  }

  private refuseProblems(target: VersionedDefinition, current: string, problems: Problem[]): void {
    if (problems.length > 0)
      throw new HttpError(
        'rejected',
        `version ${target.version} of "${target.id}" cannot take the run's state (recorded on version ${current}): ${problems.length} problem(s)`,
        problems,
      );
  }

  /** A stored version of a definition; 404 naming it (and the field that asked) when there is none. */
  private async definitionOf(id: string, version: string, path?: string): Promise<VersionedDefinition> {
    const definition = await this.store.get(id, version);
    if (definition) return definition;
    if (path === undefined) throw new HttpError('rejected', `version ${version} of "${id}" is gone`);
    throw new HttpError('not_found', `version "${version}" of definition "${id}" was not found`, [
      { path, message: `no version "${version}" of definition "${id}"` },
    ]);
  }

  /**
   * The definition a closed run goes on under, with its state moved there: its own version, or
   * `version` when given (node state mapped by node id), refused with every problem (409
   * `rejected`, each in `details`) when that version cannot take the state.
   */
  private async onVersion(
    state: RunState,
    version: string | undefined,
    named: NamedNode[],
    repeated: (definition: VersionedDefinition) => ReadonlySet<string>,
  ): Promise<VersionedDefinition> {
    const { definition_id: id, definition_version: current } = state.run;
    const target = await this.definitionOf(id, version ?? current, version === undefined ? undefined : '/version');
    if (target.version === current) return target;
    const before = await this.definitionOf(id, current);
    this.refuseProblems(target, current, versionProblems(before, target, state, named, repeated(target)));
    moveToVersion(before, target, state);
    return target;
  }

  /**
   * Retries a closed failed run: a new run that starts from the failed node with the recorded
   * variables and completed outputs (nothing that completed runs again), on its version or on
   * `version`, linked both ways to the original (`retry_of` in its memo and state, `WeftRetryOf`).
   */
  private async retryClosed(
    runId: string,
    action: Extract<ControlAction, { type: 'retry' }>,
    version: string | undefined,
  ): Promise<string> {
    const previous = await this.handle(runId).query<RunState>('raw_state');
    const prepared = reopenedState(previous, runId, 'retry', action.by, new Date().toISOString());
    if ('refused' in prepared) throw new HttpError('rejected', prepared.refused);
    const blocked = prepared.state.blocked ?? [];
    if (action.node !== undefined && !blocked.includes(action.node)) {
      throw new HttpError('rejected', `node "${action.node}" did not fail; failed: ${blocked.join(', ')}`);
    }
    const nodes = action.node ? [action.node] : blocked;
    const definition = await this.onVersion(
      prepared.state,
      version,
      nodes.map((node) => ({ node, path: action.node ? '/node' : '/version' })),
      () => new Set(nodes),
    );
    return this.startLinked(runId, 'retry', definition, previous.input, action.by, {
      state: prepared.state,
      retry_nodes: nodes,
    });
  }

  /**
   * Reruns a run from a node: that node and everything downstream of it run again, the rest of
   * the state (completed outputs, variables) is kept, `variables` override. A paused run does it
   * itself (the `control` Update); a closed run goes on in a new linked run (`rerun_of`,
   * `WeftRerunOf`), on `version` when given. Answers the run that reruns.
   */
  async rerun(
    runId: string,
    request: { from: string; version?: string; variables?: Record<string, unknown>; by: string; request_id?: string },
  ): Promise<{ accepted: true; run_id: string }> {
    const handle = this.handle(runId);
    try {
      const status = (await handle.describe()).status.name;
      const previous = await handle.query<RunState>('raw_state');
      const { definition_id: id, definition_version: current } = previous.run;
      const target = await this.definitionOf(id, request.version ?? current, request.version ? '/version' : undefined);
      const program = compileProgram(target);
      const problems = [
        ...(program.nodes.has(request.from)
          ? []
          : [
              {
                path: '/from',
                message: `version ${target.version} of "${id}" has no node "${request.from}"; its nodes: ${[...program.nodes.keys()].join(', ')}`,
              },
            ]),
        ...variableRefusals(program, request.variables ?? {}),
      ];
      if (problems.length > 0) throw validationFailed(problems, 'the rerun cannot be done as asked');
      const variables = request.variables === undefined ? {} : { variables: request.variables };
      const actor = { by: request.by, ...(request.request_id === undefined ? {} : { request_id: request.request_id }) };
      if (status === 'RUNNING') {
        const to =
          request.version === undefined
            ? undefined
            : await this.openOnVersion(previous, request.version, [{ node: request.from, path: '/from' }], (d) =>
                downstreamNodes(d, request.from),
              );
        const definition = to === undefined ? {} : { definition: to };
        await this.update(runId, { type: 'rerun', from: request.from, ...variables, ...actor, ...definition });
        return { accepted: true, run_id: runId };
      }
      // Terminated (or timed out) through Temporal: closed without the run's own bookkeeping, so
      // it reopens like a cancelled run (nodes it cut off are refused unless the rerun repeats them).
      if (previous.status === 'running' || previous.status === 'paused') previous.status = 'cancelled';
      const prepared = reopenedState(previous, runId, 'rerun', request.by, new Date().toISOString());
      if ('refused' in prepared) throw new HttpError('rejected', prepared.refused);
      const definition = await this.onVersion(
        prepared.state,
        request.version,
        [{ node: request.from, path: '/from' }],
        (to) => downstreamNodes(to, request.from),
      );
      const refused = rerunRefusal(compileProgram(definition), prepared.state, request.from);
      if (refused) throw new HttpError('rejected', refused);
      const rerunId = await this.startLinked(runId, 'rerun', definition, previous.input, request.by, {
        state: prepared.state,
        rerun: { from: request.from, ...variables, ...actor },
      });
      return { accepted: true, run_id: rerunId };
    } catch (err) {
      return this.refusal(err, runId);
    }
  }

  /** Starts the run that retries or reruns a closed one, linked to it by memo, search attribute and state. */
  private async startLinked(
    runId: string,
    kind: Reopening,
    definition: VersionedDefinition,
    input: Record<string, unknown>,
    by: string,
    resume: InterpretResume,
  ): Promise<string> {
    const linked = await this.linkedRuns(runId);
    const key = kind === 'retry' ? RetryOfKey : RerunOfKey;
    // Visibility may not list the latest linked run yet: a number already taken is found by its
    // id (Temporal refuses a duplicate workflow id) and the next one is tried, a few times.
    const first = (kind === 'retry' ? linked.retried_by : linked.rerun_by).length + 1;
    for (let attempt = first; ; attempt++) {
      const newId = `${runId}.${kind}-${attempt}`;
      const workflowId = this.ids.workflowId(newId);
      resume.state.run.id = workflowId;
      try {
        await this.client.workflow.start('interpret', {
          taskQueue: this.taskQueue,
          workflowId,
          // A closed run of the same id is a number taken, never reused.
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          args: [
            { definition, input, resume, ...(this.connectorQueues ? { connector_queues: this.connectorQueues } : {}) },
          ],
          memo: {
            definition_id: definition.id,
            definition_version: definition.version,
            [`${kind}_of`]: runId,
            tenant: this.ids.tenant,
            started_by: by,
          },
          typedSearchAttributes: [
            { key: DefinitionIdKey, value: definition.id },
            { key: DefinitionVersionKey, value: definition.version },
            { key, value: runId },
            this.ids.searchAttribute,
          ],
          staticSummary: `${definition.name ?? definition.id} · ${definition.id} v${definition.version} (${kind} of ${runId})`,
        });
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError && attempt < first + LINKED_ID_TRIES) continue;
        throw err;
      }
      this.metrics?.runsStarted.inc({ definition_id: definition.id, trigger: kind });
      return newId;
    }
  }

  /** Runs started by retrying or rerunning this one, each list oldest first. */
  async linkedRuns(runId: string): Promise<{ retried_by: string[]; rerun_by: string[] }> {
    const retried_by: string[] = [];
    const rerun_by: string[] = [];
    const value = JSON.stringify(runId);
    const query = this.ids.scope(`(${RetryOfKey.name} = ${value} OR ${RerunOfKey.name} = ${value})`);
    for await (const run of this.client.workflow.list({ query })) {
      const id = this.ids.runId(run.workflowId);
      (run.typedSearchAttributes.get(RerunOfKey) === runId ? rerun_by : retried_by).push(id);
    }
    // Numbered ids: `.rerun-10` comes after `.rerun-9`.
    const order = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });
    return { retried_by: retried_by.sort(order), rerun_by: rerun_by.sort(order) };
  }

  /** The run's variables as its state query shows them (secrets masked). */
  async variables(runId: string): Promise<Record<string, unknown>> {
    try {
      return (await this.handle(runId).query<RunStateView>('state')).variables;
    } catch (err) {
      return mapTemporalError(err, runId);
    }
  }

  /**
   * Accepts an event: it is published to its mailbox (`workflows/event-mailbox.ts`, addressed by
   * tenant, type and correlation key) with signal-with-start, so it is in Temporal's history
   * before this answers, and the mailbox sends it to every run waiting for it now or starting to
   * wait within the retention window. Then runs of definitions whose active version has a
   * matching event trigger are started. Temporal's limits and outages are retried with backoff
   * for up to EVENT_ACCEPT_MS, then answered 429/503 with Retry-After; the whole call stays
   * within EVENT_RESPONSE_MS.
   */
  async deliver(event: ExternalEvent): Promise<EventDelivery> {
    const begun = Date.now();
    const accepted: ExternalEvent & { event_id: string } = {
      ...event,
      event_id: event.event_id ?? `evt-${cryptoKey()}`,
      accepted_at: new Date(begun).toISOString(),
    };
    const mailbox = await within(
      withBackpressure(
        this.client,
        () => publishToMailbox(this.client, this.ids.tenant, this.taskQueue, accepted),
        begun + EVENT_ACCEPT_MS,
        accepted.event_id,
      ),
      begun + EVENT_ACCEPT_MS + 1_000,
      accepted.event_id,
      this.outliving,
    );
    this.metrics?.eventsAccepted.inc({ tenant: this.ids.tenant });
    const result: EventDelivery = {
      event_id: accepted.event_id,
      delivered_to: await this.sentTo(mailbox, accepted.event_id),
      started: [],
    };
    // The store is asked within the same bound as the rest (a slow database answers 503, not a hang).
    const definitions = await within(
      this.store.list().then((listed) => Promise.all(listed.map((d) => this.store.get(d.id)))),
      begun + EVENT_RESPONSE_MS - 1_500,
      accepted.event_id,
      this.outliving,
      'the definition store',
    );
    for (const definition of definitions) {
      if (!definition) continue;
      for (const trigger of definition.triggers) {
        if (trigger.type !== 'event' || trigger.event_type !== event.event_type) continue;
        if (trigger.filters !== undefined && !(await triggerFilterMatches(trigger.filters, event))) continue;
        // The event id makes the run id, so a redelivered event cannot start a second run.
        const runId = `${definition.id}-event-${accepted.event_id}`;
        try {
          const created = await within(
            withBackpressure(
              this.client,
              () => this.startRun(definition, toInput(event.payload), runId),
              begun + EVENT_RESPONSE_MS - 1_500,
              accepted.event_id,
            ),
            begun + EVENT_RESPONSE_MS - 500,
            accepted.event_id,
            this.outliving,
          );
          if (created) {
            this.metrics?.runsStarted.inc({ definition_id: definition.id, trigger: 'event' });
            result.started.push(runId);
          }
        } catch (err) {
          if (
            !(err instanceof WorkflowExecutionAlreadyStartedError) &&
            !(err instanceof HttpError && err.code === 'conflict')
          )
            throw err;
        }
        break;
      }
    }
    return result;
  }

  /**
   * The runs the mailbox sent the event to so far (a consistent query: it sees the event's
   * signal). Best effort within SENT_TO_MS: the event is accepted whatever this answers.
   */
  private async sentTo(mailbox: string, eventId: string): Promise<string[]> {
    try {
      const sent = await this.client.connection.withDeadline(Date.now() + SENT_TO_MS, () =>
        this.client.workflow.getHandle(mailbox).query<string[], [string]>('sent_to', eventId),
      );
      return sent.map((workflowId) => this.ids.runId(workflowId)).sort();
    } catch {
      return [];
    }
  }
}

/**
 * `work`, or 503 with Retry-After at `until` whatever it is doing (the gRPC deadline bounds each
 * call, not the client's connecting); work that still lands later is deduplicated by its event id.
 */
async function within<T>(
  work: Promise<T>,
  until: number,
  eventId: string,
  outliving: OutlivingWork,
  who = 'Temporal',
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new HttpError(
            'unavailable',
            `${who} did not answer in time; send the event again with "event_id": "${eventId}"`,
            undefined,
            RETRY_AFTER_S,
          ),
        ),
      Math.max(0, until - Date.now()),
    );
  });
  outliving.track(work);
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

const grpcCode = (err: unknown): number | undefined =>
  err instanceof ServiceError ? (err.cause as { code?: number } | undefined)?.code : undefined;

/** Temporal refused for load or is recovering: worth retrying. */
function transient(err: unknown): 'busy' | 'unavailable' | undefined {
  const code = grpcCode(err);
  if (code === 8) return 'busy'; // RESOURCE_EXHAUSTED
  if (code === 14) return 'unavailable'; // UNAVAILABLE
  const message = err instanceof Error ? err.message : '';
  if (/RESOURCE_EXHAUSTED|limit on number of/i.test(message)) return 'busy';
  if (/Workflow Task in failed state|UNAVAILABLE|ECONNREFUSED|failed to connect/i.test(message)) return 'unavailable';
  return undefined;
}

/**
 * Runs `call` under a gRPC deadline, retrying Temporal's load refusals and outages with backoff
 * (100 ms doubling to 2 s) until `deadline`; then 429 `rate_limited` (load) or 503 `unavailable`,
 * both with Retry-After. Other failures are mapped as everywhere else (never a bare 500 for
 * Temporal's own conditions).
 */
export async function withBackpressure<T>(
  client: Client,
  call: () => Promise<T>,
  deadline: number,
  eventId: string,
): Promise<T> {
  let delay = 100;
  for (;;) {
    try {
      return await client.connection.withDeadline(deadline, call);
    } catch (err) {
      if (err instanceof HttpError) throw err;
      const kind = transient(err);
      const deadlineHit = grpcCode(err) === 4;
      if (kind && Date.now() + delay < deadline) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 2_000);
        continue;
      }
      if (kind === 'busy')
        throw new HttpError(
          'rate_limited',
          `Temporal is at a limit; send the event again with "event_id": "${eventId}"`,
          undefined,
          RETRY_AFTER_S,
        );
      if (kind || deadlineHit)
        throw new HttpError(
          'unavailable',
          `Temporal did not take the event in time (${err instanceof Error ? err.message : String(err)}); send the event again with "event_id": "${eventId}"`,
          undefined,
          RETRY_AFTER_S,
        );
      return refusedEvent(err, eventId);
    }
  }
}

/**
 * Temporal's refusal of an event that is neither load nor an outage: INVALID_ARGUMENT (3) is the
 * event itself (413 when its payload passes Temporal's blob limit, else 400), naming `/payload`;
 * every other gRPC code is Temporal's condition, 503 with Retry-After, never a bare 500.
 */
function refusedEvent(err: unknown, eventId: string): never {
  const code = grpcCode(err);
  if (code === undefined) return mapTemporalError(err);
  // The SDK's message says only what failed ("Failed to signalWithStart Workflow"); gRPC's says why.
  const cause = (err as ServiceError).cause as { details?: string; message?: string } | undefined;
  const why = cause?.details ?? cause?.message;
  const message = why ? `${(err as Error).message}: ${why}` : (err as Error).message;
  if (code === 3) {
    if (/blob|size exceeds|too large|exceeds limit/i.test(message))
      throw new HttpError('payload_too_large', `Temporal refused the event as too large: ${message}`, [
        {
          path: '/payload',
          message: `the event is larger than Temporal keeps in one payload (2 MiB by default, with the event's envelope); send a smaller payload, or a reference to the data`,
        },
      ]);
    throw new HttpError('validation_failed', `Temporal refused the event: ${message}`, [
      { path: '/payload', message: `Temporal refused the event as invalid: ${message}` },
    ]);
  }
  if (code === 5) return mapTemporalError(err);
  throw new HttpError(
    'unavailable',
    `Temporal could not take the event (gRPC code ${code}: ${message}); send the event again with "event_id": "${eventId}"`,
    undefined,
    RETRY_AFTER_S,
  );
}

function toInput(payload: unknown): Record<string, unknown> {
  return payload && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>) : {};
}

function cryptoKey(): string {
  return globalThis.crypto.randomUUID();
}
