/** `condition`: evaluates an expression; its output is what the outgoing edges' `when` test. */
import { ConditionNode } from '../definition-schema.js';
import { evaluate, evaluateSync } from '../expressions.js';
import { expressionInputs } from '../expression-inputs.js';
import { plain } from './body.js';
import { pushExpression } from './checks.js';
import type { NodeModule } from './types.js';
import type { Problem } from '../problems.js';

export const conditionNode: NodeModule<'condition'> = {
  type: 'condition',
  schema: ConditionNode,
  problems(node, at) {
    const problems: Problem[] = [];
    pushExpression(problems, `${at}/expression`, node.expression);
    return problems;
  },
  expressions: (node, at) => plain([[`${at}/expression`, node.expression]]),
  inputs: (node) => expressionInputs(node.expression),
  taintSources: (node) => ({ all: [node.expression] }),
  mock: () => undefined,
  async activate(step) {
    const output = (await evaluate(step.node.expression, step.context())) ?? null;
    const tooLarge = step.refused(output);
    if (tooLarge) return step.failState(tooLarge);
    step.complete(output);
    return step.leave();
  },
  activateSync(step) {
    const value = evaluateSync(step.node.expression, step.context()) ?? null;
    if (step.refused(value)) return undefined;
    step.complete(value);
    return step.leaveNow();
  },
};
