/**
 * `options.debounce` at the gateway: a start of a debounced definition goes to the debouncer of its
 * (tenant, task queue, definition, key) (`workflows/debounce.ts`) as an update-with-start, whose
 * answer names the run the burst becomes. The `202` is sent once Temporal has the start in the
 * debouncer's history, so an accepted start survives any crash.
 */
import { createHash } from 'node:crypto';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import type { VersionedDefinition } from '../../interpreter/definition-schema.js';
import { durationMs } from '../../interpreter/duration.js';
import type { DebounceAnswer, DebouncedStart, DebouncerArgs } from '../../workflows/debounce.js';
import type { InterpretArgs } from '../../workflows/interpret.js';
import { TenantKey } from '../shared/search-attributes.js';
import { tenantPrefix } from '../shared/tenants.js';

export const DEBOUNCER_WORKFLOW_TYPE = 'debouncer';

/** `[<tenant>/]~weft-debounce:<hash of task queue, definition and key>`: no run id contains `~`. */
export function debouncerWorkflowId(tenant: string, taskQueue: string, definitionId: string, key: string | null) {
  const hash = createHash('sha256')
    .update(`${taskQueue}\n${definitionId}\n${key === null ? 'none' : `key:${key}`}`)
    .digest('hex')
    .slice(0, 40);
  return `${tenantPrefix(tenant)}~weft-debounce:${hash}`;
}

/** What `RunService.workflowOptions` makes of a start, as far as a debounced start carries it. */
export interface RunStartOptions {
  args: InterpretArgs[];
  memo: Record<string, unknown>;
  typedSearchAttributes: { key: { name: string }; value: string }[];
  staticSummary: string;
  workflowExecutionTimeout?: number;
  priority?: { priorityKey?: number };
}

/** Hands one start of `definition` to its debouncer; answers the run the burst becomes. */
export async function debounceStart(
  client: Client,
  where: { tenant: string; taskQueue: string },
  definition: VersionedDefinition,
  key: string | null,
  options: RunStartOptions,
): Promise<DebounceAnswer> {
  const debounce = definition.options.debounce;
  if (debounce === undefined) throw new Error(`definition "${definition.id}" has no options.debounce`);
  const first = options.args[0];
  if (!first) throw new Error("a start without the interpreter's arguments");
  const { definition: _carriedByVersion, ...args } = first;
  const start: DebouncedStart = {
    definition_id: definition.id,
    definition_version: definition.version,
    window_ms: durationMs(debounce),
    run_prefix: `${tenantPrefix(where.tenant)}${definition.id}`,
    args,
    memo: options.memo,
    search_attributes: Object.fromEntries(options.typedSearchAttributes.map((a) => [a.key.name, a.value])),
    summary: options.staticSummary,
    ...(options.workflowExecutionTimeout === undefined
      ? {}
      : { execution_timeout_ms: options.workflowExecutionTimeout }),
    ...(options.priority?.priorityKey === undefined ? {} : { priority_key: options.priority.priorityKey }),
  };
  const debouncerArgs: DebouncerArgs = { definition_id: definition.id, key };
  const summary = `debounce ${definition.id}${key === null ? '' : ` · key ${key}`}`;
  const operation = new WithStartWorkflowOperation<Workflow>(DEBOUNCER_WORKFLOW_TYPE, {
    workflowId: debouncerWorkflowId(where.tenant, where.taskQueue, definition.id, key),
    taskQueue: where.taskQueue,
    args: [debouncerArgs],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [{ key: TenantKey, value: where.tenant }],
    staticSummary: summary.length > 400 ? `${summary.slice(0, 400)}…` : summary,
  });
  return client.workflow.executeUpdateWithStart<Workflow, DebounceAnswer, [DebouncedStart]>('debounce', {
    args: [start],
    startWorkflowOperation: operation,
  });
}
