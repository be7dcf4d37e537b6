/**
 * Permit limiters (`workflows/limiter.ts`): how their workflow ids are made, the activity through
 * which a run asks for a permit (signal-with-start of the limiter, so the request is in
 * Temporal's history before the activity completes), and the one a limiter uses to find holders
 * whose runs closed without giving their permit back.
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { WithStartWorkflowOperation, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import { tenantOfWorkflowId, tenantPrefix } from '../src/shared/tenants.js';
import { TenantKey } from '../src/shared/search-attributes.js';
import type { PermitRate } from '../interpreter/commands.js';
import { RUN_PERMIT, holderRef } from '../interpreter/run-limits.js';
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
  /** "run": a run permit, held by the workflow id (run id "") so it outlives continue-as-new. */
  holder?: 'run';
}

function limiterStart(tenant: string, taskQueue: string, ask: PermitAsk) {
  const workflowId = limiterWorkflowId(tenant, taskQueue, ask.definition_id, ask.node, ask.key);
  const what = ask.node === RUN_PERMIT ? 'runs' : ask.node;
  const summary = `limit ${ask.definition_id} · ${what}${ask.key === null ? '' : ` · key ${ask.key}`}`;
  const args: LimiterArgs = {
    definition_id: ask.definition_id,
    node: ask.node,
    key: ask.key,
    limit: ask.max_concurrency ?? null,
    ...(ask.rate ? { rate: ask.rate } : {}),
  };
  return {
    workflowId,
    taskQueue,
    args: [args] as [LimiterArgs],
    typedSearchAttributes: [{ key: TenantKey, value: tenant }],
    staticSummary: summary.length > 400 ? `${summary.slice(0, 400)}…` : summary,
  };
}

/**
 * Takes a run permit for `workflowId` at once, or learns that none is free (nothing is queued):
 * update-with-start of the limiter, whose handler decides in one workflow task, so two starts
 * racing for the last permit get one yes and one no. Answers the limiter's id when granted.
 */
export async function takeRunPermit(
  client: Client,
  tenant: string,
  taskQueue: string,
  workflowId: string,
  ask: Omit<PermitAsk, 'exec' | 'holder' | 'node'> & { max_concurrency: number },
): Promise<{ granted: boolean; limiter: string; holders: number }> {
  const start = limiterStart(tenant, taskQueue, { ...ask, node: RUN_PERMIT, exec: RUN_PERMIT });
  const request: PermitRequest & { limit: number } = {
    workflow_id: workflowId,
    run_id: '',
    exec: RUN_PERMIT,
    limit: ask.max_concurrency,
  };
  const operation = new WithStartWorkflowOperation<Workflow>(LIMITER_WORKFLOW_TYPE, {
    ...start,
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  const answer = await client.workflow.executeUpdateWithStart<
    Workflow,
    { granted: boolean; holders: number },
    [typeof request]
  >('try_acquire', { args: [request], startWorkflowOperation: operation });
  return { ...answer, limiter: start.workflowId };
}

/** How long a run permit's holder may be missing (granted to a run its gateway is just starting) before it counts as gone. */
const UNSTARTED_GRACE_MS = 10_000;

export function createLimiterActivities() {
  return {
    /** Puts the calling execution in line at its limiter (started when missing); returns the limiter's id. */
    async requestPermit(ask: PermitAsk): Promise<string> {
      const context = Context.current();
      const execution = context.info.workflowExecution ?? { workflowId: '', runId: '' };
      const tenant = tenantOfWorkflowId(execution.workflowId);
      const start = limiterStart(tenant, context.info.taskQueue, ask);
      const request: AcquireRequest = {
        workflow_id: execution.workflowId,
        run_id: ask.holder === 'run' ? '' : execution.runId,
        exec: ask.exec,
        limit: ask.max_concurrency ?? null,
        ...(ask.rate ? { rate: ask.rate } : {}),
        ...(ask.priority === undefined ? {} : { priority: ask.priority }),
      };
      await context.client.workflow.signalWithStart(LIMITER_WORKFLOW_TYPE, {
        ...start,
        signal: 'acquire',
        signalArgs: [request],
      });
      return start.workflowId;
    },
    /** A run permit for the calling run at once, or none (on_limit "skip" of a run no gateway admitted). */
    async tryRunPermit(
      ask: Omit<PermitAsk, 'exec' | 'holder' | 'node'> & { max_concurrency: number },
    ): Promise<{ granted: boolean; limiter: string }> {
      const context = Context.current();
      const workflowId = context.info.workflowExecution?.workflowId ?? '';
      const tenant = tenantOfWorkflowId(workflowId);
      return takeRunPermit(context.client, tenant, context.info.taskQueue, workflowId, ask);
    },
    /** The run ids among `holders` whose runs are closed (or gone): their permits are free again. */
    async closedPermitHolders(holders: PermitRequest[]): Promise<string[]> {
      const { client } = Context.current();
      const closed: string[] = [];
      const missing: PermitRequest[] = [];
      const check = async (holder: PermitRequest, late: boolean) => {
        try {
          // A run permit ("" run id) is held by the workflow id: its latest run is the one to ask.
          const description = await client.workflow
            .getHandle(holder.workflow_id, holder.run_id || undefined)
            .describe();
          if (description.status.name !== 'RUNNING') closed.push(holderRef(holder));
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
          // A gateway takes a run permit just before it starts the run: missing a moment is not gone.
          if (holder.run_id === '' && !late) missing.push(holder);
          else closed.push(holderRef(holder));
        }
      };
      for (const holder of holders) await check(holder, false);
      if (missing.length > 0) {
        await new Promise((resolve) => setTimeout(resolve, UNSTARTED_GRACE_MS));
        for (const holder of missing) await check(holder, true);
      }
      return closed;
    },
  };
}

export type LimiterActivities = ReturnType<typeof createLimiterActivities>;
