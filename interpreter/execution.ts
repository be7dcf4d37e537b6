/**
 * `execution`: whether a task-like node's call runs as a Temporal activity (the default) or a
 * local activity (README "Local execution"). The engine only marks the call's plan (`local`);
 * the workflow chooses `proxyLocalActivities` for it. What cannot hold locally is refused here,
 * at submit, at the pointer of the field that asked for "local".
 */
import { LOCAL_MAX_TIMEOUT_MS, type Definition, type Node, type NodeOf } from './definition-schema.js';
import { durationMs } from './duration.js';
import type { Problem } from './problems.js';

type Execution = NonNullable<Definition['options']['execution']>;
type TaskBody = NonNullable<NodeOf<'map'>['task']>;
type AiBody = NonNullable<NodeOf<'map'>['ai']>;

/**
 * The node as it runs: `options.execution` filled into task nodes and task map bodies that do
 * not set their own. Without `options.execution` the node is returned as is (same object), so
 * definitions that never say "local" step exactly as before.
 */
export function withDefaultExecution(node: Node, fallback: Execution | undefined): Node {
  if (fallback === undefined) return node;
  if ((node.type === 'task' || node.type === 'ai') && node.execution === undefined)
    return { ...node, execution: fallback };
  if (node.type === 'map' && node.task && node.task.execution === undefined)
    return { ...node, task: { ...node.task, execution: fallback } };
  if (node.type === 'map' && node.ai && node.ai.execution === undefined)
    return { ...node, ai: { ...node.ai, execution: fallback } };
  return node;
}

/** Why a local call of this body could not keep its documented semantics; undefined: it can. */
function localRefusal(kind: 'task' | 'ai', body: TaskBody | AiBody): string | undefined {
  if (kind === 'ai')
    return 'an ai call cannot run local: it repairs invalid answers across attempts through heartbeat details, which local activities do not have, and model calls outlast a workflow task; use "activity"';
  if (body.timeout !== undefined && durationMs(body.timeout) > LOCAL_MAX_TIMEOUT_MS)
    return `a local call's timeout may be at most ${LOCAL_MAX_TIMEOUT_MS / 1000}s (it holds its workflow task open), got ${durationMs(body.timeout) / 1000}s; lower timeout or use "activity"`;
  const limits = body.resource_limits;
  if (limits?.max_concurrency !== undefined || limits?.rate_per_second !== undefined)
    return 'a call limited by resource_limits.max_concurrency or rate_per_second cannot run local: its permit alone costs about 17 history events and a limiter round trip, and local permits are not supported; use "activity"';
  return undefined;
}

/** The problems of `execution: "local"` on one node (its bodies' pointers under `at`). */
export function executionProblems(node: Node, at: string, fallback: Execution | undefined): Problem[] {
  const bodies: Array<{ kind: 'task' | 'ai'; body: TaskBody | AiBody; at: string }> = [];
  if (node.type === 'task' || node.type === 'ai') bodies.push({ kind: node.type, body: node, at });
  if (node.type === 'map' && node.task) bodies.push({ kind: 'task', body: node.task, at: `${at}/task` });
  if (node.type === 'map' && node.ai) bodies.push({ kind: 'ai', body: node.ai, at: `${at}/ai` });
  const problems: Problem[] = [];
  for (const { kind, body, at: here } of bodies) {
    const execution = body.execution ?? fallback;
    if (execution !== 'local') continue;
    const refusal = localRefusal(kind, body);
    if (refusal === undefined) continue;
    problems.push(
      body.execution === undefined
        ? {
            path: '/options/execution',
            message: `node "${node.id}" (${here}) runs local through options.execution, but ${refusal}; set "execution": "activity" on it`,
          }
        : { path: `${here}/execution`, message: refusal },
    );
  }
  return problems;
}
