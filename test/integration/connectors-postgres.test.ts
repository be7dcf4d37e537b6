/**
 * The `postgres` connector through a real Temporal worker against the local PostgreSQL
 * (database `test`): parameterised queries, all-or-nothing transactions, error mapping; as a
 * least-privilege role, since superusers and the store's own database are refused by default.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import pg from 'pg';
import { postgresConnector } from '../../activities/connectors/postgres.js';
import { ConnectorRegistry } from '../../activities/connectors/registry.js';
import { startActivityWorker, type ActivityWorker } from '../support/activity-worker.js';
import { egressEntry } from '../support/egress.js';
import { createLeastPrivilegeRole, type TestRole } from '../support/postgres.js';
import { unique } from '../support/temporal.js';
import type { CallOutcome } from '../support/test-workflows.js';

const DATABASE = process.env.WEFT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const table = unique('weft_orders').replace(/-/g, '_');
const SERVER = egressEntry(DATABASE);
let admin: pg.Client;
let role: TestRole;
let worker: ActivityWorker;
let unreachable: ActivityWorker;

before(async () => {
  admin = new pg.Client({ connectionString: DATABASE });
  await admin.connect();
  await admin.query(`CREATE TABLE ${table} (id int PRIMARY KEY, customer text NOT NULL, total numeric, meta jsonb)`);
  role = await createLeastPrivilegeRole(DATABASE);
  await role.grantTable(table);
  worker = await startActivityWorker({
    registry: new ConnectorRegistry({ env: { WEFT_POSTGRES_URL: role.url, WEFT_EGRESS_ALLOW: SERVER } }),
  });
  unreachable = await startActivityWorker({
    registry: new ConnectorRegistry({
      env: { WEFT_POSTGRES_URL: 'postgres://postgres@127.0.0.1:1/test', WEFT_EGRESS_ALLOW: '127.0.0.1:1' },
    }),
  });
});

after(async () => {
  await worker?.shutdown();
  await unreachable?.shutdown();
  await admin?.query(`DROP TABLE IF EXISTS ${table}`);
  await role?.drop();
  await admin?.end();
});

function pgCall(action: string, params: unknown, maximumAttempts = 1, on = worker): Promise<CallOutcome> {
  return on.call('runConnector', { connector: 'postgres', action, params }, { maximumAttempts });
}

async function ok(action: string, params: unknown): Promise<any> {
  const outcome = await pgCall(action, params);
  if (!outcome.ok) throw new Error(`${outcome.error.type}: ${outcome.error.message}`);
  return (outcome.value as { output: unknown }).output;
}

function failure(outcome: CallOutcome) {
  if (outcome.ok) throw new Error('expected the call to fail');
  return { ...outcome.error, attempt: (outcome.error.details[0] as { attempt: number }).attempt };
}

describe('postgres connector', () => {
  test('query: parameters bind values; rows and row_count come back', async () => {
    const inserted = await ok('query', {
      sql: `INSERT INTO ${table} (id, customer, total, meta) VALUES ($1, $2, $3, $4) RETURNING id, customer`,
      params: [1, "Ada'); DROP TABLE x; --", 12.5, { vip: true }],
    });
    assert.deepEqual(inserted, { rows: [{ id: 1, customer: "Ada'); DROP TABLE x; --" }], row_count: 1 });

    const selected = await ok('query', {
      sql: `SELECT customer, total, meta FROM ${table} WHERE id = $1`,
      params: [1],
    });
    assert.deepEqual(selected.rows, [{ customer: "Ada'); DROP TABLE x; --", total: '12.5', meta: { vip: true } }]);

    const updated = await ok('query', { sql: `UPDATE ${table} SET total = total + 1` });
    assert.deepEqual(updated, { rows: [], row_count: 1 });
  });

  test('one sql string cannot carry a second statement', async () => {
    const error = failure(await pgCall('query', { sql: `SELECT 1; DELETE FROM ${table}` }, 3));
    assert.equal(error.type, 'SqlError');
    assert.equal(error.nonRetryable, true);
    assert.match(error.message, /SQL error 42601/);
    assert.equal((await admin.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n, 1);
  });

  test('transaction: every statement commits together', async () => {
    const output = await ok('transaction', {
      statements: [
        { sql: `INSERT INTO ${table} (id, customer) VALUES ($1, $2)`, params: [10, 'Grace'] },
        { sql: `INSERT INTO ${table} (id, customer) VALUES ($1, $2)`, params: [11, 'Edsger'] },
        { sql: `SELECT id FROM ${table} WHERE id >= $1 ORDER BY id`, params: [10] },
      ],
    });
    assert.deepEqual(output, {
      results: [
        { rows: [], row_count: 1 },
        { rows: [], row_count: 1 },
        { rows: [{ id: 10 }, { id: 11 }], row_count: 2 },
      ],
    });
  });

  test('transaction: a failing statement rolls back the others and is a non-retryable SqlError with its SQLSTATE', async () => {
    const error = failure(
      await pgCall(
        'transaction',
        {
          statements: [
            { sql: `INSERT INTO ${table} (id, customer) VALUES ($1, $2)`, params: [20, 'Barbara'] },
            { sql: `INSERT INTO ${table} (id, customer) VALUES ($1, $2)`, params: [1, 'duplicate'] },
          ],
        },
        3,
      ),
    );
    assert.equal(error.type, 'SqlError');
    assert.equal(error.nonRetryable, true);
    assert.equal(error.attempt, 1);
    assert.match(error.message, /^postgres \S+: statement 2 of 2: SQL error 23505: duplicate key value/);
    const rows = await admin.query(`SELECT id FROM ${table} WHERE id = 20`);
    assert.equal(rows.rowCount, 0);
  });

  test('an unreachable server is a retryable ConnectionError', async () => {
    const error = failure(await pgCall('query', { sql: 'SELECT 1' }, 2, unreachable));
    assert.equal(error.type, 'ConnectionError');
    assert.equal(error.nonRetryable, false);
    assert.equal(error.attempt, 2);
    assert.match(error.message, /ECONNREFUSED/);
  });

  test('params that are not an array are InvalidParams', async () => {
    const error = failure(await pgCall('query', { sql: 'SELECT $1', params: 'x' }, 3));
    assert.equal(error.type, 'InvalidParams');
    assert.match(error.message, /params: /);
  });

  test('in a definition: a query result drives a condition', async () => {
    const handle = await worker.start({
      id: 'pg-flow',
      nodes: [
        {
          id: 'count',
          type: 'task',
          connector: 'postgres',
          action: 'query',
          inputs: { sql: `SELECT count(*)::int AS n FROM ${table}` },
        },
        { id: 'decide', type: 'set', assign: { many: 'nodes.count.output.rows[0].n > 2' } },
      ],
      edges: [{ from: 'count', to: 'decide' }],
    });
    assert.deepEqual(await handle.result(), { many: true });
  });

  test('the egress policy refuses the server unless it is allow-listed, per tenant where asked', async () => {
    const closed = await startActivityWorker({
      registry: new ConnectorRegistry({
        env: { WEFT_POSTGRES_URL: role.url, [`WEFT_EGRESS_ALLOW_ACME`]: SERVER },
      }),
    });
    try {
      const error = failure(await pgCall('query', { sql: 'SELECT 1 AS one' }, 3, closed));
      assert.equal(error.type, 'EgressDenied');
      assert.equal(error.nonRetryable, true);
      assert.match(error.message, new RegExp(`egress to ${SERVER.replace(/\./g, '\\.')} refused: .*loopback`));
      assert.match(error.message, /WEFT_EGRESS_ALLOW=/);
      // The pool another tenant opened is still refused to this one.
      const acme = await closed.call(
        'runConnector',
        { connector: 'postgres', action: 'query', params: { sql: 'SELECT 1 AS one' } },
        { maximumAttempts: 1 },
        'acme',
      );
      assert.ok(acme.ok, JSON.stringify(acme));
      assert.equal(failure(await pgCall('query', { sql: 'SELECT 1 AS one' }, 1, closed)).type, 'EgressDenied');
    } finally {
      await closed.shutdown();
    }
  });

  test('a superuser role is refused before any statement runs; WEFT_POSTGRES_ALLOW_PRIVILEGED=true opts in', async () => {
    const marker = unique('weft_superuser_probe').replace(/-/g, '_');
    const env = { WEFT_POSTGRES_URL: DATABASE, WEFT_EGRESS_ALLOW: SERVER };
    const refused = await startActivityWorker({ registry: new ConnectorRegistry({ env }) });
    const optedIn = await startActivityWorker({
      registry: new ConnectorRegistry({ env: { ...env, WEFT_POSTGRES_ALLOW_PRIVILEGED: 'true' } }),
    });
    try {
      const error = failure(await pgCall('query', { sql: `CREATE TABLE ${marker} (id int)` }, 3, refused));
      assert.equal(error.type, 'EgressDenied');
      assert.equal(error.nonRetryable, true);
      assert.match(error.message, /privileged \(super/);
      assert.match(error.message, /WEFT_POSTGRES_ALLOW_PRIVILEGED=true/);
      const exists = await admin.query('SELECT to_regclass($1) AS t', [marker]);
      assert.equal(exists.rows[0].t, null, 'the statement never ran');

      assert.deepEqual((await pgCall('query', { sql: 'SELECT current_user AS who' }, 1, optedIn)).ok, true);
    } finally {
      await refused.shutdown();
      await optedIn.shutdown();
    }
  });

  test('WEFT_POSTGRES_POOL_MAX sizes the pool; a value that is not a positive integer is refused, named', async () => {
    const registry = (size: string) =>
      new ConnectorRegistry({
        env: { WEFT_POSTGRES_URL: role.url, WEFT_EGRESS_ALLOW: SERVER, WEFT_POSTGRES_POOL_MAX: size },
      });
    for (const size of ['ten', '0', '-1', '2.5']) {
      const error = await registry(size)
        .connection(postgresConnector, 'default')
        .catch((e: unknown) => e);
      assert.ok(error instanceof ApplicationFailure, String(error));
      assert.equal(error.type, 'NotConfigured');
      assert.equal(error.nonRetryable, true);
      assert.equal(error.message, `postgres: WEFT_POSTGRES_POOL_MAX must be a positive integer, got "${size}"`);
    }
    const three = registry('3');
    try {
      const pool = (await three.connection(postgresConnector, 'default')) as pg.Pool;
      assert.equal(pool.options.max, 3);
    } finally {
      await three.close();
    }
  });

  test("the store's own database is refused; WEFT_POSTGRES_ALLOW_STORE=true opts in", async () => {
    // DATABASE_URL names the same server and database, as another user: still the store.
    const env = { WEFT_POSTGRES_URL: role.url, WEFT_EGRESS_ALLOW: SERVER, DATABASE_URL: DATABASE };
    const refused = await startActivityWorker({ registry: new ConnectorRegistry({ env }) });
    const optedIn = await startActivityWorker({
      registry: new ConnectorRegistry({ env: { ...env, WEFT_POSTGRES_ALLOW_STORE: 'true' } }),
    });
    try {
      const error = failure(await pgCall('query', { sql: 'SELECT 1 AS one' }, 3, refused));
      assert.equal(error.type, 'EgressDenied');
      assert.match(error.message, /weft store's own database "test"/);
      assert.match(error.message, /WEFT_POSTGRES_ALLOW_STORE=true/);
      assert.equal((await pgCall('query', { sql: 'SELECT 1 AS one' }, 1, optedIn)).ok, true);
    } finally {
      await refused.shutdown();
      await optedIn.shutdown();
    }
  });
});
