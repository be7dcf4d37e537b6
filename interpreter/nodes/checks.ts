/** Static checks shared by several node types: expression syntax, templates, connector calls, resource limits. */
import type { NodeOf } from '../definition-schema.js';
import { expressionSyntaxError, templateErrors } from '../expressions.js';
import type { Problem } from '../problems.js';
import type { ConnectorCatalog, ParamsCheck } from './types.js';

export function pushExpression(problems: Problem[], path: string, source: string): void {
  const message = expressionSyntaxError(source);
  if (message) problems.push({ path, message });
}

export function pushTemplates(problems: Problem[], path: string, value: unknown): void {
  for (const [pointer, message] of templateErrors(value)) problems.push({ path: path + pointer, message });
}

export function connectorProblems(
  call: { connector: string; action: string; inputs: Record<string, unknown> },
  at: string,
  catalog?: ConnectorCatalog,
  checkParams?: ParamsCheck,
): Problem[] {
  const problems: Problem[] = [];
  const actions = catalog?.[call.connector];
  if (catalog && !actions) {
    problems.push({
      path: `${at}/connector`,
      message: `unknown connector "${call.connector}"; available: ${Object.keys(catalog).join(', ')}`,
    });
  } else if (actions && !actions.includes(call.action)) {
    problems.push({
      path: `${at}/action`,
      message: `connector "${call.connector}" has no action "${call.action}"; available: ${actions.join(', ')}`,
    });
  }
  pushTemplates(problems, `${at}/inputs`, call.inputs);
  if (checkParams && actions?.includes(call.action)) {
    for (const p of checkParams(call.connector, call.action, call.inputs))
      problems.push({ path: `${at}/inputs${p.path}`, message: p.message });
  }
  return problems;
}

/**
 * `resource_limits`: `max_concurrency` and `rate_per_second`/`burst` (per `concurrency_key`) are
 * enforced by the limiter workflows, `memory_mb` by the worker's memory budget
 * (activities/memory-budget.ts); what makes no sense is refused here, never accepted and ignored.
 */
export function resourceLimitProblems(limits: NodeOf<'task'>['resource_limits'], at: string): Problem[] {
  if (!limits) return [];
  const problems: Problem[] = [];
  const here = `${at}/resource_limits`;
  if (limits.burst !== undefined && limits.rate_per_second === undefined)
    problems.push({
      path: `${here}/burst`,
      message: "burst needs rate_per_second: it is the size of the rate limit's bucket",
    });
  if (limits.concurrency_key !== undefined) {
    if (limits.max_concurrency === undefined && limits.rate_per_second === undefined)
      problems.push({
        path: `${here}/concurrency_key`,
        message: 'concurrency_key needs max_concurrency or rate_per_second: it says per what the limit applies',
      });
    pushExpression(problems, `${here}/concurrency_key`, limits.concurrency_key);
  }
  return problems;
}
