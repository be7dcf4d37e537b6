/**
 * Operator actions and external events, carried to runs through Temporal Updates: the run's
 * own validator says at once whether an action is accepted and why not, and the accepted
 * action is in the run's history with who did it.
 */
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import type { ExternalEvent } from '../../interpreter/commands.js';
import { retryState, type ControlAction, type DeliveryStatus } from '../../interpreter/control.js';
import type { RunState, RunStateView } from '../../interpreter/run-state.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { DefinitionStore, VersionedDefinition } from '../store/definition-store.js';
import { DefinitionIdKey, DefinitionVersionKey, RetryOfKey } from '../temporal/search-attributes.js';
import type { TenantRuns } from '../temporal/tenant-runs.js';
import { HttpError, notFound } from './http-error.js';
import { mapTemporalError } from './run-service.js';
import { triggerFilterMatches } from './trigger-checks.js';

/** Starts a run of a definition (the gateway's RunService.start, for event triggers). */
export type StartRun = (
  definition: VersionedDefinition,
  input: Record<string, unknown>,
  runId: string,
) => Promise<unknown>;

export interface EventDelivery {
  delivered_to: string[];
  /** Runs that keep the event until their event node waits for it. */
  buffered_in: string[];
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

/** How long a run this gateway started is remembered for event delivery (visibility catches up well before). */
const RECENT_MS = 5 * 60_000;

export class RunControl {
  /**
   * Runs this gateway started lately, by id: Temporal's visibility (which finds the runs an
   * event is for) lags a start by up to a second or so, and an event sent right after a start
   * must still reach the run, which buffers it until its event node waits.
   */
  private readonly recent = new Map<string, { definition: string; at: number }>();

  constructor(
    private readonly client: Client,
    private readonly store: Pick<DefinitionStore, 'get' | 'list'>,
    private readonly startRun: StartRun,
    private readonly taskQueue: string,
    /** Whose runs these are: ids are translated and visibility queries scoped through it. */
    private readonly ids: TenantRuns,
    /** Counts event deliveries and the runs started here (retries, event triggers). */
    private readonly metrics?: Pick<GatewayMetrics, 'runsStarted' | 'eventDeliveries'>,
  ) {}

  private handle(runId: string) {
    return this.client.workflow.getHandle(this.ids.workflowId(runId));
  }

