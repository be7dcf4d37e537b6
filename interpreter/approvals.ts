/**
 * Who may decide an approval node, and when a decision is final. `approvers` lists roles (the
 * names in CALLER_ROLES) and caller ids (`key:<name>`, `jwt:<subject>`, …); a caller may decide
 * when its id is listed or it holds a listed role (the gateway passes the roles its caller's
 * permissions cover, so an `admin` holds them all). `quorum` asks for that many distinct
 * approvals; one rejection rejects. `forbid_self_approval` refuses the approval of the caller
 * who started the run (recorded at start as `run.started_by`).
 */
import type { NodeOf } from './definition-schema.js';
import type { Execution, RunState } from './run-state.js';

/** The roles a caller can hold (src/auth/roles.ts grants their permissions); other entries are caller ids. */
export const CALLER_ROLES = ['viewer', 'operator', 'editor', 'approver', 'admin'] as const;

const isRole = (entry: string): boolean => (CALLER_ROLES as readonly string[]).includes(entry);

/** A decision as the approval action carries it. */
export interface Decision {
  node: string;
  approved: boolean;
  comment?: string;
  by: string;
  /** The roles the deciding caller holds (absent: an action from before roles were passed, ids only). */
  roles?: string[];
}

export type ApprovalExecution = Extract<Execution, { kind: 'approval' }>;

function describeApprovers(approvers: readonly string[]): string {
  const roles = approvers.filter(isRole);
  const ids = approvers.filter((a) => !isRole(a));
  return [
    ...(roles.length > 0 ? [`role ${roles.map((r) => `"${r}"`).join(', ')}`] : []),
    ...(ids.length > 0 ? [`caller ${ids.map((r) => `"${r}"`).join(', ')}`] : []),
  ].join(' or ');
}

/** Why the caller may not decide, or undefined when it may. */
function approverRefusal(execution: ApprovalExecution, decision: Decision): string | undefined {
  const approvers = execution.approvers ?? [];
  if (approvers.length === 0 || approvers.includes(decision.by)) return undefined;
  const roles = decision.roles ?? [];
  if (roles.some((role) => isRole(role) && approvers.includes(role))) return undefined;
  const held = roles.length > 0 ? `its roles: ${roles.join(', ')}` : 'no role known';
  return `"${decision.by}" is not an approver of node "${decision.node}" (approvers: ${describeApprovers(approvers)}; ${held})`;
}

/** Why this decision would be refused, or undefined when it would be accepted. */
export function decisionRefusal(
  state: RunState,
  node: NodeOf<'approval'>,
  execution: ApprovalExecution,
  decision: Decision,
): string | undefined {
  const notApprover = approverRefusal(execution, decision);
  if (notApprover) return notApprover;
  if (!decision.approved) return undefined;
  if (node.forbid_self_approval === true && state.run.started_by === decision.by) {
    return `"${decision.by}" started this run and node "${node.id}" forbids self-approval (forbid_self_approval): another approver must decide`;
  }
  const approvals = execution.approvals ?? [];
  if (approvals.some((a) => a.by === decision.by)) {
    const needed = node.quorum ?? 1;
    return `"${decision.by}" has already approved node "${node.id}": it needs ${needed} distinct approvers (${approvals.length} so far)`;
  }
  return undefined;
}

/**
 * Records an approval. Returns the node's output when the decision is final (quorum reached, or
 * a rejection), undefined while more approvals are needed.
 */
export function recordDecision(
  node: NodeOf<'approval'>,
  execution: ApprovalExecution,
  decision: Decision,
): Record<string, unknown> | undefined {
  const comment = decision.comment ?? null;
  const approvals = decision.approved
    ? [...(execution.approvals ?? []), { by: decision.by, comment }]
    : (execution.approvals ?? []);
  if (decision.approved && approvals.length < (node.quorum ?? 1)) {
    execution.approvals = approvals;
    return undefined;
  }
  // Without a quorum the output is the contract's { approved, by, comment }, as it always was.
  return {
    approved: decision.approved,
    by: decision.by,
    comment,
    ...(node.quorum === undefined ? {} : { approvals }),
  };
}

/**
 * A quorum no caller list can meet: every entry is a caller id and there are fewer distinct ids
 * than the quorum. Undefined when it can be met.
 */
export function unmeetableQuorum(node: NodeOf<'approval'>): string | undefined {
  if (node.quorum === undefined || !node.approvers || node.approvers.length === 0) return undefined;
  if (node.approvers.some(isRole)) return undefined;
  const ids = new Set(node.approvers);
  if (node.quorum <= ids.size) return undefined;
  return `quorum is ${node.quorum} but "approvers" lists only ${ids.size} caller id(s) and no role, so it could never be met`;
}
