/** `task`: one connector call (an activity, or a local activity), with an optional compensation. */
import { TaskNode } from '../definition-schema.js';
import { renderTemplateSync } from '../expressions.js';
import { connectorCall, limited } from '../connector-call.js';
import { activityPlan } from '../plans.js';
import type { Problem } from '../problems.js';
import { inflightRefusal } from '../quotas.js';
import { bodyExpressions, callMock, plain, templateInputs, templateSources } from './body.js';
import { connectorProblems, resourceLimitProblems } from './checks.js';
import type { NodeModule } from './types.js';

export const taskNode: NodeModule<'task'> = {
  type: 'task',
  schema: TaskNode,
  problems(node, at, checks) {
    const problems: Problem[] = [...resourceLimitProblems(node.resource_limits, at)];
    problems.push(...connectorProblems(node, at, checks.catalog, checks.checkParams));
    if (node.compensation)
      problems.push(...connectorProblems(node.compensation, `${at}/compensation`, checks.catalog, checks.checkParams));
    return problems;
  },
  expressions: (node, at) => plain(bodyExpressions(at, node)),
  inputs: (node) => templateInputs(node.inputs),
  taintSources: (node) => ({ all: templateSources(node.inputs) }),
  mock: (_node, view) => callMock(view),
  activate: (step) => step.startWork(),
  // A limited task evaluates its concurrency_key: the general path.
  activateSync(step) {
    const { node, state } = step;
    if (limited(node.resource_limits)) return undefined;
    const params = renderTemplateSync(node.inputs, step.context()) as Record<string, unknown>;
    const plan = step.record().handler_retry ? undefined : activityPlan(node);
    // Over the in-flight quota: the general path fails the node with QuotaExceeded.
    if (!plan || inflightRefusal(state) !== undefined) return undefined;
    const exec = step.newExec();
    const command = {
      type: 'run_activity',
      exec,
      node: node.id,
      call: connectorCall(node, params, state.quotas),
      plan,
    } as const;
    state.inflight[exec] = { kind: 'work', node: node.id, started: state.seq, command };
    step.record().attempts = 0;
    step.transition('running');
    step.commands.push(command);
    return { arrivals: [] };
  },
};
