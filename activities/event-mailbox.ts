/**
 * Event mailboxes (`workflows/event-mailbox.ts`): how their workflow ids are made, shared by the
 * gateway (which publishes to them) and by the activity through which a waiting run registers.
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { ExternalEvent } from '../interpreter/commands.js';
import { tenantOfWorkflowId, tenantPrefix } from '../src/shared/tenants.js';
import { TenantKey } from '../src/shared/search-attributes.js';
import type { MailboxArgs } from '../workflows/event-mailbox.js';

export const MAILBOX_WORKFLOW_TYPE = 'eventMailbox';

/** The key as the engine compares it (`42` and `"42"` are one key); null: events without a key. */
export function mailboxKey(key: unknown): string | null {
  if (key === null || key === undefined) return null;
  return typeof key === 'string' ? key : (JSON.stringify(key) ?? null);
}

/**
 * `[<tenant>/]~weft-events:<hash of task queue, type and key>`. Run ids cannot contain `~`, so no
 * run can take a mailbox's id; the tenant prefix keeps tenants' mailboxes apart like their runs,
 * and the task queue the installations sharing a namespace (a mailbox runs where its runs do).
 */
export function mailboxWorkflowId(tenant: string, taskQueue: string, eventType: string, key: unknown): string {
  const k = mailboxKey(key);
  const hash = createHash('sha256')
    .update(`${taskQueue}\n${eventType}\n${k === null ? 'none' : `key:${k}`}`)
    .digest('hex')
    .slice(0, 40);
  return `${tenantPrefix(tenant)}~weft-events:${hash}`;
}

/** What a mailbox is started with, whoever starts it. */
export function mailboxStart(
  tenant: string,
  eventType: string,
  key: unknown,
  taskQueue: string,
  retentionMs?: number,
): {
  workflowId: string;
  taskQueue: string;
  args: [MailboxArgs];
  typedSearchAttributes: [{ key: typeof TenantKey; value: string }];
  staticSummary: string;
} {
  const k = mailboxKey(key);
  const summary = `events "${eventType}"${k === null ? ' without a correlation key' : ` for key ${k}`}`;
  return {
    workflowId: mailboxWorkflowId(tenant, taskQueue, eventType, key),
    taskQueue,
    args: [{ event_type: eventType, correlation_key: k, ...(retentionMs ? { retention_ms: retentionMs } : {}) }],
    typedSearchAttributes: [{ key: TenantKey, value: tenant }],
    staticSummary: summary.length > 400 ? `${summary.slice(0, 400)}…` : summary,
  };
}

/** Publishes an event to its mailbox: durable in Temporal's history once this resolves. */
export async function publishToMailbox(
  client: Client,
  tenant: string,
  taskQueue: string,
  event: ExternalEvent,
  retentionMs?: number,
): Promise<string> {
  const start = mailboxStart(tenant, event.event_type, event.correlation_key, taskQueue, retentionMs);
  await client.workflow.signalWithStart(MAILBOX_WORKFLOW_TYPE, { ...start, signal: 'publish', signalArgs: [event] });
  return start.workflowId;
}

export interface EventWait {
  event_type: string;
  correlation_key: unknown;
  /** The wait (exec id) registering, so a late `unregister` of an earlier wait is told apart. */
  token: string;
}

export function createEventActivities(options: { retentionMs?: number } = {}) {
  return {
    /**
     * Registers the calling run with the mailbox of what it waits for (started when missing), which
     * then sends it every event it keeps and every later one; returns the mailbox's workflow id.
     */
    async registerEventWait(wait: EventWait): Promise<string> {
      const context = Context.current();
      const workflowId = context.info.workflowExecution?.workflowId ?? '';
      const tenant = tenantOfWorkflowId(workflowId);
      const start = mailboxStart(
        tenant,
        wait.event_type,
        wait.correlation_key,
        context.info.taskQueue,
        options.retentionMs,
      );
      await context.client.workflow.signalWithStart(MAILBOX_WORKFLOW_TYPE, {
        ...start,
        signal: 'register',
        signalArgs: [{ workflow_id: workflowId, token: wait.token }],
      });
      return start.workflowId;
    },
  };
}

export type EventActivities = ReturnType<typeof createEventActivities>;
