/**
 * The PostgreSQL definition store (`DATABASE_URL=postgres://…`), for gateways that share one
 * registry. Same semantics as the SQLite store; every submit is one transaction that locks the
 * definition's row, so concurrent submits (from one gateway or several) never assign a
 * version twice.
 */
import pg from 'pg';
import {
  DEFINITION_ID_PATTERN,
  type Definition,
  type VersionedDefinition,
} from '../../interpreter/definition-schema.js';
import {
  activeVersionValue,
  AUDIT_COLUMNS,
  auditEntryOf,
  auditValues,
  auditWhere,
  contentHash,
  definitionSummary,
  type AuditEntry,
  type AuditFilter,
  parseVersion,
  type DefinitionStore,
  type DefinitionSummary,
  type SubmitOptions,
  type SubmitResult,
  type VersionInfo,
} from './definition-store.js';
import { TENANT_ID_PATTERN } from '../shared/tenants.js';
import type { AccessStore } from './access-store.js';
import { PostgresAccessStore } from './postgres-access.js';
import { migrate } from './postgres-migrations.js';
import { guarded } from './postgres-errors.js';
import { PostgresTemplateStore } from './postgres-templates.js';
import type { TemplateStore } from './template-store.js';
import type { ConnectionStore } from './connection-store.js';
import { PostgresConnectionStore } from './postgres-connections.js';

/** Ids that cannot exist are answered "not found" before reaching the database. */
const validId = (id: string) => {
  // A tenant's definitions are stored under `<tenant>/<id>` (see tenant-store.ts).
  const slash = id.indexOf('/');
  return (
    DEFINITION_ID_PATTERN.test(slash < 0 ? id : id.slice(slash + 1)) &&
    TENANT_ID_PATTERN.test(slash < 0 ? 'x' : id.slice(0, slash))
  );
};

interface DefinitionRow {
  id: string;
  name_json: string | null;
  latest_version: number;
  active_version: number | null;
}

export class PostgresDefinitionStore implements DefinitionStore {
  readonly access: AccessStore;
  readonly templates: TemplateStore;
  readonly connections: ConnectionStore;

  private constructor(private readonly pool: pg.Pool) {
    this.access = new PostgresAccessStore(pool);
    this.templates = new PostgresTemplateStore(pool, guarded);
    this.connections = new PostgresConnectionStore(pool, guarded);
  }

