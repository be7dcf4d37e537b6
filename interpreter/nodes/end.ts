/** `end`: closes the run, completed with a result (its own `result`, or the run's) or failed with a message. */
import { EndNode } from '../definition-schema.js';
import { evaluate } from '../expressions.js';
import { expressionInputs } from '../expression-inputs.js';
import type { Problem } from '../problems.js';
import { plain } from './body.js';
import { pushExpression } from './checks.js';
import type { NodeModule } from './types.js';

export const endNode: NodeModule<'end'> = {
  type: 'end',
  schema: EndNode,
  problems(node, at) {
    const problems: Problem[] = [];
    if (node.result !== undefined) pushExpression(problems, `${at}/result`, node.result);
    return problems;
  },
  expressions: (node, at) => (node.result === undefined ? [] : plain([[`${at}/result`, node.result]])),
  inputs: (node) => (node.result === undefined ? ['vars'] : expressionInputs(node.result)),
  // Without `result`, the run's result is its variables: masked per variable.
  taintSources: (node) => ({ all: node.result === undefined ? [] : [node.result] }),
  mock: () => undefined,
  async activate(step) {
    const { node } = step;
    const result =
      node.result === undefined ? await step.runResult() : ((await evaluate(node.result, step.context())) ?? null);
    const tooLarge = step.refused(result);
    if (tooLarge) return step.failState(tooLarge);
    step.complete(result);
    if (node.status === 'failed') {
      step.close('failed', { type: 'EndFailed', message: node.message ?? `ended at "${node.id}"`, node: node.id });
    } else {
      step.close('completed', result);
    }
    return [];
  },
};
