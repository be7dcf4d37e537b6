/**
 * Warnings: what a valid definition says that is probably not what its author meant. A definition
 * with warnings is still accepted (they are returned beside `valid: true`); each has the JSON
 * Pointer of the field it is about.
 */
import { CALLER_ROLES } from './approvals.js';
import type { Definition } from './definition-schema.js';
import { KNOWN_ERROR_TYPES } from './error-types.js';
import { isConstantExpression } from './name-resolution.js';
import { nearestName } from './near-names.js';
import type { PlacedExpression } from './expression-places.js';
import type { Problem } from './problems.js';

const asList = (value: string | string[] | undefined): string[] | undefined =>
  value === undefined ? undefined : Array.isArray(value) ? value : [value];

/** Whether every failure handler `later` matches is matched by `earlier` first. */
function covers(earlier: string[] | undefined, later: string[] | undefined): boolean {
  if (earlier === undefined) return true;
  return later !== undefined && later.every((x) => earlier.includes(x));
}

/** A `set` or `output` that writes a variable nobody declared: typed `any`, and often a misspelling. */
function undeclaredWrites(definition: Definition): Problem[] {
  const declared = new Set(definition.variables.map((v) => v.name));
  const warn = (path: string, name: string): Problem => {
    const near = nearestName(name, declared);
    return {
      path,
      message: `variable "${name}" is not declared in "variables", so it is of type any and the run's input cannot set it${near === undefined ? '; declare it' : `; did you mean "${near}"?`}`,
    };
  };
  return definition.nodes.flatMap((node, i) => [
    ...(node.output !== undefined && !declared.has(node.output) ? [warn(`/nodes/${i}/output`, node.output)] : []),
    ...(node.type === 'set'
      ? Object.keys(node.assign)
          .filter((name) => !declared.has(name))
          .map((name) => warn(`/nodes/${i}/assign/${name}`, name))
      : []),
  ]);
}

/** Handlers no failure can reach: an earlier one matches first, or every node they name has an error edge. */
function unreachableHandlers(definition: Definition): Problem[] {
  const withErrorEdge = new Set(definition.edges.filter((e) => e.on === 'error').map((e) => e.from));
  const problems: Problem[] = [];
  definition.error_handlers.forEach((handler, i) => {
    const nodes = asList(handler.match?.node);
    const types = asList(handler.match?.error_type);
    const path = `/error_handlers/${i}`;
    const first = definition.error_handlers
      .slice(0, i)
      .findIndex((e) => covers(asList(e.match?.node), nodes) && covers(asList(e.match?.error_type), types));
    if (first >= 0) {
      const earlier = definition.error_handlers[first];
      problems.push({
        path,
        message: `handler "${handler.id}" is never used: handler "${earlier?.id ?? ''}" (/error_handlers/${first}) comes first and matches every failure it matches`,
      });
    } else if (nodes !== undefined && nodes.every((id) => withErrorEdge.has(id))) {
      problems.push({
        path: `${path}/match/node`,
        message:
          nodes.length === 0
            ? `handler "${handler.id}" is never used: it matches no node`
            : `handler "${handler.id}" is never used: ${nodes.map((n) => `"${n}"`).join(', ')} ${nodes.length === 1 ? 'has' : 'have'} an on: "error" edge, which takes the failure instead of any handler`,
      });
    }
  });
  return problems;
}

/** A condition whose every way out has a `when` and none is the default: when none holds, the branch just ends. */
function conditionsWithoutDefault(definition: Definition): Problem[] {
  const problems: Problem[] = [];
  definition.nodes.forEach((node, i) => {
    if (node.type !== 'condition') return;
    const out = definition.edges.filter((e) => e.from === node.id && e.on === 'success');
    if (out.length > 0 && out.every((e) => e.when !== undefined && e.default !== true)) {
      problems.push({
        path: `/nodes/${i}`,
        message: `condition "${node.id}": every outgoing edge has a "when" and none is "default": true, so when none holds the branch ends here silently; mark one edge as the default`,
      });
    }
  });
  return problems;
}

/** A `when` that reads nothing of the run is the same for every run. */
function constantWhens(placed: PlacedExpression[]): Problem[] {
  return placed
    .filter((p) => p.when === true && isConstantExpression(p.source))
    .map((p) => ({
      path: p.path,
      message: `"when" is constant (it reads no vars, input or nodes), so it gives the same answer in every run; write the condition, or drop "when" to always follow the edge`,
    }));
}

/** How the gateway names callers (src/auth): an API key, a JWT subject, the local-development caller. */
const CALLER_ID = /^(key:.+|jwt:.+|local-dev)$/;

/** An `approvers` entry that is neither a role nor a caller id matches no caller, so its node can only time out. */
function unmatchableApprovers(definition: Definition): Problem[] {
  const problems: Problem[] = [];
  definition.nodes.forEach((node, i) => {
    if (node.type !== 'approval') return;
    (node.approvers ?? []).forEach((entry, j) => {
      if ((CALLER_ROLES as readonly string[]).includes(entry) || CALLER_ID.test(entry)) return;
      const near = nearestName(entry, CALLER_ROLES);
      problems.push({
        path: `/nodes/${i}/approvers/${j}`,
        message: `approver "${entry}" is neither a role (${CALLER_ROLES.join(', ')}) nor a caller id ("key:<key name>", "jwt:<subject>" or "local-dev"), so no caller can match it; did you mean ${near === undefined ? `"key:${entry}" or "jwt:${entry}"` : `"${near}"`}?`,
      });
    });
  });
  return problems;
}

/** A handler's `match.error_type` that no failure has: a misspelt type never matches. */
function unknownErrorTypes(definition: Definition): Problem[] {
  const problems: Problem[] = [];
  definition.error_handlers.forEach((handler, i) => {
    const types = handler.match?.error_type;
    const list = asList(types) ?? [];
    list.forEach((type, j) => {
      if (KNOWN_ERROR_TYPES.includes(type)) return;
      const near = nearestName(type, KNOWN_ERROR_TYPES);
      problems.push({
        path: `/error_handlers/${i}/match/error_type${Array.isArray(types) ? `/${j}` : ''}`,
        message: `handler "${handler.id}": no failure has the error type "${type}" (connectors fail with types such as HttpError, Timeout, SqlError; the engine with Rejected, ExpressionError, …), so it never matches${near === undefined ? '' : `; did you mean "${near}"?`}`,
      });
    });
  });
  return problems;
}

/** Every warning of a valid definition. */
export function definitionWarnings(definition: Definition, placed: PlacedExpression[]): Problem[] {
  return [
    ...undeclaredWrites(definition),
    ...unreachableHandlers(definition),
    ...conditionsWithoutDefault(definition),
    ...constantWhens(placed),
    ...unmatchableApprovers(definition),
    ...unknownErrorTypes(definition),
  ];
}
