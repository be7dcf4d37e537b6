/**
 * `map`: runs its body (a task, ai or subworkflow config) once per item with `item` and `index`
 * in scope, at most `max_concurrency` at a time; the output is the results in item order. A body
 * gets exactly the static checks of a node of its type; its expressions see `item` and `index`.
 * How items start and complete: map-node.ts (fillMap) and the engine's outcome.
 */
import { MapNode } from '../definition-schema.js';
import { ExpressionError, evaluate } from '../expressions.js';
import { expressionInputs, templateInputs, union } from '../expression-inputs.js';
import type { Problem } from '../problems.js';
import { mapPlan } from '../quotas.js';
import { bodyExpressions, plain, templateSources, viewError } from './body.js';
import { pushExpression } from './checks.js';
import type { NodeModule } from './types.js';
import type { NodeOf } from '../definition-schema.js';

const ITEM_PREFIX = /^item \d+: /;

type Bodies = Pick<NodeOf<'map'>, 'task' | 'ai' | 'subworkflow'>;

function bodyInputs(body: Bodies): string[] {
  if (body.task) return templateInputs(body.task.inputs);
  if (body.ai) return templateInputs([body.ai.prompt_template, body.ai.system ?? '']);
  if (body.subworkflow) return templateInputs(body.subworkflow.inputs);
  return [];
}

function bodySources(node: Bodies): string[] {
  return node.task
    ? templateSources(node.task.inputs)
    : node.ai
      ? templateSources([node.ai.prompt_template, node.ai.system ?? ''])
      : node.subworkflow
        ? templateSources(node.subworkflow.inputs)
        : [];
}

export const mapNode: NodeModule<'map'> = {
  type: 'map',
  schema: MapNode,
  problems(node, at, checks) {
    const problems: Problem[] = [];
    pushExpression(problems, `${at}/items`, node.items);
    const bodies = (['task', 'ai', 'subworkflow'] as const).filter((k) => node[k] !== undefined);
    if (bodies.length !== 1) {
      problems.push({
        path: at,
        message: `a map node needs exactly one body field (task, ai or subworkflow), has ${bodies.length}`,
      });
    }
    // A body gets exactly the checks of a node of its type.
    if (node.task) problems.push(...checks.node({ ...node.task, id: node.id, type: 'task' }, `${at}/task`));
    if (node.ai) problems.push(...checks.node({ ...node.ai, id: node.id, type: 'ai' }, `${at}/ai`));
    if (node.subworkflow)
      problems.push(...checks.node({ ...node.subworkflow, id: node.id, type: 'subworkflow' }, `${at}/subworkflow`));
    if (node.task?.compensation !== undefined) {
      problems.push({
        path: `${at}/task/compensation`,
        message:
          'a map body has no compensation: sagas compensate completed task nodes only; put the call in a task node after the map',
      });
    }
    return problems;
  },
  expressions(node, at) {
    const bodies = (['task', 'ai', 'subworkflow'] as const).flatMap((key) => {
      const body = node[key];
      return body ? bodyExpressions(`${at}/${key}`, body) : [];
    });
    return [...plain([[`${at}/items`, node.items]]), ...plain(bodies, true)];
  },
  inputs: (node) => union([expressionInputs(node.items), bodyInputs(node)]),
  taintSources: (node) => ({ all: [node.items, ...bodySources(node)] }),
  mock(_node, view) {
    const error = viewError(view);
    if (view.status === 'completed' && Array.isArray(view.output))
      return { items: view.output.map((output: unknown) => ({ output: output ?? null })) };
    // Which item failed is in the message only: every item gets the failure.
    return view.status === 'failed' && error
      ? { error: { type: error.type, message: error.message.replace(ITEM_PREFIX, '') } }
      : undefined;
  },
  async activate(step) {
    const { node, state } = step;
    const items = await evaluate(node.items, step.context());
    if (!Array.isArray(items)) {
      throw new ExpressionError(
        `"items" must give an array, got ${items === undefined ? 'nothing' : typeof items}`,
        node.items,
      );
    }
    if (items.length === 0) {
      step.complete([]);
      return step.leave();
    }
    const plan = mapPlan(state, items.length, node.max_concurrency);
    if ('refused' in plan) return step.failQuota(plan.refused);
    const exec = step.newExec();
    state.inflight[exec] = {
      kind: 'map',
      node: node.id,
      started: state.seq,
      items,
      results: items.map(() => null),
      next: 0,
      running: 0,
      concurrency: plan.concurrency,
    };
    step.transition('running', `${items.length} item(s)`);
    step.commands.push(...(await step.fillMap(exec)));
    return [];
  },
};
