/**
 * The debouncer of one (tenant, task queue, definition, debounce key): `options.debounce` turns a
 * burst of starts into one run with the last input. Each start reaches it as a `debounce` Update
 * (update-with-start from the gateway), which names the run the burst will become (its id is
 * chosen when the burst begins, so every start of the burst is answered with it) and restarts the
 * quiet window. Once the window passes with no start, the debouncer loads the definition version
 * of the last start and starts the run (a child that outlives it: `ParentClosePolicy.ABANDON`),
 * then completes, or begins the next burst if starts arrived meanwhile.
 *
 * Durable like every workflow: a burst survives worker and gateway crashes, and the window is a
 * Temporal timer. A start carries the run's input and start options, never the definition, so a
 * burst's history grows by its inputs only.
 */
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import {
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineUpdate,
  proxyActivities,
  setHandler,
  startChild,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { DefinitionActivities } from '../activities/definitions.js';
import type { InterpretArgs } from './interpret.js';

/** The debouncer continues-as-new once its history holds this many events. */
const DEBOUNCER_CONTINUE_AFTER = 2_000;

/** One start of a burst: everything the run is started with, but the definition (loaded by version). */
export interface DebouncedStart {
  definition_id: string;
  definition_version: string;
  /** The window, as the started version says (the latest start's wins). */
  window_ms: number;
  /** The run's workflow id starts with this (`[<tenant>/]<definition id>`); the debouncer adds a random key. */
  run_prefix: string;
  args: Omit<InterpretArgs, 'definition'>;
  memo: Record<string, unknown>;
  /** Keyword search attributes by name. */
  search_attributes: Record<string, string>;
  summary: string;
  execution_timeout_ms?: number;
  priority_key?: number;
}

/** What each start of a burst is answered: the run the burst becomes, and when it starts at the earliest. */
export interface DebounceAnswer {
  workflow_id: string;
  starts_after: string;
  /** How many starts this burst has taken so far (this one included). */
  starts: number;
}

export interface DebouncerArgs {
  definition_id: string;
  key: string | null;
  /** Carried across continue-as-new: the burst in progress. */
  resume?: { pending: DebouncedStart; workflow_id: string; starts: number };
}

export const debounceUpdate = defineUpdate<DebounceAnswer, [DebouncedStart]>('debounce');

export async function debouncer(args: DebouncerArgs): Promise<void> {
  let pending = args.resume?.pending;
  let runId = args.resume?.workflow_id;
  let starts = args.resume?.starts ?? 0;
  const { loadDefinition } = proxyActivities<DefinitionActivities>({
    startToCloseTimeout: '30s',
    summary: 'load the version to start',
    retry: { initialInterval: '1s', maximumInterval: '30s' },
  });

  setHandler(debounceUpdate, (start) => {
    // Deterministic in the workflow (Temporal seeds it): the burst's run id is chosen once.
    runId ??= `${start.run_prefix}-${uuid4().replace(/-/g, '').slice(0, 12)}`;
    pending = start;
    starts++;
    return {
      workflow_id: runId,
      starts_after: new Date(Date.now() + start.window_ms).toISOString(),
      starts,
    };
  });

  /** Whether starts of a next burst arrived (the update handler sets them while the workflow waits). */
  const burst = (): boolean => pending !== undefined;
  /** Continues as new, carrying the burst in progress, once the history is long. */
  const continueIfLong = async (): Promise<void> => {
    const info = workflowInfo();
    if (info.historyLength < DEBOUNCER_CONTINUE_AFTER && !info.continueAsNewSuggested) return;
    await condition(allHandlersFinished);
    const resume = pending && runId ? { pending, workflow_id: runId, starts } : undefined;
    await continueAsNew<typeof debouncer>({
      definition_id: args.definition_id,
      key: args.key,
      ...(resume ? { resume } : {}),
    });
  };

  for (;;) {
    await condition(burst);
    // The window restarts with every start: wait until one passes with none.
    for (;;) {
      const seen = starts;
      const window = pending?.window_ms ?? 0;
      if (!(await condition(() => starts !== seen, window))) break;
      await continueIfLong();
    }
    const start = pending as DebouncedStart;
    const workflowId = runId as string;
    pending = undefined;
    runId = undefined;
    starts = 0;
    const definition = await loadDefinition({ id: start.definition_id, version: start.definition_version });
    await startChild('interpret', {
      workflowId,
      args: [{ ...start.args, definition }],
      memo: start.memo,
      typedSearchAttributes: Object.entries(start.search_attributes).map(([name, value]) => ({
        key: defineSearchAttributeKey(name, SearchAttributeType.KEYWORD),
        value,
      })),
      staticSummary: start.summary,
      ...(start.execution_timeout_ms === undefined ? {} : { workflowExecutionTimeout: start.execution_timeout_ms }),
      ...(start.priority_key === undefined ? {} : { priority: { priorityKey: start.priority_key } }),
      // The run is the burst's, not the debouncer's: it goes on after the debouncer completes.
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
    if (burst()) {
      await continueIfLong();
      continue;
    }
    await condition(allHandlersFinished);
    // A start arriving with the completion makes Temporal retry this task with it, so none is lost.
    if (!burst()) return;
  }
}
