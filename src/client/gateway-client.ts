/**
 * A small HTTP client of the gateway (`../shared/spec/http-api.md`): one method per endpoint
 * the CLI uses. Every answer keeps the gateway's raw text next to its parsed body, so `--json`
 * can print the answer exactly as it came. Errors become {@link GatewayError}s: the gateway's
 * own `{ error: { code, message, details } }`, or status 0 when it could not be reached. With an
 * API key, every request carries it as `Authorization: Bearer <key>`.
 */
import type { VersionedDefinition } from '../../interpreter/definition-schema.js';
import type { TestRunResult } from '../../interpreter/definition-test.js';
import type { RunLineage } from '../../interpreter/lineage.js';
import type { RunStateView } from '../../interpreter/run-state.js';
import type { DefinitionDiff } from '../gateway/definition-diff.js';
import type { WhatIfReport } from '../gateway/what-if.js';
import type { EventDelivery } from '../gateway/run-control.js';
import type { RunPage } from '../gateway/run-listing.js';
import type { RunResult, StartedRun } from '../gateway/run-service.js';
import type { ApiKeyRecord, DefinitionEvent, TenantRecord } from '../store/access-store.js';
import type { SubmitResult } from '../store/definition-store.js';
import type { Template, TemplateParameter } from '../templates/template-schema.js';
import { GatewayError, type ErrorDetail } from './errors.js';

/** An answer of the gateway: the parsed body and the text it was parsed from. */
export interface Answer<T> {
  status: number;
  body: T;
  text: string;
}

export type RunState = RunStateView & { pause_reason?: string; retried_by?: string[] };
export type ControlAction = 'pause' | 'resume' | 'cancel' | 'retry' | 'skip';
export interface Accepted {
  accepted: true;
  /** Set when retrying a closed failed run started a new run. */
  run_id?: string;
}
export interface StartRunBody {
  input?: Record<string, unknown>;
  version?: string;
  run_id?: string;
}
export interface ListRunsQuery {
  definition_id?: string;
  version?: string;
  status?: string;
  started_after?: string;
  started_before?: string;
  page_size?: number;
  page_token?: string;
}
export interface EventBody {
  event_type: string;
  correlation_key?: string;
  payload: unknown;
  event_id?: string;
}

/** `GET /v1/whoami`: who the gateway takes the caller for. */
export interface WhoAmI {
  actor: string;
  tenant: string;
  roles: string[];
  permissions: string[];
  via: string;
  /** `required`, or `local-development` while no API key exists. */
  authentication: string;
}
/** An API key as listings show it: never its secret or hash. */
export type ApiKeyInfo = Omit<ApiKeyRecord, 'hash'>;
/** `POST /v1/keys`: the new key, whose secret `key` is shown this once. */
export type CreatedKey = ApiKeyInfo & { key: string };
export interface CreateKeyBody {
  name: string;
  /** Role names as typed; the gateway checks them. */
  roles: string[];
  tenant?: string;
}
/** A named connection as the gateway answers it: every secret value as "***". */
export interface ConnectionInfo {
  name: string;
  connector: string;
  settings: Record<string, unknown>;
  secret_settings: Record<string, unknown>;
  version: number;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
}

/** `POST /v1/connections/{name}/test`. */
export interface ConnectionTest {
  name: string;
  connector: string;
  version: number;
  ok: boolean;
  status?: number;
  error?: { type: string; message: string };
}

/** `GET /v1/tenants/{tenant}` (the default tenant may have no record: then only id and four_eyes). */
export type TenantInfo = Pick<TenantRecord, 'id' | 'four_eyes'> & Partial<TenantRecord>;
export interface TenantSettings {
  namespace?: string;
  task_queue?: string;
  four_eyes?: boolean;
}
/** One entry of a definition's change history; a submit of version 2 or later carries its diff. */
export type HistoryEvent = DefinitionEvent & { diff?: DefinitionDiff };
export interface PublishVerdict {
  id: string;
  version: string;
  approved: boolean;
  active_version: string | null;
}

/** A template as `GET /v1/templates/{id}` answers it. */
export type TemplateInfo = Template & { builtin: boolean; created_at?: string; created_by?: string };
/** An entry of `GET /v1/templates`. */
export type TemplateSummary = Omit<TemplateInfo, 'definition'> & { parameters: TemplateParameter[] };
export interface InstantiateRequest {
  id: string;
  parameters?: Record<string, unknown>;
  submit?: boolean;
}

/** How long a request may take before the gateway counts as unreachable. */
const REQUEST_TIMEOUT_MS = 30_000;
/** `GET …/result?wait=true` holds the request up to 60 s on the gateway's side. */
const WAIT_TIMEOUT_MS = 75_000;