  /** Connects and applies pending migrations; throws when the database cannot be reached. */
  static async open(connectionString: string): Promise<PostgresDefinitionStore> {
    const pool = new pg.Pool({ connectionString, max: 10, connectionTimeoutMillis: 5_000 });
    // An idle connection that dies emits here; without a listener the process would crash.
    // The next query then fails (and answers 503) or gets a fresh connection.
    pool.on('error', () => undefined);
    try {
      await migrate(pool);
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PostgresDefinitionStore(pool);
  }

  submit(definition: Definition, actor: string, options: SubmitOptions = {}): Promise<SubmitResult> {
    const hash = contentHash(definition);
    return guarded(async () => {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        // Creating the row first gives concurrent first submits of an id one row to queue on.
        await client.query('INSERT INTO definitions (id, latest_version) VALUES ($1, 0) ON CONFLICT (id) DO NOTHING', [
          definition.id,
        ]);
        const locked = await client.query<{ latest_version: number }>(
          'SELECT latest_version FROM definitions WHERE id = $1 FOR UPDATE',
          [definition.id],
        );
        const latest = locked.rows[0]?.latest_version ?? 0;
        // A separate statement: under READ COMMITTED it sees a version committed while we waited.
        const current = await client.query<{ content_hash: string }>(
          'SELECT content_hash FROM definition_versions WHERE id = $1 AND version = $2',
          [definition.id, latest],
        );
        if (current.rows[0]?.content_hash === hash) {
          await client.query('COMMIT');
          return { id: definition.id, version: String(latest), created: false };
        }
        const version = latest + 1;
        await client.query(
          `INSERT INTO definition_versions (id, version, body, content_hash, created_by)
           VALUES ($1, $2, $3, $4, $5)`,
          [definition.id, version, JSON.stringify({ ...definition, version: String(version) }), hash, actor],
        );
        await client.query('UPDATE definitions SET latest_version = $2, name_json = $3 WHERE id = $1', [
          definition.id,
          version,
          definition.name === undefined ? null : JSON.stringify(definition.name),
        ]);
        if (options.keepActive) {
          // Pin what was active (0: nothing yet), so the new version waits to be activated.
          await client.query('UPDATE definitions SET active_version = COALESCE(active_version, $2) WHERE id = $1', [
            definition.id,
            latest,
          ]);
        }
        await client.query('COMMIT');
        return { id: definition.id, version: String(version), created: true };
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    });
  }

  get(id: string, version?: string): Promise<VersionedDefinition | undefined> {
    const wanted = version === undefined ? null : parseVersion(version);
    if (!validId(id) || wanted === undefined) return Promise.resolve(undefined);
    return guarded(async () => {
      const { rows } = await this.pool.query<{ body: string }>(
        `SELECT v.body
           FROM definitions d
           JOIN definition_versions v
             ON v.id = d.id AND v.version = COALESCE($2::integer, d.active_version, d.latest_version)
             -- version 0 never exists: an active_version of 0 means none is active
          WHERE d.id = $1`,
        [id, wanted],
      );
      const body = rows[0]?.body;
      return body === undefined ? undefined : (JSON.parse(body) as VersionedDefinition);
    });
  }

  list(): Promise<DefinitionSummary[]> {
    return guarded(async () => {
      const { rows } = await this.pool.query<DefinitionRow>(
        'SELECT id, name_json, latest_version, active_version FROM definitions WHERE latest_version > 0 ORDER BY id',
      );
      return rows.map((row) =>
        definitionSummary(row, row.name_json === null ? undefined : (JSON.parse(row.name_json) as string)),
      );
    });
  }

  versions(id: string): Promise<VersionInfo[] | undefined> {
    if (!validId(id)) return Promise.resolve(undefined);
    return guarded(async () => {
      const { rows } = await this.pool.query<{ version: number; created_at: Date; created_by: string }>(
        'SELECT version, created_at, created_by FROM definition_versions WHERE id = $1 ORDER BY version',
        [id],
      );
      if (rows.length === 0) return undefined;
      return rows.map((r) => ({
        version: String(r.version),
        created_at: r.created_at.toISOString(),
        created_by: r.created_by,
      }));
    });
  }

  setActive(id: string, version: string | null): Promise<boolean> {
    const wanted = activeVersionValue(version);
    if (!validId(id) || wanted === undefined) return Promise.resolve(false);
    return guarded(async () => {
      const result = await this.pool.query(
        `UPDATE definitions SET active_version = $2
          WHERE id = $1 AND ($2 = 0 OR EXISTS (SELECT 1 FROM definition_versions WHERE id = $1 AND version = $2))`,
        [id, wanted],
      );
      return result.rowCount === 1;
    });
  }

  appendAudit(entry: AuditEntry): Promise<void> {
    return guarded(async () => {
      await this.pool.query(
        `INSERT INTO audit (${AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        auditValues(entry),
      );
    });
  }

  listAudit(filter: AuditFilter): Promise<AuditEntry[]> {
    const { where, values } = auditWhere(filter, (index, column) =>
      column === 'at' ? `$${index}::timestamptz` : `$${index}`,
    );
    return guarded(async () => {
      const { rows } = await this.pool.query<Omit<Parameters<typeof auditEntryOf>[0], 'at'> & { at: Date }>(
        `SELECT ${AUDIT_COLUMNS} FROM audit ${where} ORDER BY seq DESC LIMIT $${values.length + 1}`,
        [...values, filter.limit],
      );
      return rows.map((row) => auditEntryOf({ ...row, at: row.at.toISOString() }));
    });
  }

  ping(): Promise<void> {
    return guarded(async () => {
      await this.pool.query('SELECT 1');
    });
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }
}
