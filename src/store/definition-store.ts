/**
 * The definition registry: immutable versions per definition id, content-identical resubmits
 * deduplicated, and an active version (the latest unless set otherwise). Implementations keep
 * every accepted version durably before answering.
 */
import { createHash } from 'node:crypto';
import type { Definition, VersionedDefinition } from '../../interpreter/definition-schema.js';
import { canonicalJson } from '../shared/canonical-json.js';
import type { AccessStore } from './access-store.js';
import type { ConnectionStore } from './connection-store.js';
import type { TemplateStore } from './template-store.js';

export interface SubmitResult {
  id: string;
  version: string;
  created: boolean;
}

export interface SubmitOptions {
  /**
   * Four-eyes publishing: the new version does not become active; what was active stays so
   * (a first version leaves the definition with none active).
   */
  keepActive?: boolean;
}

export interface DefinitionSummary {
  id: string;
  latest_version: string;
  /** null while no version is active (with four-eyes publishing, until one is approved). */
  active_version: string | null;
  name?: string;
}

export interface VersionInfo {
  version: string;
  created_at: string;
  created_by: string;
}

/** One mutation made through the gateway, as `GET /v1/audit` shows it. */
export interface AuditEntry {
  /** ISO time the request finished. */
  at: string;
  actor: string;
  /** The tenant the request acted in. */
  tenant: string;
  /** What was attempted: `definition.submit`, `run.start`, `run.cancel`, `event.deliver`, … */
  action: string;
  /** The definition id or run id acted on ('' when there is none, as for events). */
  target: string;
  request_id: string;
  /** The HTTP status answered. */
  status: number;
  /** The error code when the request was refused. */
  error_code?: string;
}

/** The `audit` table's columns, in the order of `auditValues`. */
export const AUDIT_COLUMNS = 'at, actor, tenant, action, target, request_id, status, error_code';

/** An audit entry's column values in the `audit` table's order (the SQLite and PostgreSQL stores). */
export function auditValues(entry: AuditEntry): Array<string | number | null> {
  return [
    entry.at,
    entry.actor,
    entry.tenant,
    entry.action,
    entry.target,
    entry.request_id,
    entry.status,
    entry.error_code ?? null,
  ];
}

/** Filters of `listAudit`; every one optional. */
export interface AuditFilter {
  tenant?: string;
  actor?: string;
  action?: string;
  target?: string;
  /** ISO time: entries at or after it. */
  since?: string;
  /** At most this many entries (newest first). */
  limit: number;
}

/**
 * The `WHERE` clause of `listAudit` (empty without filters) and its values in order; `param`
 * spells the placeholder of the value at 1-based `index` in the store's dialect.
 */
export function auditWhere(
  filter: AuditFilter,
  param: (index: number, column: string) => string,
): { where: string; values: string[] } {
  const clauses: string[] = [];
  const values: string[] = [];
  for (const key of ['tenant', 'actor', 'action', 'target'] as const) {
    const value = filter[key];
    if (value !== undefined) {
      values.push(value);
      clauses.push(`${key} = ${param(values.length, key)}`);
    }
  }
  if (filter.since !== undefined) {
    values.push(filter.since);
    clauses.push(`at >= ${param(values.length, 'at')}`);
  }
  return { where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', values };
}

/** An audit row (with `at` as ISO text) as the stores' callers see it: no `error_code` key when there is none. */
export function auditEntryOf(row: Omit<AuditEntry, 'error_code'> & { error_code: string | null }): AuditEntry {
  const { error_code, ...rest } = row;
  return error_code === null ? rest : { ...rest, error_code };
}

/** A `definitions` row's versions as `list` answers them (an `active_version` of 0: none is active). */
export function definitionSummary(
  row: { id: string; latest_version: number; active_version: number | null },
  name: string | undefined,
): DefinitionSummary {
  return {
    id: row.id,
    latest_version: String(row.latest_version),
    active_version: row.active_version === 0 ? null : String(row.active_version ?? row.latest_version),
    ...(name === undefined ? {} : { name }),
  };
}

/** The `active_version` value `setActive` stores: 0 for none, undefined when `version` names no stored version. */
export function activeVersionValue(version: string | null): number | undefined {
  return version === null ? 0 : parseVersion(version);
}

export interface DefinitionStore {
  /** Stores a validated definition as the next version, unless it equals the latest. */
  submit(definition: Definition, actor: string, options?: SubmitOptions): Promise<SubmitResult>;
  /** A version, or the active one when `version` is omitted. */
  get(id: string, version?: string): Promise<VersionedDefinition | undefined>;
  list(): Promise<DefinitionSummary[]>;
  versions(id: string): Promise<VersionInfo[] | undefined>;
  /**
   * Returns false when the definition or version does not exist. `null` leaves the definition
   * with no active version (four-eyes publishing, before a first approval).
   */
  setActive(id: string, version: string | null): Promise<boolean>;
  /** Appends one entry to the audit log. */
  appendAudit(entry: AuditEntry): Promise<void>;
  /** Audit entries matching every given filter, newest first. */
  listAudit(filter: AuditFilter): Promise<AuditEntry[]>;
  /** API keys, tenants and definition change history. */
  readonly access: AccessStore;
  /** Each tenant's templates. */
  readonly templates: TemplateStore;
  /** Each tenant's named connections (secret settings sealed). */
  readonly connections: ConnectionStore;
  /** Throws when the store cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The store cannot be reached (database down, connection lost). The gateway answers it with
 * `503 unavailable`, like an unreachable Temporal server, never with a 500.
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}

/** The largest version number a store accepts: fits every backend's 32-bit integer column. */
export const MAX_VERSION = 2_147_483_647;

/**
 * Parses a version string ("1", "2", …) into its number, or undefined when it cannot name a
 * stored version (so stores answer "not found" instead of passing junk to their database).
 */
export function parseVersion(version: string): number | undefined {
  if (!/^[1-9][0-9]{0,9}$/.test(version)) return undefined;
  const n = Number(version);
  return n <= MAX_VERSION ? n : undefined;
}

/** The content hash of a definition, ignoring the registry-assigned `version`. */
export function contentHash(definition: Definition): string {
  const { version: _ignored, ...content } = definition;
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}
