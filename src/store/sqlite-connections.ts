/** The named connections of every tenant in the SQLite definition store's file (`connections` table). */
import type Database from 'better-sqlite3';
import {
  CONNECTION_COLUMNS,
  storedConnection,
  type ConnectionRow,
  type ConnectionStore,
  type NewConnection,
  type StoredConnection,
} from './connection-store.js';

export const CONNECTION_MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS connections (
     tenant TEXT NOT NULL,
     name TEXT NOT NULL,
     connector TEXT NOT NULL,
     settings TEXT NOT NULL,
     sealed_secrets TEXT NOT NULL,
     secret_fields TEXT NOT NULL,
     version INTEGER NOT NULL,
     created_at TEXT NOT NULL,
     created_by TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     updated_by TEXT NOT NULL,
     PRIMARY KEY (tenant, name)
   )`,
];

type Row = ConnectionRow<string>;

const stored = (row: Row): StoredConnection => storedConnection(row, (time) => time);

export class SqliteConnectionStore implements ConnectionStore {
  constructor(private readonly db: Database.Database) {
    for (const statement of CONNECTION_MIGRATIONS) db.exec(statement);
  }

  create(tenant: string, c: NewConnection, actor: string): Promise<boolean> {
    const now = new Date().toISOString();
    const result = this.db
      .prepare(
        `INSERT INTO connections (tenant, ${CONNECTION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)
         ON CONFLICT (tenant, name) DO NOTHING`,
      )
      .run(
        tenant,
        c.name,
        c.connector,
        JSON.stringify(c.settings),
        c.sealed_secrets,
        JSON.stringify(c.secret_fields),
        now,
        actor,
        now,
        actor,
      );
    return Promise.resolve(result.changes === 1);
  }

  get(tenant: string, name: string): Promise<StoredConnection | undefined> {
    const row = this.db
      .prepare(`SELECT ${CONNECTION_COLUMNS} FROM connections WHERE tenant = ? AND name = ?`)
      .get(tenant, name) as Row | undefined;
    return Promise.resolve(row ? stored(row) : undefined);
  }

  list(tenant: string): Promise<StoredConnection[]> {
    const rows = this.db
      .prepare(`SELECT ${CONNECTION_COLUMNS} FROM connections WHERE tenant = ? ORDER BY name`)
      .all(tenant) as Row[];
    return Promise.resolve(rows.map(stored));
  }

  replace(
    tenant: string,
    name: string,
    expected: number,
    next: Pick<StoredConnection, 'settings' | 'sealed_secrets' | 'secret_fields'>,
    actor: string,
  ): Promise<boolean> {
    const result = this.db
      .prepare(
        `UPDATE connections SET settings = ?, sealed_secrets = ?, secret_fields = ?, version = version + 1,
           updated_at = ?, updated_by = ?
         WHERE tenant = ? AND name = ? AND version = ?`,
      )
      .run(
        JSON.stringify(next.settings),
        next.sealed_secrets,
        JSON.stringify(next.secret_fields),
        new Date().toISOString(),
        actor,
        tenant,
        name,
        expected,
      );
    return Promise.resolve(result.changes === 1);
  }

  delete(tenant: string, name: string): Promise<boolean> {
    const result = this.db.prepare('DELETE FROM connections WHERE tenant = ? AND name = ?').run(tenant, name);
    return Promise.resolve(result.changes === 1);
  }
}
