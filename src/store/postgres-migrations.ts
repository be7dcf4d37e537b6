/**
 * Schema migrations of the PostgreSQL definition store. They run when a store opens, in one
 * transaction under an advisory lock, so gateways that start together apply each migration
 * exactly once and a failed migration leaves nothing half-applied (PostgreSQL DDL is
 * transactional). Applied migrations are recorded in `schema_migrations`.
 */
import type { Pool } from 'pg';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Append-only: never edit a migration that has shipped; add the next one. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'definitions and their versions',
    sql: `
      CREATE TABLE definitions (
        id TEXT PRIMARY KEY,
        -- JSON-encoded: a JSON string may hold U+0000, which PostgreSQL text cannot.
        name_json TEXT,
        latest_version INTEGER NOT NULL,
        active_version INTEGER
      );
      CREATE TABLE definition_versions (
        id TEXT NOT NULL REFERENCES definitions (id),
        version INTEGER NOT NULL,
        -- text, not jsonb: jsonb rejects "\\u0000" escapes and reorders keys.
        body TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        created_by TEXT NOT NULL,
        PRIMARY KEY (id, version)
      );`,
  },
  {
    version: 2,
    name: 'audit log of gateway mutations',
    sql: `
      CREATE TABLE audit (
        seq BIGSERIAL PRIMARY KEY,
        at TIMESTAMPTZ NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        request_id TEXT NOT NULL,
        status INTEGER NOT NULL,
        error_code TEXT
      );
      CREATE INDEX audit_at ON audit (at);`,
  },
  {
    version: 3,
    name: 'api keys, tenants, definition change history, audit tenant',
    sql: `
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        tenant TEXT NOT NULL,
        roles TEXT NOT NULL,
        hash TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        created_by TEXT NOT NULL,
        revoked_at TIMESTAMPTZ
      );
      CREATE TABLE tenants (
        id TEXT PRIMARY KEY,
        namespace TEXT,
        task_queue TEXT,
        four_eyes BOOLEAN NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        created_by TEXT NOT NULL
      );
      CREATE TABLE definition_events (
        seq BIGSERIAL PRIMARY KEY,
        definition TEXT NOT NULL,
        at TIMESTAMPTZ NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        version TEXT NOT NULL,
        comment TEXT
      );
      CREATE INDEX definition_events_definition ON definition_events (definition, seq);
      ALTER TABLE audit ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';`,
  },
  {
    version: 4,
    name: 'tenant quotas',
    // JSON text of the tenant's own quotas; NULL: the gateway's defaults.
    sql: `ALTER TABLE tenants ADD COLUMN quotas TEXT;`,
  },
  {
    version: 5,
    name: 'templates per tenant',
    sql: `
      CREATE TABLE templates (
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        -- canonical JSON text of the template (text, not jsonb: see definition_versions.body)
        body TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        created_by TEXT NOT NULL,
        PRIMARY KEY (tenant, id)
      );`,
  },
  {
    version: 6,
    name: 'named connections per tenant',
    sql: `
      CREATE TABLE connections (
        tenant TEXT NOT NULL,
        name TEXT NOT NULL,
        connector TEXT NOT NULL,
        -- JSON text of the non-secret settings
        settings TEXT NOT NULL,
        -- the secret settings, AES-256-GCM under WEFT_CONNECTION_KEY (never in clear)
        sealed_secrets TEXT NOT NULL,
        -- JSON text of the names of the secret settings that are set
        secret_fields TEXT NOT NULL,
        version INTEGER NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        created_by TEXT NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        updated_by TEXT NOT NULL,
        PRIMARY KEY (tenant, name)
      );`,
  },
];

/** Any constant works; it only has to be the same in every gateway sharing a database. */
const MIGRATION_LOCK_KEY = 0x77656674; // "weft"

/**
 * Applies the migrations not yet recorded. Throws when the database was migrated by a newer
 * gateway (a version this code does not know), rather than running against a schema it does
 * not understand.
 */
export async function migrate(pool: Pool, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // Transaction-scoped: released by COMMIT or ROLLBACK, even if this process dies mid-way.
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
      )`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((r) => r.version));
    const known = new Set(migrations.map((m) => m.version));
    const unknown = [...applied].filter((v) => !known.has(v));
    if (unknown.length > 0) {
      throw new Error(
        `the database has schema migration(s) ${unknown.join(', ')} this gateway does not know; upgrade the gateway`,
      );
    }
    const done: number[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
      done.push(migration.version);
    }
    await client.query('COMMIT');
    return done;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
