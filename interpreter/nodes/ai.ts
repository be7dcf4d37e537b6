/** `ai`: one model call (always an activity), checked against the run's AI budget first. */
import { AiNode } from '../definition-schema.js';
import type { Problem } from '../problems.js';
import { bodyExpressions, callMock, plain, templateInputs, templateSources } from './body.js';
import { pushTemplates, resourceLimitProblems } from './checks.js';
import type { NodeModule } from './types.js';

export const aiNode: NodeModule<'ai'> = {
  type: 'ai',
  schema: AiNode,
  // Its output_mapping is checked with the expressions evaluated outside the run (validate-definition.ts).
  problems(node, at) {
    const problems: Problem[] = [...resourceLimitProblems(node.resource_limits, at)];
    pushTemplates(problems, `${at}/prompt_template`, node.prompt_template);
    if (node.system !== undefined) pushTemplates(problems, `${at}/system`, node.system);
    return problems;
  },
  expressions: (node, at) => plain(bodyExpressions(at, node)),
  inputs: (node) => templateInputs([node.prompt_template, node.system ?? '']),
  taintSources: (node) => ({ all: templateSources([node.prompt_template, node.system ?? '']) }),
  mock: (_node, view) => callMock(view),
  activate: (step) => step.startWork(),
};