const path = (...segments: string[]) => segments.map(encodeURIComponent).join('/');

export class GatewayClient {
  constructor(
    /** The gateway's base URL, without a trailing slash. */
    readonly baseUrl: string,
    /** Sent as `Authorization: Bearer <key>` when set (`--api-key`, `WEFT_API_KEY`). */
    private readonly apiKey?: string,
  ) {}

  validate(definition: unknown) {
    return this.request<{ valid: true; warnings?: ErrorDetail[] }>('POST', '/v1/definitions/validate', {
      body: definition,
    });
  }

  /** `POST /v1/definitions/test`: a definition test run with mocked outputs. */
  testDefinition(body: Record<string, unknown>) {
    return this.request<TestRunResult>('POST', '/v1/definitions/test', { body });
  }

  /** `GET /v1/definitions/{id}/versions/{version}`: a stored version (secret defaults left out). */
  definitionVersion(id: string, version: string) {
    return this.request<VersionedDefinition>('GET', `/v1/definitions/${path(id)}/versions/${path(version)}`);
  }

  submit(definition: unknown) {
    // `approval: 'pending'`: the tenant publishes four-eyes, so the new version is not active yet.
    return this.request<SubmitResult & { approval?: 'pending'; warnings?: ErrorDetail[] }>('POST', '/v1/definitions', {
      body: definition,
    });
  }

  activate(id: string, version: string) {
    return this.request<{ id: string; active_version: string }>('PUT', `/v1/definitions/${path(id)}/active`, {
      body: { version },
    });
  }

  startRun(definitionId: string, body: StartRunBody) {
    return this.request<StartedRun>('POST', `/v1/definitions/${path(definitionId)}/runs`, { body });
  }

  state(runId: string) {
    return this.request<RunState>('GET', `/v1/runs/${path(runId)}`);
  }

  /** The run's outcome; with `wait`, the gateway holds the request up to 60 s for it to close. */
  result(runId: string, wait: boolean) {
    return this.request<RunResult>('GET', `/v1/runs/${path(runId)}/result`, {
      query: { wait: String(wait) },
      timeoutMs: wait ? WAIT_TIMEOUT_MS : REQUEST_TIMEOUT_MS,
    });
  }

  listRuns(query: ListRunsQuery) {
    const entries = Object.entries(query).filter(([, v]) => v !== undefined) as Array<[string, string | number]>;
    return this.request<RunPage>('GET', '/v1/runs', {
      query: Object.fromEntries(entries.map(([k, v]) => [k, String(v)])),
    });
  }

  control(runId: string, action: ControlAction, body: Record<string, unknown>) {
    return this.request<Accepted>('POST', `/v1/runs/${path(runId, action)}`, { body });
  }

  setVariables(runId: string, variables: Record<string, unknown>) {
    return this.request<{ variables: Record<string, unknown> }>('PATCH', `/v1/runs/${path(runId)}/variables`, {
      body: { variables },
    });
  }

  approve(runId: string, node: string, body: { approved: boolean; comment?: string }) {
    return this.request<Accepted>('POST', `/v1/runs/${path(runId)}/approvals/${path(node)}`, { body });
  }

  emit(event: EventBody) {
    return this.request<EventDelivery>('POST', '/v1/events', { body: event });
  }

  lineage(runId: string) {
    return this.request<RunLineage>('GET', `/v1/runs/${path(runId)}/lineage`);
  }

  history(definitionId: string) {
    return this.request<{ items: HistoryEvent[] }>('GET', `/v1/definitions/${path(definitionId)}/history`);
  }

  /** A publish approval (or rejection) of a definition version (four-eyes publishing). */
  approveVersion(definitionId: string, version: string, body: { approved: boolean; comment?: string }) {
    return this.request<PublishVerdict>(
      'POST',
      `/v1/definitions/${path(definitionId)}/versions/${path(version)}/approvals`,
      { body },
    );
  }

  listTemplates() {
    return this.request<{ items: TemplateSummary[] }>('GET', '/v1/templates');
  }

  template(id: string) {
    return this.request<TemplateInfo>('GET', `/v1/templates/${path(id)}`);
  }

  listConnections() {
    return this.request<{ items: ConnectionInfo[] }>('GET', '/v1/connections');
  }

  connection(name: string) {
    return this.request<ConnectionInfo>('GET', `/v1/connections/${path(name)}`);
  }

  createConnection(body: Record<string, unknown>) {
    return this.request<ConnectionInfo>('POST', '/v1/connections', { body });
  }

  replaceConnection(name: string, body: Record<string, unknown>) {
    return this.request<ConnectionInfo>('PUT', `/v1/connections/${path(name)}`, { body });
  }

  testConnection(name: string) {
    return this.request<ConnectionTest>('POST', `/v1/connections/${path(name)}/test`, { body: {} });
  }

