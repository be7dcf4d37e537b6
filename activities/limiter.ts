/**
 * Permit limiters (`workflows/limiter.ts`): how their workflow ids are made, the activity through
 * which a run asks for a permit (signal-with-start of the limiter, so the request is in
 * Temporal's history before the activity completes), and the one a limiter uses to find holders
 * whose runs closed without giving their permit back.
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { tenantOfWorkflowId, tenantPrefix } from '../src/shared/tenants.js';
import { TenantKey } from '../src/shared/search-attributes.js';
import type { PermitRate } from '../interpreter/commands.js';
import type { AcquireRequest, LimiterArgs, PermitRequest } from '../workflows/limiter.js';

export const LIMITER_WORKFLOW_TYPE = 'permitLimiter';

/**
 * `[<tenant>/]~weft-limit:<hash of task queue, definition, node and key>`. Run ids cannot contain
 * `~`, so no run takes a limiter's id; every version of a definition shares its limiters.
 */
export function limiterWorkflowId(
  tenant: string,
  taskQueue: string,
  definitionId: string,
  node: string,
  key: string | null,
): string {
  const hash = createHash('sha256')
    .update(`${taskQueue}\n${definitionId}\n${node}\n${key === null ? 'none' : `key:${key}`}`)
    .digest('hex')
    .slice(0, 40);
  return `${tenantPrefix(tenant)}~weft-limit:${hash}`;
}

export interface PermitAsk {
  definition_id: string;
  node: string;
  key: string | null;
  /** Absent: no concurrency limit (a rate only). */
  max_concurrency?: number;
  rate?: PermitRate;
  /** The run's priority (`options.priority`); absent: the default. */
  priority?: number;
  /** The execution asking (exec id in the calling run). */
  exec: string;
}

export function createLimiterActivities() {
  return {
    /** Puts the calling execution in line at its limiter (started when missing); returns the limiter's id. */
    async requestPermit(ask: PermitAsk): Promise<string> {
      const context = Context.current();
      const execution = context.info.workflowExecution ?? { workflowId: '', runId: '' };
      const tenant = tenantOfWorkflowId(execution.workflowId);
      const workflowId = limiterWorkflowId(tenant, context.info.taskQueue, ask.definition_id, ask.node, ask.key);
      const summary = `limit ${ask.definition_id} · ${ask.node}${ask.key === null ? '' : ` · key ${ask.key}`}`;
      const args: LimiterArgs = {
        definition_id: ask.definition_id,
        node: ask.node,
        key: ask.key,
        limit: ask.max_concurrency ?? null,
        ...(ask.rate ? { rate: ask.rate } : {}),
      };
      const request: AcquireRequest = {
        workflow_id: execution.workflowId,
        run_id: execution.runId,
        exec: ask.exec,
        limit: ask.max_concurrency ?? null,
        ...(ask.rate ? { rate: ask.rate } : {}),
        ...(ask.priority === undefined ? {} : { priority: ask.priority }),
      };
      await context.client.workflow.signalWithStart(LIMITER_WORKFLOW_TYPE, {
        workflowId,
        taskQueue: context.info.taskQueue,
        args: [args],
        signal: 'acquire',
        signalArgs: [request],
        typedSearchAttributes: [{ key: TenantKey, value: tenant }],
        staticSummary: summary.length > 400 ? `${summary.slice(0, 400)}…` : summary,
      });
      return workflowId;
    },
    /** The run ids among `holders` whose runs are closed (or gone): their permits are free again. */
    async closedPermitHolders(holders: PermitRequest[]): Promise<string[]> {
      const { client } = Context.current();
      const closed: string[] = [];
      for (const holder of holders) {
        try {
          const description = await client.workflow.getHandle(holder.workflow_id, holder.run_id).describe();
          if (description.status.name !== 'RUNNING') closed.push(holder.run_id);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) closed.push(holder.run_id);
          else throw err;
        }
      }
      return closed;
    },
  };
}

export type LimiterActivities = ReturnType<typeof createLimiterActivities>;
