/** `subworkflow`: starts a child run of another definition and waits for its result. */
import { SubworkflowNode } from '../definition-schema.js';
import type { Problem } from '../problems.js';
import { bodyExpressions, callMock, plain, templateInputs, templateSources } from './body.js';
import { pushTemplates } from './checks.js';
import type { NodeModule } from './types.js';

export const subworkflowNode: NodeModule<'subworkflow'> = {
  type: 'subworkflow',
  schema: SubworkflowNode,
  problems(node, at) {
    const problems: Problem[] = [];
    pushTemplates(problems, `${at}/inputs`, node.inputs);
    return problems;
  },
  expressions: (node, at) => plain(bodyExpressions(at, node)),
  inputs: (node) => templateInputs(node.inputs),
  taintSources: (node) => ({ all: templateSources(node.inputs) }),
  mock: (_node, view) => callMock(view),
  activate: (step) => step.startWork(),
};
