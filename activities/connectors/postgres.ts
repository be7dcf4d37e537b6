/**
 * The built-in `postgres` connector, on a `pg` pool per worker (`WEFT_POSTGRES_URL`).
 *
 * Before the first statement the connector refuses, unless an operator opts in:
 * - the store's own database (`DATABASE_URL`: same server address, port and database), unless
 *   `WEFT_POSTGRES_ALLOW_STORE=true`;
 * - a role that is a superuser, may create roles, replicate or bypass row-level security, or
 *   holds `pg_execute_server_program`, `pg_read_server_files` or `pg_write_server_files`, unless
 *   `WEFT_POSTGRES_ALLOW_PRIVILEGED=true`.
 * The server's address is checked by the egress policy and connected to as checked.
 * - `query` `{ sql, params? }` → `{ rows, row_count }`
 * - `transaction` `{ statements: [{ sql, params? }] }` → `{ results: [{ rows, row_count }] }`,
 *   all or nothing.
 *
 * Statements always go through the extended protocol, so values travel only as `$1…$n`
 * parameters and one `sql` string can never smuggle in a second statement.
 */
import { ApplicationFailure } from '@temporalio/common';
import pg from 'pg';
import { z } from 'zod';
import { lookup } from 'node:dns/promises';
import { ErrorTypes, nonRetryableFailure, retryableFailure } from '../errors.js';
import { describeTarget, pinnedHost, type EgressResolution, type EgressTarget } from '../egress.js';
import { defineAction, defineConnector, type ConnectorEnv } from './connector.js';

export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** The server a postgres URL names; a Unix socket (`?host=/path`) is not something the policy can check. */
function postgresTarget(text: string): { url: URL; target: EgressTarget } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw nonRetryableFailure(ErrorTypes.NotConfigured, 'postgres: WEFT_POSTGRES_URL is not a postgres:// URL');
  }
  if (!/^postgres(ql)?:$/.test(url.protocol) || !url.hostname || url.searchParams.has('host')) {
    throw nonRetryableFailure(
      ErrorTypes.NotConfigured,
      'postgres: WEFT_POSTGRES_URL must be a postgres://user@host:port/db URL with a TCP host (Unix sockets are refused)',
    );
  }
  return { url, target: { host: url.hostname, port: Number(url.port || 5432) } };
}

function flag(env: ConnectorEnv, name: string): boolean {
  const value = env[name];
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  throw nonRetryableFailure(ErrorTypes.NotConfigured, `postgres: ${name} must be "true" or "false", got "${value}"`);
}

