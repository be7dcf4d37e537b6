/**
 * `GET /v1/runs`: runs listed through Temporal visibility, filtered by the `WeftDefinitionId` and
 * `WeftDefinitionVersion` search attributes, the execution status and `StartTime`, paged with Temporal's own page tokens. Visibility
 * is eventually consistent: a run started a moment ago may not be listed yet.
 */
import { createHash } from 'node:crypto';
import {
  Client,
  Connection,
  defaultGrpcRetryOptions,
  makeGrpcRetryInterceptor,
  type TLSConfig,
} from '@temporalio/client';
import { defaultPayloadConverter, type DataConverter, type Payload } from '@temporalio/common';
import proto from '@temporalio/proto';
import { z } from 'zod';
import { DEFINITION_ID_PATTERN } from '../../interpreter/definition-schema.js';
import { DefinitionIdKey, DefinitionVersionKey, StatusKey } from '../shared/search-attributes.js';
import type { TenantRuns } from '../temporal/tenant-runs.js';
import { HttpError, validationFailed } from '../shared/http-error.js';
import { mapTemporalError, WORKFLOW_TYPE } from './run-service.js';

const Status = proto.temporal.api.enums.v1.WorkflowExecutionStatus;

export const RUN_STATUSES = ['running', 'paused', 'completed', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Our statuses in Temporal's terms; a terminated or timed-out run failed, as its result says. */
const STATUS_QUERY: Record<RunStatus, string> = {
  running: "ExecutionStatus = 'Running'",
  // A paused run is running to Temporal; the workflow keeps WeftStatus current while it is paused.
  paused: "ExecutionStatus = 'Running' AND WeftStatus = 'paused'",
  completed: "ExecutionStatus = 'Completed'",
  failed: "ExecutionStatus IN ('Failed', 'Terminated', 'TimedOut')",
  cancelled: "ExecutionStatus = 'Canceled'",
};

const STATUS_OF_CODE = new Map<number, RunStatus>([
  [Status.WORKFLOW_EXECUTION_STATUS_RUNNING, 'running'],
  [Status.WORKFLOW_EXECUTION_STATUS_COMPLETED, 'completed'],
  [Status.WORKFLOW_EXECUTION_STATUS_FAILED, 'failed'],
  [Status.WORKFLOW_EXECUTION_STATUS_TERMINATED, 'failed'],
  [Status.WORKFLOW_EXECUTION_STATUS_TIMED_OUT, 'failed'],
  [Status.WORKFLOW_EXECUTION_STATUS_CANCELED, 'cancelled'],
]);

export const DEFAULT_PAGE_SIZE = 50;

const VERSION_MESSAGE = 'expected a version such as "3"';
const TIME_MESSAGE = 'expected an RFC 3339 date-time with a time zone, such as 2026-12-02T14:30:00Z';
/** An RFC 3339 date-time (`Z` or an offset), kept as the canonical UTC instant Temporal compares. */
const DateTime = z
  .string({ error: TIME_MESSAGE })
  .pipe(z.iso.datetime({ offset: true, error: TIME_MESSAGE }))
  .transform((value) => new Date(value).toISOString());

/** The query string of `GET /v1/runs`. */
const ListRunsFields = z.strictObject({
  definition_id: z
    .string()
    .regex(DEFINITION_ID_PATTERN, 'expected a definition id matching ^[a-z0-9][a-z0-9._-]{0,63}$')
    .optional(),
  status: z.enum(RUN_STATUSES, { error: `expected one of ${RUN_STATUSES.join(', ')}` }).optional(),
  page_token: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,8192}$/, 'expected the next_page_token of a previous page')
    .optional(),
  page_size: z
    .string()
    .regex(/^[0-9]{1,4}$/, 'expected a whole number from 1 to 1000')
    .transform(Number)
    .pipe(
      z.number().min(1, 'expected a whole number from 1 to 1000').max(1000, 'expected a whole number from 1 to 1000'),
    )
    .optional(),
  version: z
    .string({ error: VERSION_MESSAGE })
    .regex(/^[1-9][0-9]{0,9}$/, VERSION_MESSAGE)
    .optional(),
  started_after: DateTime.optional(),
  started_before: DateTime.optional(),
});
export const ListRunsQuery = ListRunsFields.superRefine((query, ctx) => {
  if (query.version !== undefined && query.definition_id === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['version'],
      message: 'a version filter needs definition_id: versions are numbered per definition',
    });
  }
  if (
    query.started_after !== undefined &&
    query.started_before !== undefined &&
    query.started_after > query.started_before
  ) {
    ctx.addIssue({
      code: 'custom',
      path: ['started_after'],
      message: `expected a time no later than started_before (${query.started_before})`,
    });
  }
});
export type ListRunsQuery = z.output<typeof ListRunsQuery>;

