/** `event`: waits for an external event of a type with a correlation key (and filters), optionally until a timeout. */
import type { ExternalEvent } from '../commands.js';
import { EventNode } from '../definition-schema.js';
import { durationMs } from '../duration.js';
import { evaluate } from '../expressions.js';
import type { Problem } from '../problems.js';
import { deadline, timeoutRefusal, timerCommand } from '../timers.js';
import { viewError } from './body.js';
import { pushExpression } from './checks.js';
import type { NodeModule } from './types.js';

export const eventNode: NodeModule<'event'> = {
  type: 'event',
  schema: EventNode,
  problems(node, at) {
    const problems: Problem[] = [];
    pushExpression(problems, `${at}/correlation_key`, node.correlation_key);
    if (node.filters !== undefined) pushExpression(problems, `${at}/filters`, node.filters);
    return problems;
  },
  expressions: (node, at) => [
    [`${at}/correlation_key`, node.correlation_key, false, false],
    ...(node.filters === undefined
      ? []
      : [[`${at}/filters`, node.filters, false, true] as [string, string, boolean, boolean]]),
  ],
  inputs: (node) => [`event:${node.event_type}`],
  taintSources: () => ({ all: [] }),
  mock(_node, view) {
    if (view.status === 'completed') return { event: { payload: view.output ?? null } };
    return view.status === 'failed' && viewError(view)?.type === 'Timeout' ? { timeout: true } : undefined;
  },
  async activate(step) {
    const { node, state, now } = step;
    const refused = timeoutRefusal(state, now, node.timeout);
    if (refused) return step.failQuota(refused);
    const key = (await evaluate(node.correlation_key, step.context())) ?? null;
    const wait = {
      event_type: node.event_type,
      correlation_key: key,
      ...(node.filters ? { filters: node.filters } : {}),
    };
    for (let i = 0; i < state.event_buffer.length; i++) {
      const event = state.event_buffer[i] as ExternalEvent;
      if (await step.eventMatches(wait, event)) {
        state.event_buffer.splice(i, 1);
        step.complete(event.payload ?? null, { note: 'event arrived before the node waited' });
        return step.leave();
      }
    }
    const exec = step.newExec();
    const timer =
      node.timeout === undefined
        ? undefined
        : timerCommand(exec, node.id, deadline(now, durationMs(node.timeout)), 'event timeout');
    state.inflight[exec] = { kind: 'event', node: node.id, started: state.seq, ...wait, ...(timer ? { timer } : {}) };
    if (timer) step.commands.push(timer);
    step.transition('waiting', `waiting for "${node.event_type}"`);
    return [];
  },
};
