/** `wait`: a durable timer, for a `duration` or `until` a date-time an expression gives. */
import { WaitNode } from '../definition-schema.js';
import { durationMs } from '../duration.js';
import { ExpressionError, evaluate } from '../expressions.js';
import { expressionInputs } from '../expression-inputs.js';
import type { Problem } from '../problems.js';
import { timerRefusal } from '../quotas.js';
import { deadline, timerCommand } from '../timers.js';
import { plain } from './body.js';
import { pushExpression } from './checks.js';
import type { NodeModule } from './types.js';

export const waitNode: NodeModule<'wait'> = {
  type: 'wait',
  schema: WaitNode,
  problems(node, at) {
    const problems: Problem[] = [];
    if ((node.duration === undefined) === (node.until === undefined)) {
      problems.push({ path: at, message: 'a wait node needs exactly one of "duration" or "until"' });
    }
    if (node.until !== undefined) pushExpression(problems, `${at}/until`, node.until);
    return problems;
  },
  expressions: (node, at) => (node.until === undefined ? [] : plain([[`${at}/until`, node.until]])),
  inputs: (node) => (node.until === undefined ? [] : expressionInputs(node.until)),
  taintSources: (node) => ({ all: node.until === undefined ? [] : [node.until] }),
  mock: () => undefined,
  async activate(step) {
    const { node, state, now } = step;
    let at: string;
    if (node.duration !== undefined) {
      at = deadline(now, durationMs(node.duration));
    } else {
      const value = await evaluate(node.until ?? '', step.context());
      const parsed = typeof value === 'string' || typeof value === 'number' ? Date.parse(String(value)) : NaN;
      if (Number.isNaN(parsed)) {
        throw new ExpressionError(`"until" must give an ISO date-time, got ${JSON.stringify(value)}`, node.until ?? '');
      }
      at = new Date(parsed).toISOString();
    }
    const refused = timerRefusal(state, now, at);
    if (refused) return step.failQuota(refused);
    const exec = step.newExec();
    const command = timerCommand(exec, node.id, at, 'wait');
    state.inflight[exec] = { kind: 'wait', node: node.id, started: state.seq, command, purpose: 'wait' };
    step.transition('waiting', `until ${at}`);
    step.commands.push(command);
    return [];
  },
};