export interface RunListItem {
  run_id: string;
  instance_id: string;
  definition_id: string;
  definition_version: string;
  status: RunStatus;
  started_at: string;
  closed_at?: string;
}

export interface RunPage {
  items: RunListItem[];
  next_page_token?: string;
}

/**
 * A string literal of a visibility query. The values are pattern-checked before they get here
 * (ids, version numbers, canonical ISO instants); this refuses anything that could still end
 * its quotes, so no filter value can ever become part of the query's syntax.
 */
export function literal(value: string): string {
  if (!/^[A-Za-z0-9._:+-]*$/.test(value))
    throw new Error(`not a safe visibility query literal: ${JSON.stringify(value)}`);
  return `'${value}'`;
}

/** The visibility query: every filter is a clause of it, so Temporal pages over the filtered runs. */
export function visibilityQuery(
  filter: Pick<ListRunsQuery, 'definition_id' | 'status' | 'version' | 'started_after' | 'started_before'>,
): string {
  const clauses = [`WorkflowType = ${literal(WORKFLOW_TYPE)}`];
  if (filter.definition_id !== undefined) clauses.push(`${DefinitionIdKey.name} = ${literal(filter.definition_id)}`);
  if (filter.version !== undefined) clauses.push(`${DefinitionVersionKey.name} = ${literal(filter.version)}`);
  // A window [started_after, started_before): inclusive from, exclusive to.
  if (filter.started_after !== undefined) clauses.push(`StartTime >= ${literal(filter.started_after)}`);
  if (filter.started_before !== undefined) clauses.push(`StartTime < ${literal(filter.started_before)}`);
  // A continued-as-new execution is a closed link of a chain whose current run is listed.
  clauses.push(filter.status === undefined ? "ExecutionStatus != 'ContinuedAsNew'" : STATUS_QUERY[filter.status]);
  return clauses.join(' AND ');
}

// Page tokens carry a fingerprint of the query they belong to, so a token reused with other
// filters is refused clearly instead of confusing Temporal.
const FINGERPRINT_BYTES = 8;
const fingerprint = (query: string) => createHash('sha256').update(query).digest().subarray(0, FINGERPRINT_BYTES);

function encodeToken(query: string, token: Uint8Array): string {
  return Buffer.concat([fingerprint(query), token]).toString('base64url');
}

function decodeToken(query: string, pageToken: string): Buffer {
  const bytes = Buffer.from(pageToken, 'base64url');
  if (bytes.length <= FINGERPRINT_BYTES || !bytes.subarray(0, FINGERPRINT_BYTES).equals(fingerprint(query))) {
    throw validationFailed([
      {
        path: '/query/page_token',
        message: 'not a page token of this listing; pass the same filters as the first page',
      },
    ]);
  }
  return bytes.subarray(FINGERPRINT_BYTES);
}

function keyword(fields: Record<string, Payload> | null | undefined, name: string): string {
  const payload = fields?.[name];
  if (!payload) return '';
  const value = defaultPayloadConverter.fromPayload<unknown>(payload);
  // Keyword attributes may come back as one-element lists from older servers.
  return String(Array.isArray(value) ? value[0] : value);
}

