/**
 * The `map` node: its body (a task, ai or subworkflow config) runs once per item with `item`
 * and `index` in scope, at most `max_concurrency` at a time; the output is the results in item
 * order.
 */
import type { Command, PermitLimit, WorkCommand } from './commands.js';
import { connectorCall, limited, permitKey } from './connector-call.js';
import type { NodeOf, RetryPolicyConfig } from './definition-schema.js';
import { evaluate, renderTemplate } from './expressions.js';
import { AI_DEFAULTS, activityPlan } from './plans.js';
import type { RunQuotas } from './quotas.js';
import type { RunState } from './run-state.js';
import { budgetRefusal, pauseForBudget } from './budget.js';
import { context, type Program } from './state-ops.js';

export { connectorCall, limited, permitKey };

/** The permit a task/ai body needs (its limits, its `concurrency_key` evaluated in `scope`); none without limits. */
async function permitLimit(
  limits: { max_concurrency?: number; rate_per_second?: number; burst?: number; concurrency_key?: string } | undefined,
  scope: Record<string, unknown>,
): Promise<{ limit?: PermitLimit }> {
  if (!limited(limits)) return {};
  const key = limits.concurrency_key === undefined ? null : permitKey(await evaluate(limits.concurrency_key, scope));
  return {
    limit: {
      ...(limits.max_concurrency === undefined ? {} : { max_concurrency: limits.max_concurrency }),
      ...(limits.rate_per_second === undefined
        ? {}
        : { rate: { per_second: limits.rate_per_second, burst: limits.burst ?? 1 } }),
      key,
    },
  };
}

/** The command that runs one item of a map's body (or a task/ai/subworkflow node itself). */
export async function bodyCommand(
  exec: string,
  node: { id: string; name?: string },
  body: Pick<NodeOf<'map'>, 'task' | 'ai' | 'subworkflow'>,
  scope: Record<string, unknown>,
  retryOverride?: RetryPolicyConfig,
  quotas?: RunQuotas,
): Promise<WorkCommand> {
  if (body.task) {
    const params = (await renderTemplate(body.task.inputs, scope)) as Record<string, unknown>;
    const call = connectorCall(body.task, params, quotas);
    return {
      type: 'run_activity',
      exec,
      node: node.id,
      call,
      plan: activityPlan(
        { ...body.task, id: node.id, ...(node.name === undefined ? {} : { name: node.name }) },
        retryOverride,
      ),
      ...(await permitLimit(body.task.resource_limits, scope)),
    };
  }
  if (body.ai) {
    const ai = body.ai;
    const prompt = await renderTemplate(ai.prompt_template, scope);
    const system = ai.system === undefined ? undefined : await renderTemplate(ai.system, scope);
    return {
      type: 'run_ai',
      exec,
      node: node.id,
      call: {
        node: node.id,
        model: ai.model,
        prompt: typeof prompt === 'string' ? prompt : JSON.stringify(prompt),
        ...(system === undefined ? {} : { system: typeof system === 'string' ? system : JSON.stringify(system) }),
        ...(ai.parameters ? { parameters: ai.parameters } : {}),
        ...(ai.output_mapping ? { output_mapping: ai.output_mapping } : {}),
        // Only when the node names one: calls of ai nodes without a connection stay as they were.
        ...(ai.connection === undefined ? {} : { connection: ai.connection }),
        ...(ai.resource_limits?.memory_mb === undefined ? {} : { memory_mb: ai.resource_limits.memory_mb }),
      },
      plan: activityPlan(
        { ...ai, id: node.id, ...(node.name === undefined ? {} : { name: node.name }) },
        retryOverride,
        AI_DEFAULTS,
      ),
      ...(await permitLimit(ai.resource_limits, scope)),
    };
  }
  const child = body.subworkflow;
  if (!child) throw new Error(`node "${node.id}" has no body`);
  const input = (await renderTemplate(child.inputs, scope)) as Record<string, unknown>;
  return {
    type: 'start_child',
    exec,
    node: node.id,
    call: { definition: child.definition, ...(child.version === undefined ? {} : { version: child.version }), input },
    summary: `${node.id}: ${child.definition}`,
  };
}

/**
 * Whether the budget holds back the next item of an `ai` map (and pauses the run). Runs whose
 * history was recorded before every item was checked keep starting them (`budgetEveryCall`).
 */
function heldByBudget(program: Program, state: RunState, node: NodeOf<'map'>, now: string): boolean {
  if (!node.ai) return false;
  const refusal = budgetRefusal(program, state);
  if (!refusal || !(program.budgetEveryCall?.() ?? true)) return false;
  pauseForBudget(state, refusal, now);
  return true;
}

/** Starts map items while there is room (in concurrency and in the run's budget); returns their commands. */
export async function fillMap(
  program: Program,
  state: RunState,
  node: NodeOf<'map'>,
  mapExec: string,
  now: string,
): Promise<Command[]> {
  const execution = state.inflight[mapExec];
  if (execution?.kind !== 'map') return [];
  const commands: Command[] = [];
  while (execution.next < execution.items.length && execution.running < execution.concurrency) {
    if (heldByBudget(program, state, node, now)) break;
    const index = execution.next++;
    execution.running++;
    const exec = `${mapExec}/${index}`;
    const scope = context(state, { item: execution.items[index], index });
    const command = await bodyCommand(exec, node, node, scope, undefined, state.quotas);
    state.inflight[exec] = {
      kind: 'work',
      node: node.id,
      started: ++state.seq,
      command,
      map: { exec: mapExec, index },
    };
    commands.push(command);
  }
  return commands;
}

/** Cancels the running items of a map (another item failed, or the run ends). */
export function cancelMapItems(state: RunState, mapExec: string): Command[] {
  const commands: Command[] = [];
  for (const [exec, execution] of Object.entries(state.inflight)) {
    if (execution.kind === 'work' && execution.map?.exec === mapExec) {
      delete state.inflight[exec];
      commands.push({ type: 'cancel', exec });
    }
  }
  delete state.inflight[mapExec];
  return commands;
}

/** Starts the items of every map that has room again (after a resume raised the budget). */
export async function refillMaps(program: Program, state: RunState, now: string): Promise<Command[]> {
  const commands: Command[] = [];
  for (const [exec, execution] of Object.entries(state.inflight)) {
    const node = program.nodes.get(execution.node);
    if (execution.kind === 'map' && node?.type === 'map')
      commands.push(...(await fillMap(program, state, node, exec, now)));
  }
  return commands;
}