  /** Sends an operator action; 409 `rejected` with the run's reason when it is refused. */
  async control(
    runId: string,
    request: ControlAction & { force?: boolean },
  ): Promise<{ accepted: true; status: RunStateView['status']; run_id?: string }> {
    const handle = this.handle(runId);
    // `force` is the gateway's, never sent to the run.
    const { force, ...action } = request;
    try {
      if (action.type === 'retry' && (await handle.describe()).status.name === 'FAILED') {
        return { accepted: true, status: 'running', run_id: await this.retryClosed(runId, action) };
      }
      if (action.type === 'cancel' && force === true) {
        await handle.describe(); // not found, or closed, answers as for any action
        const reason = action.reason ? `: ${action.reason}` : '';
        await handle.terminate(`terminated by ${action.by}${reason}`);
        return { accepted: true, status: 'cancelled' };
      }
      const update = handle.executeUpdate<{ accepted: true; status: RunStateView['status'] }, [ControlAction]>(
        'control',
        { args: [action] },
      );
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), CONTROL_DELIVERY_MS);
      });
      const result = await Promise.race([update, late]).finally(() => clearTimeout(timer));
      if (result === undefined) {
        update.catch(() => undefined); // answered (or failed) later, when nobody waits for it
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
    } catch (err) {
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
        throw new HttpError('conflict', 'a retry of this run is already starting');
      if (closedMessage(err)) throw new HttpError('rejected', 'the run is closed');
      return mapTemporalError(err, runId);
    }
  }

  /**
   * Retries a closed failed run: a new run that starts from the failed node with the recorded
   * variables and completed outputs (nothing that completed runs again), linked both ways to
   * the original (`retry_of` in its memo and state, `WeftRetryOf` for finding it).
   */
  private async retryClosed(runId: string, action: Extract<ControlAction, { type: 'retry' }>): Promise<string> {
    const previous = await this.handle(runId).query<RunState>('raw_state');
    const prepared = retryState(previous, runId, action.by, new Date().toISOString());
    if ('refused' in prepared) throw new HttpError('rejected', prepared.refused);
    const blocked = prepared.state.blocked ?? [];
    if (action.node !== undefined && !blocked.includes(action.node)) {
      throw new HttpError('rejected', `node "${action.node}" did not fail; failed: ${blocked.join(', ')}`);
    }
    const definition = await this.store.get(previous.run.definition_id, previous.run.definition_version);
    if (!definition)
      throw new HttpError(
        'rejected',
        `version ${previous.run.definition_version} of "${previous.run.definition_id}" is gone`,
      );
    const attempt = (await this.retriesOf(runId)).length + 1;
    const retryId = `${runId}.retry-${attempt}`;
    const workflowId = this.ids.workflowId(retryId);
    prepared.state.run.id = workflowId;
    await this.client.workflow.start('interpret', {
      taskQueue: this.taskQueue,
      workflowId,
      args: [
        {
          definition,
          input: previous.input,
          resume: { state: prepared.state, retry_nodes: action.node ? [action.node] : blocked },
        },
      ],
      memo: {
        definition_id: definition.id,
        definition_version: definition.version,
        retry_of: runId,
        tenant: this.ids.tenant,
        started_by: action.by,
      },
      typedSearchAttributes: [
        { key: DefinitionIdKey, value: definition.id },
        { key: DefinitionVersionKey, value: definition.version },
        { key: RetryOfKey, value: runId },
        this.ids.searchAttribute,
      ],
      staticSummary: `${definition.name ?? definition.id} · ${definition.id} v${definition.version} (retry of ${runId})`,
    });
    this.noteStarted(retryId, definition.id);
    this.metrics?.runsStarted.inc({ definition_id: definition.id, trigger: 'retry' });
    return retryId;
  }

  /** Runs started by retrying this one, oldest first. */
  async retriesOf(runId: string): Promise<string[]> {
    const ids: string[] = [];
    const query = this.ids.scope(`${RetryOfKey.name} = ${JSON.stringify(runId)}`);
    for await (const run of this.client.workflow.list({ query })) ids.push(this.ids.runId(run.workflowId));
    return ids.sort();
  }

  /** Remembers a run this gateway started, so events reach it before visibility shows it. */
  noteStarted(runId: string, definitionId: string): void {
    const now = Date.now();
    for (const [id, entry] of this.recent) if (now - entry.at > RECENT_MS) this.recent.delete(id);
    this.recent.set(runId, { definition: definitionId, at: now });
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
   * Delivers an event to every running run of a definition that waits for (or will wait for)
   * its type, and starts runs of definitions whose active version has a matching event trigger.
   */
  async deliver(event: ExternalEvent): Promise<EventDelivery> {
    const result: EventDelivery = { delivered_to: [], buffered_in: [], started: [] };
    const definitions = await Promise.all((await this.store.list()).map((d) => this.store.get(d.id)));
    const active = definitions.filter((d): d is VersionedDefinition => d !== undefined);
    const listening = active
      .filter((d) => d.nodes.some((n) => n.type === 'event' && n.event_type === event.event_type))
      .map((d) => d.id);
    try {
      if (listening.length > 0) {
        const ids = listening.map((id) => JSON.stringify(id)).join(', ');
        const query = this.ids.scope(`${DefinitionIdKey.name} IN (${ids}) AND ExecutionStatus = "Running"`);
        // Run id → its definition id, for the delivery counts.
        const targets = new Map<string, string>();
        for await (const run of this.client.workflow.list({ query }))
          targets.set(this.ids.runId(run.workflowId), run.typedSearchAttributes.get(DefinitionIdKey) ?? '');
        for (const [runId, entry] of this.recent)
          if (listening.includes(entry.definition)) targets.set(runId, entry.definition);
        for (const runId of [...targets.keys()].sort()) {
          const status = await this.deliverTo(runId, event);
          if (status === 'closed') this.recent.delete(runId);
          if (status === 'delivered') result.delivered_to.push(runId);
          if (status === 'buffered') result.buffered_in.push(runId);
          if (status === 'delivered' || status === 'buffered')
            this.metrics?.eventDeliveries.inc({ definition_id: targets.get(runId) ?? '', outcome: status });
        }
      }
      for (const definition of active) {
        for (const trigger of definition.triggers) {
          if (trigger.type !== 'event' || trigger.event_type !== event.event_type) continue;
          if (trigger.filters !== undefined && !(await triggerFilterMatches(trigger.filters, event))) continue;
          // The event id makes the run id, so a redelivered event cannot start a second run.
          const runId = `${definition.id}-event-${event.event_id ?? cryptoKey()}`;
          try {
            if (await this.startRun(definition, toInput(event.payload), runId)) {
              this.noteStarted(runId, definition.id);
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
    } catch (err) {
      return mapTemporalError(err);
    }
    return result;
  }

  private async deliverTo(runId: string, event: ExternalEvent): Promise<DeliveryStatus | 'closed'> {
    try {
      const { status } = await this.handle(runId).executeUpdate<{ status: DeliveryStatus }, [ExternalEvent]>(
        'deliver_event',
        { args: [event] },
      );
      return status;
    } catch (err) {
      if (closedMessage(err) || err instanceof WorkflowNotFoundError) return 'closed';
      throw err;
    }
  }
}

function toInput(payload: unknown): Record<string, unknown> {
  return payload && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>) : {};
}

function cryptoKey(): string {
  return globalThis.crypto.randomUUID();
}
