/** The access store (keys, tenants, change history) in the SQLite definition store's file. */
import type Database from 'better-sqlite3';
import type { Role } from '../auth/roles.js';
import type { QuotaOverrides } from '../../interpreter/quotas.js';
import type { AccessStore, ApiKeyRecord, DefinitionEvent, TenantRecord } from './access-store.js';

export const ACCESS_MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS api_keys (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     tenant TEXT NOT NULL,
     roles TEXT NOT NULL,
     hash TEXT NOT NULL,
     created_at TEXT NOT NULL,
     created_by TEXT NOT NULL,
     revoked_at TEXT
   )`,
  `CREATE TABLE IF NOT EXISTS tenants (
     id TEXT PRIMARY KEY,
     namespace TEXT,
     task_queue TEXT,
     four_eyes INTEGER NOT NULL,
     created_at TEXT NOT NULL,
     created_by TEXT NOT NULL
   )`,
  `CREATE TABLE IF NOT EXISTS definition_events (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     definition TEXT NOT NULL,
     at TEXT NOT NULL,
     actor TEXT NOT NULL,
     action TEXT NOT NULL,
     version TEXT NOT NULL,
     comment TEXT
   )`,
  'CREATE INDEX IF NOT EXISTS definition_events_definition ON definition_events (definition, seq)',
];

interface KeyRow {
  id: string;
  name: string;
  tenant: string;
  roles: string;
  hash: string;
  created_at: string;
  created_by: string;
  revoked_at: string | null;
}

interface TenantRow {
  id: string;
  namespace: string | null;
  task_queue: string | null;
  four_eyes: number;
  quotas?: string | null;
  created_at: string;
  created_by: string;
}

interface EventRow {
  at: string;
  actor: string;
  action: DefinitionEvent['action'];
  version: string;
  comment: string | null;
}

function keyRecord(row: KeyRow): ApiKeyRecord {
  const { roles, revoked_at, ...rest } = row;
  return { ...rest, roles: JSON.parse(roles) as Role[], ...(revoked_at === null ? {} : { revoked_at }) };
}

function tenantRecord(row: TenantRow): TenantRecord {
  return {
    id: row.id,
    ...(row.namespace === null ? {} : { namespace: row.namespace }),
    ...(row.task_queue === null ? {} : { task_queue: row.task_queue }),
    four_eyes: row.four_eyes === 1,
    ...(row.quotas ? { quotas: JSON.parse(row.quotas) as QuotaOverrides } : {}),
    created_at: row.created_at,
    created_by: row.created_by,
  };
}

/** Adds the `quotas` column (JSON text) to a tenants table made before quotas existed. */
function migrateTenantQuotas(db: Database.Database): void {
  const columns = db.prepare('PRAGMA table_info(tenants)').all() as Array<{ name: string }>;
  if (!columns.some((c) => c.name === 'quotas')) db.exec('ALTER TABLE tenants ADD COLUMN quotas TEXT');
}

/** Adds the `tenant` column to an audit table made before tenants existed. */
export function migrateAuditTenant(db: Database.Database): void {
  const columns = db.prepare('PRAGMA table_info(audit)').all() as Array<{ name: string }>;
  if (!columns.some((c) => c.name === 'tenant')) {
    db.exec(`ALTER TABLE audit ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default'`);
  }
}

export class SqliteAccessStore implements AccessStore {
  constructor(private readonly db: Database.Database) {
    for (const statement of ACCESS_MIGRATIONS) db.exec(statement);
    migrateTenantQuotas(db);
  }

  createApiKey(record: ApiKeyRecord): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO api_keys (id, name, tenant, roles, hash, created_at, created_by, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)',
      )
      .run(
        record.id,
        record.name,
        record.tenant,
        JSON.stringify(record.roles),
        record.hash,
        record.created_at,
        record.created_by,
      );
    return Promise.resolve();
  }

  getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM api_keys WHERE id = ?').get(id) as KeyRow | undefined;
    return Promise.resolve(row ? keyRecord(row) : undefined);
  }

  listApiKeys(tenant?: string): Promise<ApiKeyRecord[]> {
    const rows = (
      tenant === undefined
        ? this.db.prepare('SELECT * FROM api_keys ORDER BY created_at, id').all()
        : this.db.prepare('SELECT * FROM api_keys WHERE tenant = ? ORDER BY created_at, id').all(tenant)
    ) as KeyRow[];
    return Promise.resolve(rows.map(keyRecord));
  }

  revokeApiKey(id: string, at: string): Promise<boolean> {
    const result = this.db
      .prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
      .run(at, id);
    return Promise.resolve(result.changes > 0);
  }

  anyApiKeys(): Promise<boolean> {
    return Promise.resolve(this.db.prepare('SELECT 1 FROM api_keys LIMIT 1').get() !== undefined);
  }

  putTenant(record: TenantRecord): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO tenants (id, namespace, task_queue, four_eyes, quotas, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET namespace = excluded.namespace, task_queue = excluded.task_queue,
           four_eyes = excluded.four_eyes, quotas = excluded.quotas`,
      )
      .run(
        record.id,
        record.namespace ?? null,
        record.task_queue ?? null,
        record.four_eyes ? 1 : 0,
        record.quotas ? JSON.stringify(record.quotas) : null,
        record.created_at,
        record.created_by,
      );
    return Promise.resolve();
  }

  getTenant(id: string): Promise<TenantRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM tenants WHERE id = ?').get(id) as TenantRow | undefined;
    return Promise.resolve(row ? tenantRecord(row) : undefined);
  }

  listTenants(): Promise<TenantRecord[]> {
    const rows = this.db.prepare('SELECT * FROM tenants ORDER BY id').all() as TenantRow[];
    return Promise.resolve(rows.map(tenantRecord));
  }

  appendDefinitionEvent(key: string, event: DefinitionEvent): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO definition_events (definition, at, actor, action, version, comment) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(key, event.at, event.actor, event.action, event.version, event.comment ?? null);
    return Promise.resolve();
  }

  definitionEvents(key: string): Promise<DefinitionEvent[]> {
    const rows = this.db
      .prepare('SELECT at, actor, action, version, comment FROM definition_events WHERE definition = ? ORDER BY seq')
      .all(key) as EventRow[];
    return Promise.resolve(rows.map(({ comment, ...rest }) => (comment === null ? rest : { ...rest, comment })));
  }
}
