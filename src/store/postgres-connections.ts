/** The named connections of every tenant in the PostgreSQL definition store (`connections`, migration 6). */
import type pg from 'pg';
import {
  CONNECTION_COLUMNS,
  storedConnection,
  type ConnectionRow,
  type ConnectionStore,
  type NewConnection,
  type StoredConnection,
} from './connection-store.js';
import type { Guard } from './postgres-templates.js';

type Row = ConnectionRow<Date>;

const stored = (row: Row): StoredConnection => storedConnection(row, (time) => time.toISOString());

export class PostgresConnectionStore implements ConnectionStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly guarded: Guard,
  ) {}

  create(tenant: string, c: NewConnection, actor: string): Promise<boolean> {
    return this.guarded(async () => {
      const result = await this.pool.query(
        `INSERT INTO connections (tenant, ${CONNECTION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, 1, now(), $7, now(), $7)
         ON CONFLICT (tenant, name) DO NOTHING`,
        [
          tenant,
          c.name,
          c.connector,
          JSON.stringify(c.settings),
          c.sealed_secrets,
          JSON.stringify(c.secret_fields),
          actor,
        ],
      );
      return result.rowCount === 1;
    });
  }

  get(tenant: string, name: string): Promise<StoredConnection | undefined> {
    return this.guarded(async () => {
      const { rows } = await this.pool.query<Row>(
        `SELECT ${CONNECTION_COLUMNS} FROM connections WHERE tenant = $1 AND name = $2`,
        [tenant, name],
      );
      const row = rows[0];
      return row ? stored(row) : undefined;
    });
  }

  list(tenant: string): Promise<StoredConnection[]> {
    return this.guarded(async () => {
      const { rows } = await this.pool.query<Row>(
        `SELECT ${CONNECTION_COLUMNS} FROM connections WHERE tenant = $1 ORDER BY name`,
        [tenant],
      );
      return rows.map(stored);
    });
  }

  replace(
    tenant: string,
    name: string,
    expected: number,
    next: Pick<StoredConnection, 'settings' | 'sealed_secrets' | 'secret_fields'>,
    actor: string,
  ): Promise<boolean> {
    return this.guarded(async () => {
      const result = await this.pool.query(
        `UPDATE connections SET settings = $1, sealed_secrets = $2, secret_fields = $3, version = version + 1,
           updated_at = now(), updated_by = $4
         WHERE tenant = $5 AND name = $6 AND version = $7`,
        [
          JSON.stringify(next.settings),
          next.sealed_secrets,
          JSON.stringify(next.secret_fields),
          actor,
          tenant,
          name,
          expected,
        ],
      );
      return result.rowCount === 1;
    });
  }

  delete(tenant: string, name: string): Promise<boolean> {
    return this.guarded(async () => {
      const result = await this.pool.query('DELETE FROM connections WHERE tenant = $1 AND name = $2', [tenant, name]);
      return result.rowCount === 1;
    });
  }
}
