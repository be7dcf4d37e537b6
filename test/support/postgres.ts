/**
 * Throwaway PostgreSQL databases for tests: each caller gets its own uniquely named database
 * on the local server (WEFT_TEST_POSTGRES_URL, default the `test` database on 127.0.0.1:5432),
 * so test files run in parallel and reruns start clean. `drop()` removes it.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const POSTGRES_ADMIN_URL = process.env.WEFT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  /** A connection string for the new database, usable as DATABASE_URL. */
  url: string;
  name: string;
  drop(): Promise<void>;
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `weft_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    // FORCE: a pool a failed test left open must not keep the database alive.
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

export interface TestRole {
  /** `url` with this role as its user. */
  url: string;
  name: string;
  /** Lets the role read and write one table (created by the admin connection). */
  grantTable(table: string): Promise<void>;
  drop(): Promise<void>;
}

/**
 * A least-privilege login role for connector tests (what SECURITY.md recommends): no superuser,
 * no CREATEROLE, no replication, no BYPASSRLS; it may connect to the database and use the
 * tables it is granted, nothing else. `url` is a database URL (such as POSTGRES_ADMIN_URL).
 */
export async function createLeastPrivilegeRole(url: string): Promise<TestRole> {
  const name = `weft_conn_${randomBytes(6).toString('hex')}`;
  const target = new URL(url);
  const database = target.pathname.replace(/^\//, '') || 'postgres';
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE ROLE ${name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS`);
  await run(`GRANT CONNECT ON DATABASE ${database} TO ${name}`);
  await run(`GRANT USAGE ON SCHEMA public TO ${name}`);
  target.username = name;
  target.password = '';
  return {
    url: target.toString(),
    name,
    grantTable: (table) => run(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${table} TO ${name}`),
    // The tables it was granted may be gone already; what it owns is nothing.
    drop: () => run(`DROP OWNED BY ${name}`).then(() => run(`DROP ROLE IF EXISTS ${name}`)),
  };
}