function isoTime(ts: proto.google.protobuf.ITimestamp | null | undefined): string | undefined {
  if (!ts?.seconds) return undefined;
  return new Date(Number(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
}

function toItem(info: proto.temporal.api.workflow.v1.IWorkflowExecutionInfo, ids: TenantRuns): RunListItem {
  const fields = info.searchAttributes?.indexedFields;
  const closed = isoTime(info.closeTime);
  return {
    run_id: ids.runId(info.execution?.workflowId ?? ''),
    instance_id: info.firstRunId || (info.execution?.runId ?? ''),
    definition_id: keyword(fields, DefinitionIdKey.name),
    definition_version: keyword(fields, DefinitionVersionKey.name),
    status:
      info.status === Status.WORKFLOW_EXECUTION_STATUS_RUNNING && keyword(fields, StatusKey.name) === 'paused'
        ? 'paused'
        : (STATUS_OF_CODE.get(info.status ?? 0) ?? 'running'),
    started_at: isoTime(info.startTime) ?? '',
    ...(closed === undefined ? {} : { closed_at: closed }),
  };
}

/**
 * One page of runs. Calls the visibility RPC that `client.workflow.list` wraps, because the
 * SDK's iterator hides the page token a stateless HTTP listing has to hand out.
 */
export async function listRuns(
  client: Client,
  namespace: string,
  query: ListRunsQuery,
  ids: TenantRuns,
): Promise<RunPage> {
  const visibility = ids.scope(visibilityQuery(query));
  const nextPageToken = query.page_token === undefined ? undefined : decodeToken(visibility, query.page_token);
  let response: proto.temporal.api.workflowservice.v1.IListWorkflowExecutionsResponse;
  try {
    response = await client.workflowService.listWorkflowExecutions({
      namespace,
      query: visibility,
      pageSize: query.page_size ?? DEFAULT_PAGE_SIZE,
      ...(nextPageToken ? { nextPageToken } : {}),
    });
  } catch (err) {
    try {
      mapTemporalError(err);
    } catch (mapped) {
      if (mapped instanceof HttpError) throw mapped;
    }
    // A token Temporal cannot use (expired, or forged) is the caller's to fix, not a 500.
    if (nextPageToken !== undefined) {
      throw validationFailed([
        {
          path: '/query/page_token',
          message: 'the page token is invalid or has expired; start again from the first page',
        },
      ]);
    }
    throw new HttpError('unavailable', `Temporal could not list runs: ${(err as Error).message}`);
  }
  const items = (response.executions ?? []).map((info) => toItem(info, ids));
  const token = response.nextPageToken;
  return token && token.length > 0 ? { items, next_page_token: encodeToken(visibility, token) } : { items };
}

const GRPC_UNKNOWN = 2;

/**
 * The listing as the routes use it, on a connection of its own: Temporal answers a page token
 * it cannot read with UNKNOWN, which the SDK's default policy retries for ~20 s. Here UNKNOWN
 * is not retried, so a bad token gets its 400 at once.
 */
export class RunListing {
  private readonly connection: Connection;
  private readonly clients = new Map<string, Client>();

  constructor(
    address: string,
    /** The encrypting data converter when payloads are encrypted, so memos decode like the gateway's. */
    private readonly dataConverter?: DataConverter,
    /** TLS to the frontend (`TEMPORAL_TLS*`), as the gateway's own connection uses it; absent: plaintext. */
    tls?: TLSConfig,
  ) {
    const retry = defaultGrpcRetryOptions();
    this.connection = Connection.lazy({
      address,
      tls,
      interceptors: [
        makeGrpcRetryInterceptor({
          ...retry,
          retryableDecider: (attempt, status) =>
            Number(status.code) !== GRPC_UNKNOWN && retry.retryableDecider(attempt, status),
        }),
      ],
    });
  }

  /** The listing of one tenant's runs, in the namespace they live in. */
  forTenant(ids: TenantRuns, namespace: string): { list(query: ListRunsQuery): Promise<RunPage> } {
    let client = this.clients.get(namespace);
    if (!client) {
      const { dataConverter } = this;
      client = new Client({ connection: this.connection, namespace, ...(dataConverter ? { dataConverter } : {}) });
      this.clients.set(namespace, client);
    }
    const scoped = client;
    return { list: (query) => listRuns(scoped, namespace, query, ids) };
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}
