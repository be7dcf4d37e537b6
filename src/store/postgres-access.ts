/** The access store (keys, tenants, change history) in the PostgreSQL definition store's database. */
import type pg from 'pg';
import type { Role } from '../auth/roles.js';
import type { QuotaOverrides } from '../../interpreter/quotas.js';
import type { AccessStore, ApiKeyRecord, DefinitionEvent, TenantRecord } from './access-store.js';
import { guarded } from './postgres-errors.js';

interface KeyRow {
  id: string;
  name: string;
  tenant: string;
  roles: string;
  hash: string;
  created_at: Date;
  created_by: string;
  revoked_at: Date | null;
}

interface TenantRow {
  id: string;
  namespace: string | null;
  task_queue: string | null;
  four_eyes: boolean;
  quotas: string | null;
  created_at: Date;
  created_by: string;
}

function keyRecord(row: KeyRow): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    tenant: row.tenant,
    roles: JSON.parse(row.roles) as Role[],
    hash: row.hash,
    created_at: row.created_at.toISOString(),
    created_by: row.created_by,
    ...(row.revoked_at === null ? {} : { revoked_at: row.revoked_at.toISOString() }),
  };
}

function tenantRecord(row: TenantRow): TenantRecord {
  return {
    id: row.id,
    ...(row.namespace === null ? {} : { namespace: row.namespace }),
    ...(row.task_queue === null ? {} : { task_queue: row.task_queue }),
    four_eyes: row.four_eyes,
    ...(row.quotas ? { quotas: JSON.parse(row.quotas) as QuotaOverrides } : {}),
    created_at: row.created_at.toISOString(),
    created_by: row.created_by,
  };
}

export class PostgresAccessStore implements AccessStore {
  constructor(private readonly pool: pg.Pool) {}

  createApiKey(record: ApiKeyRecord): Promise<void> {
    return guarded(async () => {
      await this.pool.query(
        `INSERT INTO api_keys (id, name, tenant, roles, hash, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          record.id,
          record.name,
          record.tenant,
          JSON.stringify(record.roles),
          record.hash,
          record.created_at,
          record.created_by,
        ],
      );
    });
  }

  getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    return guarded(async () => {
      const { rows } = await this.pool.query<KeyRow>('SELECT * FROM api_keys WHERE id = $1', [id]);
      return rows[0] ? keyRecord(rows[0]) : undefined;
    });
  }

  listApiKeys(tenant?: string): Promise<ApiKeyRecord[]> {
    return guarded(async () => {
      const { rows } =
        tenant === undefined
          ? await this.pool.query<KeyRow>('SELECT * FROM api_keys ORDER BY created_at, id')
          : await this.pool.query<KeyRow>('SELECT * FROM api_keys WHERE tenant = $1 ORDER BY created_at, id', [tenant]);
      return rows.map(keyRecord);
    });
  }

  revokeApiKey(id: string, at: string): Promise<boolean> {
    return guarded(async () => {
      const result = await this.pool.query('UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL', [
        id,
        at,
      ]);
      return result.rowCount === 1;
    });
  }

  anyApiKeys(): Promise<boolean> {
    return guarded(async () => {
      const { rows } = await this.pool.query('SELECT 1 FROM api_keys LIMIT 1');
      return rows.length > 0;
    });
  }

  putTenant(record: TenantRecord): Promise<void> {
    return guarded(async () => {
      await this.pool.query(
        `INSERT INTO tenants (id, namespace, task_queue, four_eyes, quotas, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET namespace = EXCLUDED.namespace, task_queue = EXCLUDED.task_queue,
           four_eyes = EXCLUDED.four_eyes, quotas = EXCLUDED.quotas`,
        [
          record.id,
          record.namespace ?? null,
          record.task_queue ?? null,
          record.four_eyes,
          record.quotas ? JSON.stringify(record.quotas) : null,
          record.created_at,
          record.created_by,
        ],
      );
    });
  }

  getTenant(id: string): Promise<TenantRecord | undefined> {
    return guarded(async () => {
      const { rows } = await this.pool.query<TenantRow>('SELECT * FROM tenants WHERE id = $1', [id]);
      return rows[0] ? tenantRecord(rows[0]) : undefined;
    });
  }

  listTenants(): Promise<TenantRecord[]> {
    return guarded(async () => {
      const { rows } = await this.pool.query<TenantRow>('SELECT * FROM tenants ORDER BY id');
      return rows.map(tenantRecord);
    });
  }

  appendDefinitionEvent(key: string, event: DefinitionEvent): Promise<void> {
    return guarded(async () => {
      await this.pool.query(
        `INSERT INTO definition_events (definition, at, actor, action, version, comment)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [key, event.at, event.actor, event.action, event.version, event.comment ?? null],
      );
    });
  }

  definitionEvents(key: string): Promise<DefinitionEvent[]> {
    return guarded(async () => {
      const { rows } = await this.pool.query<{
        at: Date;
        actor: string;
        action: DefinitionEvent['action'];
        version: string;
        comment: string | null;
      }>('SELECT at, actor, action, version, comment FROM definition_events WHERE definition = $1 ORDER BY seq', [key]);
      return rows.map(({ at, comment, ...rest }) => ({
        ...rest,
        at: at.toISOString(),
        ...(comment === null ? {} : { comment }),
      }));
    });
  }
}