  /** Answers 204 without a body. */
  deleteConnection(name: string) {
    return this.request<undefined>('DELETE', `/v1/connections/${path(name)}`);
  }

  createTemplate(template: unknown) {
    return this.request<{ id: string; created: boolean }>('POST', '/v1/templates', { body: template });
  }

  /** Answers 204 without a body. */
  deleteTemplate(id: string) {
    return this.request<undefined>('DELETE', `/v1/templates/${path(id)}`);
  }

  /** The validated definition (200), or with `submit` the stored version (201, or 200 when identical). */
  instantiate(templateId: string, body: InstantiateRequest) {
    return this.request<Record<string, unknown> | (SubmitResult & { approval?: 'pending' })>(
      'POST',
      `/v1/templates/${path(templateId)}/instantiate`,
      { body },
    );
  }

  whoami() {
    return this.request<WhoAmI>('GET', '/v1/whoami');
  }

  createKey(body: CreateKeyBody) {
    return this.request<CreatedKey>('POST', '/v1/keys', { body });
  }

  listKeys() {
    return this.request<{ items: ApiKeyInfo[] }>('GET', '/v1/keys');
  }

  revokeKey(keyId: string) {
    return this.request<{ id: string; revoked: true }>('DELETE', `/v1/keys/${path(keyId)}`);
  }

  listTenants() {
    return this.request<{ items: TenantInfo[] }>('GET', '/v1/tenants');
  }

  tenant(id: string) {
    return this.request<TenantInfo>('GET', `/v1/tenants/${path(id)}`);
  }

  whatIf(definitionId: string, body: { version: string; source_version?: string; runs?: string[]; limit?: number }) {
    return this.request<WhatIfReport>('POST', `/v1/definitions/${path(definitionId)}/what-if`, {
      body,
      timeoutMs: 120_000,
    });
  }

  putTenant(id: string, settings: TenantSettings) {
    return this.request<TenantInfo>('PUT', `/v1/tenants/${path(id)}`, { body: settings });
  }

  /**
   * One request. The gateway's answers follow its OpenAPI document, so a 2xx body is taken as
   * the documented type; the CLI's renderers still read it defensively.
   */
  async request<T>(
    method: string,
    route: string,
    options: { body?: unknown; query?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<Answer<T>> {
    const url = new URL(`${this.baseUrl}${route}`);
    for (const [key, value] of Object.entries(options.query ?? {})) url.searchParams.set(key, value);
    const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method,
        headers: {
          accept: 'application/json',
          ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(this.apiKey === undefined ? {} : { authorization: `Bearer ${this.apiKey}` }),
        },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (err) {
      throw this.unreachable(err, timeoutMs);
    }
    const body = parseJson(text);
    if (response.ok) {
      if (response.status === 204) return { status: 204, body: undefined as T, text: '' };
      if (body === undefined) {
        throw new GatewayError(response.status, 'bad_answer', `the gateway at ${this.baseUrl} did not answer JSON`);
      }
      return { status: response.status, body: body as T, text };
    }
    throw errorOf(response.status, body, text);
  }

  private unreachable(err: unknown, timeoutMs: number): GatewayError {
    const name = err instanceof Error ? err.name : '';
    if (name === 'TimeoutError' || name === 'AbortError') {
      return new GatewayError(
        0,
        'timeout',
        `the gateway at ${this.baseUrl} did not answer within ${timeoutMs / 1000} s`,
      );
    }
    // fetch reports "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, …) is in its cause.
    const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
    const reason = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
    return new GatewayError(0, 'unreachable', `cannot reach the gateway at ${this.baseUrl}: ${reason}`);
  }
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}

/** The gateway's error answer, or a stand-in for an answer that is not in its shape (a proxy's page). */
function errorOf(status: number, body: unknown, text: string): GatewayError {
  const error = (body as { error?: unknown } | undefined)?.error;
  if (error && typeof error === 'object') {
    const { code, message, details } = error as { code?: unknown; message?: unknown; details?: unknown };
    return new GatewayError(
      status,
      typeof code === 'string' ? code : `http_${status}`,
      typeof message === 'string' ? message : `HTTP ${status}`,
      Array.isArray(details) ? details.filter(isDetail) : [],
      body,
    );
  }
  const excerpt = text.trim().slice(0, 200);
  return new GatewayError(status, `http_${status}`, `HTTP ${status}${excerpt ? `: ${excerpt}` : ''}`, [], body);
}

function isDetail(value: unknown): value is ErrorDetail {
  if (!value || typeof value !== 'object') return false;
  const { path: at, message } = value as { path?: unknown; message?: unknown };
  return typeof at === 'string' && typeof message === 'string';
}
