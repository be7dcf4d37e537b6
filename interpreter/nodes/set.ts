/** `set`: assigns variables from expressions, each assignment seeing the ones before it. */
import { SetNode } from '../definition-schema.js';
import { escapePointer, evaluate, evaluateSync } from '../expressions.js';
import { expressionInputs, union } from '../expression-inputs.js';
import type { NodeOf } from '../definition-schema.js';
import type { Problem } from '../problems.js';
import { plain } from './body.js';
import { pushExpression } from './checks.js';
import type { NodeModule, Step } from './types.js';

// Parsing is the costly part and a node's references never change: once per node object.
const assignInputsCache = new WeakMap<NodeOf<'set'>, Record<string, string[]>>();

/** What one `assign` entry of a set node is computed from. */
export function assignInputs(node: NodeOf<'set'>, name: string): string[] {
  let byName = assignInputsCache.get(node);
  if (!byName) {
    byName = Object.fromEntries(Object.entries(node.assign).map(([key, source]) => [key, expressionInputs(source)]));
    assignInputsCache.set(node, byName);
  }
  return byName[name] ?? [];
}

function assignAll(step: Step<'set'>, assigned: Record<string, unknown>): void {
  const { state, node } = step;
  Object.assign(state.vars, assigned);
  for (const name of Object.keys(assigned)) step.recordWrite(name, assignInputs(node, name));
}

export const setNode: NodeModule<'set'> = {
  type: 'set',
  schema: SetNode,
  problems(node, at) {
    const problems: Problem[] = [];
    for (const [name, source] of Object.entries(node.assign)) pushExpression(problems, `${at}/assign/${name}`, source);
    return problems;
  },
  expressions: (node, at) =>
    plain(Object.entries(node.assign).map(([name, source]) => [`${at}/assign/${escapePointer(name)}`, source])),
  inputs: (node) => union(Object.values(node.assign).map(expressionInputs)),
  taintSources: (node) => ({ all: Object.values(node.assign), assign: node.assign }),
  mock: () => undefined,
  async activate(step) {
    // Each assignment sees the ones before it; the state changes only once all of them fit.
    const vars = { ...step.state.vars };
    const assigned: Record<string, unknown> = {};
    for (const [name, source] of Object.entries(step.node.assign)) {
      const value = (await evaluate(source, { ...step.context(), vars })) ?? null;
      vars[name] = value;
      assigned[name] = value;
    }
    const tooLarge = step.refused(assigned, assigned);
    if (tooLarge) return step.failState(tooLarge);
    assignAll(step, assigned);
    step.complete(assigned);
    return step.leave();
  },
  activateSync(step) {
    const vars = { ...step.state.vars };
    const assigned: Record<string, unknown> = {};
    for (const [name, source] of Object.entries(step.node.assign)) {
      const value = evaluateSync(source, { ...step.context(), vars }) ?? null;
      vars[name] = value;
      assigned[name] = value;
    }
    // Too large: the general path fails the node with StateTooLarge.
    if (step.refused(assigned, assigned)) return undefined;
    assignAll(step, assigned);
    step.complete(assigned);
    return step.leaveNow();
  },
};
