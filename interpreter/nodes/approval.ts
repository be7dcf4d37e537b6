/** `approval`: waits for decisions of approvers (a quorum), optionally until a timeout that approves or rejects. */
import { unmeetableQuorum } from '../approvals.js';
import { ApprovalNode } from '../definition-schema.js';
import { durationMs } from '../duration.js';
import type { Problem } from '../problems.js';
import { deadline, timeoutRefusal, timerCommand } from '../timers.js';
import type { NodeModule } from './types.js';

export const approvalNode: NodeModule<'approval'> = {
  type: 'approval',
  schema: ApprovalNode,
  problems(node, at) {
    const problems: Problem[] = [];
    const unmeetable = unmeetableQuorum(node);
    if (unmeetable) problems.push({ path: `${at}/quorum`, message: unmeetable });
    return problems;
  },
  expressions: () => [],
  inputs: () => [],
  taintSources: () => ({ all: [] }),
  mock(_node, view) {
    const decision = view.output as
      { approved?: boolean; by?: string; comment?: string | null; approvals?: Array<{ by: string }> } | undefined;
    if (!decision || (view.status !== 'completed' && view.status !== 'failed')) return undefined;
    if (decision.by === 'timeout') return { timeout: true };
    const by = decision.approved && decision.approvals ? decision.approvals.map((a) => a.by) : decision.by;
    return {
      decision: decision.approved ? 'approved' : 'rejected',
      ...(by === undefined ? {} : { by }),
      ...(typeof decision.comment === 'string' ? { comment: decision.comment } : {}),
    };
  },
  activate(step) {
    const { node, state, now } = step;
    const refused = timeoutRefusal(state, now, node.timeout);
    if (refused) return step.failQuota(refused);
    const exec = step.newExec();
    const timer =
      node.timeout === undefined
        ? undefined
        : timerCommand(exec, node.id, deadline(now, durationMs(node.timeout)), 'approval timeout');
    state.inflight[exec] = {
      kind: 'approval',
      node: node.id,
      started: state.seq,
      on_timeout: node.on_timeout,
      ...(node.approvers ? { approvers: node.approvers } : {}),
      ...(timer ? { timer } : {}),
    };
    if (timer) step.commands.push(timer);
    step.transition('waiting', 'waiting for a decision');
    return Promise.resolve([]);
  },
};
