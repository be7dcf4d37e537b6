/** `join`: waits for its incoming branches (all, any or n of them); its output is what they delivered. */
import { JoinNode } from '../definition-schema.js';
import type { Problem } from '../problems.js';
import type { NodeModule } from './types.js';

export const joinNode: NodeModule<'join'> = {
  type: 'join',
  schema: JoinNode,
  // The incoming edge count is a graph check (validate-definition.ts).
  problems(node, at) {
    const problems: Problem[] = [];
    if (node.mode === 'n' && node.n === undefined) problems.push({ path: `${at}/n`, message: 'mode "n" needs "n"' });
    return problems;
  },
  expressions: () => [],
  inputs: () => [],
  taintSources: () => ({ all: [] }),
  mock: () => undefined,
  async activate(step) {
    const output = step.joinOutput ?? {};
    const tooLarge = step.refused(output);
    if (tooLarge) return step.failState(tooLarge);
    step.complete(output);
    return step.leave();
  },
  activateSync(step) {
    if (step.refused(step.joinOutput ?? {})) return undefined;
    step.complete(step.joinOutput ?? {});
    return step.leaveNow();
  },
};
