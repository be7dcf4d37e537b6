/**
 * Runs as the gateway sees them: start, state and result, on top of the Temporal client.
 * Temporal being unreachable surfaces as `unavailable` (503), never as a 500.
 */
import { randomBytes } from 'node:crypto';
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
import type { RunError, RunStateView } from '../../interpreter/run-state.js';
import type { VersionedDefinition } from '../store/definition-store.js';
import { DefinitionIdKey, DefinitionVersionKey } from '../temporal/search-attributes.js';
import { HttpError, notFound } from './http-error.js';

/** The workflow type name of the generic interpreter workflow. */
export const WORKFLOW_TYPE = 'interpret';

export interface RunServiceOptions {
  client: Client;
  taskQueue: string;
  namespace: string;
  uiUrl: string;
}

export interface StartedRun {
  run_id: string;
  instance_id: string;
  definition_id: string;
  definition_version: string;
  ui_url: string;
}

export interface RunResult {
  status: 'running' | 'paused' | 'completed' | 'failed' | 'cancelled';
  result?: unknown;
  error?: RunError;
}

const GRPC_UNAVAILABLE = new Set([4, 14]); // DEADLINE_EXCEEDED, UNAVAILABLE

/** Maps Temporal client errors to the gateway's errors; rethrows what it does not know. */
export function mapTemporalError(err: unknown, runId?: string): never {
  if (err instanceof HttpError) throw err;
  if (err instanceof WorkflowNotFoundError) throw notFound(`run "${runId ?? err.workflowId}"`);
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

function newRunKey(): string {
  return randomBytes(6).toString('hex');
}

export class RunService {
  constructor(private readonly options: RunServiceOptions) {}

  uiUrl(workflowId: string, runId: string): string {
    const ns = encodeURIComponent(this.options.namespace);
    return `${this.options.uiUrl}/namespaces/${ns}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;
  }

  /**
   * Starts a run pinned to `definition`. A caller-chosen `runId` is used as the workflow id as
   * is; otherwise the id is `<definition id>-<random key>`.
   */
  async start(definition: VersionedDefinition, input: Record<string, unknown>, runId?: string): Promise<StartedRun> {
    const workflowId = runId ?? `${definition.id}-${newRunKey()}`;
    try {
      const handle = await this.options.client.workflow.start(WORKFLOW_TYPE, {
        taskQueue: this.options.taskQueue,
        workflowId,
        args: [{ definition, input }],
        workflowIdConflictPolicy: 'FAIL',
        memo: { definition_id: definition.id, definition_version: definition.version },
        typedSearchAttributes: [
          { key: DefinitionIdKey, value: definition.id },
          { key: DefinitionVersionKey, value: definition.version },
        ],
        staticSummary: `${definition.name ?? definition.id} · ${definition.id} v${definition.version}`,
        ...(definition.options.timeout === undefined
          ? {}
          : { workflowExecutionTimeout: durationMs(definition.options.timeout) }),
      });
      return {
        run_id: workflowId,
        instance_id: handle.firstExecutionRunId,
        definition_id: definition.id,
        definition_version: definition.version,
        ui_url: this.uiUrl(workflowId, handle.firstExecutionRunId),
      };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        throw new HttpError('conflict', `a run with run_id "${workflowId}" already exists`);
      }
      return mapTemporalError(err, workflowId);
    }
  }

  private handle(runId: string): WorkflowHandle {
    return this.options.client.workflow.getHandle(runId);
  }

  /** The run state for running and closed runs (answered by the workflow's state query). */
  async state(runId: string): Promise<RunStateView> {
    try {
      return await this.handle(runId).query<RunStateView>('state');
    } catch (err) {
      return mapTemporalError(err, runId);
    }
  }

  /** The run's outcome; with `waitMs`, waits that long for a running run to close. */
  async result(runId: string, waitMs = 0): Promise<RunResult> {
    const handle = this.handle(runId);
    try {
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') return await this.outcome(handle);
      if (waitMs <= 0) return { status: 'running' };
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<RunResult>((resolve) => {
        timer = setTimeout(() => resolve({ status: 'running' }), waitMs);
      });
      try {
        return await Promise.race([this.outcome(handle), timeout]);
      } finally {
        clearTimeout(timer);
      }
    } catch (err) {
      return mapTemporalError(err, runId);
    }
  }

  private async outcome(handle: WorkflowHandle): Promise<RunResult> {
    try {
      return { status: 'completed', result: await handle.result() };
    } catch (err) {
      if (!(err instanceof WorkflowFailedError)) throw err;
      return closedWithError(err);
    }
  }
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
