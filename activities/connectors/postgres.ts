/**
 * The built-in `postgres` connector, on a `pg` pool per worker (`WEFT_POSTGRES_URL`).
 * - `query` `{ sql, params? }` → `{ rows, row_count }`
 * - `transaction` `{ statements: [{ sql, params? }] }` → `{ results: [{ rows, row_count }] }`,
 *   all or nothing.
 *
 * Statements always go through the extended protocol, so values travel only as `$1…$n`
 * parameters and one `sql` string can never smuggle in a second statement.
 */
import pg from 'pg';
import { z } from 'zod';
import { ErrorTypes, nonRetryableFailure, retryableFailure } from '../errors.js';
import { defineAction, defineConnector } from './connector.js';

export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

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

/** `WEFT_POSTGRES_POOL_MAX`, 10 connections unless it is a positive integer. */
function poolSize(value: string | undefined): number {
  const size = Number(value);
  return Number.isInteger(size) && size > 0 ? size : 10;
}

async function run(client: pg.Pool | pg.PoolClient, statement: Statement): Promise<QueryResult> {
  // `queryMode` is honoured by pg but missing from its type definitions.
  const config: pg.QueryConfig & { queryMode: 'extended' } = {
    text: statement.sql,
    values: statement.params,
    queryMode: 'extended',
  };
  const result = await client.query(config);
  const rows = (result.rows ?? []) as Record<string, unknown>[];
  return { rows, row_count: result.rowCount ?? rows.length };
}

export const postgresConnector = defineConnector<pg.Pool>({
  service_type: 'postgres',
  connect(env) {
    const pool = new pg.Pool({
      connectionString: env.WEFT_POSTGRES_URL ?? DEFAULT_POSTGRES_URL,
      max: poolSize(env.WEFT_POSTGRES_POOL_MAX),
      connectionTimeoutMillis: 10_000,
    });
    // An idle client whose server went away is dropped by the pool; without a listener the
    // 'error' event would crash the worker.
    pool.on('error', () => undefined);
    return Promise.resolve(pool);
  },
  disconnect: (pool) => pool.end(),
  actions: {
    query: defineAction({
      params: Statement,
      async execute(pool, params) {
        try {
          return await run(pool, params);
        } catch (err) {
          throw toFailure(err);
        }
      },
    }),
    transaction: defineAction({
      params: z.strictObject({ statements: z.array(Statement).min(1, 'expected at least one statement') }),
      async execute(pool, params) {
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
          for (const statement of params.statements) {
            index++;
            results.push(await run(client, statement));
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
