/** Starting runs of inline definitions straight through the Temporal client, for integration tests. */
import { AssertionError } from 'node:assert';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Client, WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { validateDefinition } from '../../interpreter/validate-definition.js';
import type { RunStateView } from '../../interpreter/run-state.js';
import type { InterpretArgs } from '../../workflows/interpret.js';
import { DefinitionIdKey, DefinitionVersionKey } from '../../src/shared/search-attributes.js';
import { until } from './poll.js';
import { unique } from './temporal.js';

export function versioned(raw: unknown, version = '1') {
  const result = validateDefinition(raw);
  if (!result.ok) throw new Error(`invalid definition: ${JSON.stringify(result.problems)}`);
  return { ...result.definition, version };
}

export async function startRun(
  client: Client,
  taskQueue: string,
  raw: unknown,
  input: Record<string, unknown> = {},
  extra: Partial<InterpretArgs> = {},
): Promise<WorkflowHandleWithFirstExecutionRunId> {
  const definition = versioned(raw);
  return client.workflow.start('interpret', {
    taskQueue,
    workflowId: unique(definition.id),
    args: [{ definition, input, ...extra }],
    // As the gateway starts runs: findable by definition (replay --definition, the Web UI).
    typedSearchAttributes: [
      { key: DefinitionIdKey, value: definition.id },
      { key: DefinitionVersionKey, value: definition.version },
    ],
  });
}

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

/** The events of every execution of a run's chain (continue-as-new), first to last. */
export async function executions(
  client: Client,
  handle: WorkflowHandleWithFirstExecutionRunId,
): Promise<HistoryEvent[][]> {
  const all: HistoryEvent[][] = [];
  for (let runId: string | undefined = handle.firstExecutionRunId; runId;) {
    const events: HistoryEvent[] =
      (await client.workflow.getHandle(handle.workflowId, runId).fetchHistory()).events ?? [];
    all.push(events);
    runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return all;
}

export function runState(handle: WorkflowHandle): Promise<RunStateView> {
  return handle.query<RunStateView>('state');
}

/**
 * Polls the state query until `predicate` holds (bounded, generously: the machine may be loaded).
 * A run that does not exist yet (a child its parent is still starting) is waited for too.
 */
export async function waitForState(
  handle: WorkflowHandle,
  predicate: (state: RunStateView) => boolean,
  timeoutMs = 60_000,
): Promise<RunStateView> {
  let state: RunStateView | undefined;
  return until(
    () => `the state to match; last: ${JSON.stringify(state).slice(0, 2000)}`,
    async () => {
      state = await runState(handle).catch((err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return undefined;
        // Any other failure to read the state fails at once, as it did before.
        throw new AssertionError({ message: `the run's state could not be read: ${String(err)}` });
      });
      return state && predicate(state) ? state : undefined;
    },
    timeoutMs,
    100,
  );
}