function databaseOf(url: URL): string {
  return decodeURIComponent(url.pathname.replace(/^\//, '')) || decodeURIComponent(url.username) || 'postgres';
}

async function addresses(host: string): Promise<Set<string>> {
  try {
    return new Set(
      (await lookup(host.replace(/^\[|\]$/g, ''), { all: true })).map((a) => a.address.replace(/^::ffff:/, '')),
    );
  } catch {
    return new Set();
  }
}

/** Refuses the store's own database: the same server (by address), port and database name. */
async function refuseStore(env: ConnectorEnv, url: URL, pinned: EgressResolution): Promise<void> {
  const store = env.DATABASE_URL ?? process.env.DATABASE_URL;
  if (!store || !/^postgres(ql)?:/i.test(store) || flag(env, 'WEFT_POSTGRES_ALLOW_STORE')) return;
  let storeUrl: URL;
  try {
    storeUrl = new URL(store);
  } catch {
    return;
  }
  if (Number(storeUrl.port || 5432) !== pinned.port || databaseOf(storeUrl) !== databaseOf(url)) return;
  const storeAddresses = await addresses(storeUrl.hostname);
  if (pinned.addresses.some((a) => storeAddresses.has(a.address.replace(/^::ffff:/, '')))) {
    throw nonRetryableFailure(
      ErrorTypes.EgressDenied,
      `postgres: WEFT_POSTGRES_URL points at the weft store's own database "${databaseOf(url)}"; ` +
        'give the connector a database of its own, or set WEFT_POSTGRES_ALLOW_STORE=true',
    );
  }
}

const PRIVILEGE_CHECK = `SELECT r.rolsuper, r.rolcreaterole, r.rolreplication, r.rolbypassrls,
  pg_has_role(current_user, 'pg_execute_server_program', 'USAGE') AS execute_server_program,
  pg_has_role(current_user, 'pg_read_server_files', 'USAGE') AS read_server_files,
  pg_has_role(current_user, 'pg_write_server_files', 'USAGE') AS write_server_files
  FROM pg_roles r WHERE r.rolname = current_user`;

/** Refuses a role that can do more than read and write the tables it was granted. */
async function refusePrivileged(pool: pg.Pool, env: ConnectorEnv): Promise<void> {
  if (flag(env, 'WEFT_POSTGRES_ALLOW_PRIVILEGED')) return;
  const { rows } = await pool.query<Record<string, boolean>>(PRIVILEGE_CHECK);
  const granted = Object.entries(rows[0] ?? {})
    .filter(([, on]) => on === true)
    .map(([name]) => name.replace(/^rol/, ''));
  if (granted.length > 0) {
    throw nonRetryableFailure(
      ErrorTypes.EgressDenied,
      `postgres: the role of WEFT_POSTGRES_URL is privileged (${granted.join(', ')}); connect as a least-privilege ` +
        'role (see SECURITY.md), or set WEFT_POSTGRES_ALLOW_PRIVILEGED=true',
    );
  }
}

const Statement = z.strictObject({
  sql: z.string().min(1, 'expected an SQL statement'),
  /** Values for `$1…$n`; objects are sent as JSON, arrays as PostgreSQL arrays. */
  params: z.array(z.unknown()).default([]),
});
type Statement = z.output<typeof Statement>;

export interface QueryResult {
  rows: Record<string, unknown>[];
  row_count: number;
}

/** SQLSTATEs that mean "the connection or server is not usable right now", worth a retry. */
const CONNECTION_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
/** Serialization failure and deadlock: the transaction may well pass when run again. */
const TRANSIENT_STATES = new Set(['40001', '40P01']);

function toFailure(err: unknown, where = '') {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof pg.DatabaseError) {
    const code = err.code ?? 'unknown';
    const message = `${where}SQL error ${code}: ${err.message}`;
    const details = { code, detail: err.detail, hint: err.hint, position: err.position };
    if (code.startsWith('08') || CONNECTION_STATES.has(code)) {
      return retryableFailure(ErrorTypes.ConnectionError, `postgres: ${message}`, details);
    }
    if (TRANSIENT_STATES.has(code)) return retryableFailure(ErrorTypes.SqlError, message, details);
    return nonRetryableFailure(ErrorTypes.SqlError, message, details);
  }
  // Anything else from pg is the socket or the pool: refused, reset, timed out connecting.
  const reason = err instanceof Error ? err.message || err.name : String(err);
  return retryableFailure(ErrorTypes.ConnectionError, `postgres: ${where}${reason}`);
}

/** `WEFT_POSTGRES_POOL_MAX`: 10 connections when unset; anything but a positive integer is refused. */
function poolSize(value: string | undefined): number {
  if (value === undefined || value === '') return 10;
  const size = Number(value);
  if (/^\d+$/.test(value.trim()) && Number.isSafeInteger(size) && size > 0) return size;
  throw nonRetryableFailure(
    ErrorTypes.NotConfigured,
    `postgres: WEFT_POSTGRES_POOL_MAX must be a positive integer, got "${value}"`,
  );
}

function responseTooLarge(limit: number, what: string) {
  return nonRetryableFailure(
    ErrorTypes.ResponseTooLarge,
    `${what}: result exceeds the cap of ${limit} bytes (WEFT_MAX_RESPONSE_BYTES, or the call's max_response_bytes); reading stopped there`,
    { limit },
  );
}

/**
 * Runs one statement, reading its rows one by one: past `budget.left` bytes (of JSON) the
 * connection is closed at once, so the rest of the result is never read, and the call fails
 * with `ResponseTooLarge`. The client is then broken: release it with `true`.
 */
function run(client: pg.PoolClient, statement: Statement, budget: { left: number; limit: number }, what: string) {
  // `queryMode` is honoured by pg but missing from its type definitions.
  const config: pg.QueryConfig & { queryMode: 'extended' } = {
    text: statement.sql,
    values: statement.params,
    queryMode: 'extended',
  };
  const query = new pg.Query(config);
  const rows: Record<string, unknown>[] = [];
  return new Promise<QueryResult>((resolve, reject) => {
    let over = false;
    query.on('row', (row: Record<string, unknown>) => {
      if (over) return;
      budget.left -= Buffer.byteLength(JSON.stringify(row) ?? '', 'utf8') + 1;
      if (budget.left < 0) {
        over = true;
        // pg has no way to stop a result midway but closing its socket.
        (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
        return reject(responseTooLarge(budget.limit, what));
      }
      rows.push(row);
    });
    query.on('end', (result: pg.QueryResult) => {
      if (!over) resolve({ rows, row_count: result.rowCount ?? rows.length });
    });
    query.on('error', (err: Error) => {
      if (!over) reject(err);
    });
    void client.query(query);
  });
}

export const postgresConnector = defineConnector<pg.Pool>({
  service_type: 'postgres',
  targets: (env) => [postgresTarget(env.WEFT_POSTGRES_URL ?? DEFAULT_POSTGRES_URL).target],
  describe(env) {
    const { url, target } = postgresTarget(env.WEFT_POSTGRES_URL ?? DEFAULT_POSTGRES_URL);
    return `${describeTarget(target.host, target.port)}/${databaseOf(url)}`;
  },
  async connect(env, [pinned]) {
    const { url } = postgresTarget(env.WEFT_POSTGRES_URL ?? DEFAULT_POSTGRES_URL);
    if (!pinned) throw new Error('postgres: no checked address');
    await refuseStore(env, url, pinned);
    // Connect to the checked address. With TLS the name stays, for the certificate check.
    const ssl = url.searchParams.get('sslmode') ?? url.searchParams.get('ssl');
    const connect = new URL(url);
    if (!ssl || ssl === 'disable' || ssl === 'false') connect.hostname = pinnedHost(pinned);
    const pool = new pg.Pool({
      connectionString: connect.toString(),
      max: poolSize(env.WEFT_POSTGRES_POOL_MAX),
      connectionTimeoutMillis: 10_000,
    });
    // An idle client whose server went away is dropped by the pool; without a listener the
    // 'error' event would crash the worker.
    pool.on('error', () => undefined);
    try {
      await refusePrivileged(pool, env);
    } catch (err) {
      await pool.end();
      throw err instanceof ApplicationFailure ? err : toFailure(err);
    }
    return pool;
  },
  disconnect: (pool) => pool.end(),
  actions: {
    query: defineAction({
      params: Statement,
      async execute(pool, params, ctx) {
        let client: pg.PoolClient;
        try {
          client = await pool.connect();
        } catch (err) {
          throw toFailure(err);
        }
        let broken = false;
        try {
          return await run(
            client,
            params,
            { left: ctx.maxResponseBytes, limit: ctx.maxResponseBytes },
            'postgres.query',
          );
        } catch (err) {
          broken = err instanceof ApplicationFailure && err.type === ErrorTypes.ResponseTooLarge;
          throw toFailure(err);
        } finally {
          client.release(broken);
        }
      },
    }),
    transaction: defineAction({
      params: z.strictObject({ statements: z.array(Statement).min(1, 'expected at least one statement') }),
      async execute(pool, params, ctx) {
        let client: pg.PoolClient;
        try {
          client = await pool.connect();
        } catch (err) {
          throw toFailure(err);
        }
        let broken = false;
        let index = 0;
        try {
          await client.query('BEGIN');
          const results: QueryResult[] = [];
          // One cap for the whole transaction's results; over it the connection is closed, which
          // aborts the transaction (nothing is committed).
          const budget = { left: ctx.maxResponseBytes, limit: ctx.maxResponseBytes };
          for (const statement of params.statements) {
            index++;
            results.push(await run(client, statement, budget, 'postgres.transaction'));
          }
          index = 0;
          await client.query('COMMIT');
          return { results };
        } catch (err) {
          // A client that cannot even roll back is not given back to the pool.
          await client.query('ROLLBACK').catch(() => (broken = true));
          throw toFailure(err, index > 0 ? `statement ${index} of ${params.statements.length}: ` : '');
        } finally {
          client.release(broken);
        }
      },
    }),
  },
});
