/**
 * Named connections end to end: a gateway with WEFT_CONNECTION_KEY, its worker, two real
 * PostgreSQL databases behind least-privilege roles. One definition writes to both through two
 * connections; another tenant can neither name nor (forced at run time) reach them; the secret
 * settings never show in any answer, the run state, the raw history or what the process writes;
 * a replace (rotate) holds for the next run, a delete fails it with ConnectionNotFound; bad bodies
 * answer 400 naming the field. The routes work the same on both definition stores. Two ai
 * connections to two fake OpenAI servers: each ai node reaches its own server with its own key,
 * one without a connection the worker's default; no key shows anywhere, nor crosses tenants.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { openDefinitionStore } from '../../src/store/open-store.js';
import { bearer, createKey, putTenant } from '../support/access.js';
import { allowEgress } from '../support/egress.js';
import { STORES, startTestStack, type TestStack } from '../support/gateway.js';
import {
  POSTGRES_ADMIN_URL,
  createLeastPrivilegeRole,
  createTestDatabase,
  type TestDatabase,
  type TestRole,
} from '../support/postgres.js';
import { connectClient, unique } from '../support/temporal.js';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';

const KEY = randomBytes(32).toString('base64');
/** In every secret setting: no answer, state, history or output may contain it. */
const MARKER = `pw${randomBytes(8).toString('hex')}`;

async function onDatabase<T>(database: TestDatabase, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

const pgSettings = (database: TestDatabase, role: TestRole) => ({
  host: '127.0.0.1',
  port: Number(new URL(POSTGRES_ADMIN_URL).port || 5432),
  database: database.name,
  user: role.name,
});

function writesTo(id: string, connections: [string, string], note: string) {
  const write = (node: string, connection: string) => ({
    id: node,
    type: 'task',
    connector: 'postgres',
    action: 'query',
    connection,
    inputs: {
      sql: 'INSERT INTO items (note) VALUES ($1) RETURNING current_database() AS db, current_user AS who',
      params: [note],
    },
    retry_policy: { max_attempts: 1 },
  });
  return {
    id,
    nodes: [write('first', connections[0]), write('second', connections[1])],
    edges: [{ from: 'first', to: 'second' }],
  };
}

describe('named connections: two PostgreSQL databases, tenants, secrets, rotate and delete', () => {
  let stack: TestStack;
  let admin: Record<string, string>;
  let otherAdmin: Record<string, string>;
  const other = unique('conn-tenant');
  const databases: TestDatabase[] = [];
  const roles: TestRole[] = [];
  let revokeEgress: () => void;
  /** Two endpoints of ai connections, and the worker's own (OPENAI_BASE_URL). */
  const llms: FakeOpenAi[] = [];
  let workerLlm: FakeOpenAi;
  const written: string[] = [];
  const originalStdout = process.stdout.write.bind(process.stdout);
  const originalStderr = process.stderr.write.bind(process.stderr);

  before(async () => {
    // Everything this process writes is kept to be scanned, and the gateway's and the worker's
    // logs at level info (the stack's are silent unless asked).
    process.stdout.write = (chunk: unknown, ...rest: never[]) => {
      written.push(String(chunk));
      return originalStdout(chunk as string, ...rest);
    };
    process.stderr.write = (chunk: unknown, ...rest: never[]) => {
      written.push(String(chunk));
      return originalStderr(chunk as string, ...rest);
    };
    llms.push(await startFakeOpenAi(), await startFakeOpenAi());
    workerLlm = await startFakeOpenAi();
    stack = await startTestStack({
      env: { WEFT_CONNECTION_KEY: KEY },
      ai: { baseURL: workerLlm.url, apiKey: workerLlm.apiKey },
      logs: written,
    });
    // The connections' endpoints are allowed; the worker's own is the operator's and not checked.
    revokeEgress = allowEgress(
      `127.0.0.1:${new URL(POSTGRES_ADMIN_URL).port || 5432}`,
      ...llms.map((llm) => `127.0.0.1:${new URL(llm.url).port}`),
    );
    for (let i = 0; i < 2; i++) {
      const database = await createTestDatabase();
      databases.push(database);
      await onDatabase(database, 'CREATE TABLE items (id serial PRIMARY KEY, note text NOT NULL)');
    }
    for (const database of [...databases, databases[0] as TestDatabase]) {
      const role = await createLeastPrivilegeRole(database.url);
      await role.grantTable('items');
      await onDatabase(database, `GRANT USAGE ON SEQUENCE items_id_seq TO ${role.name}`);
      roles.push(role);
    }
    const root = await createKey(stack, 'root', ['admin']);
    admin = bearer(root);
    await putTenant(stack, root, other);
    otherAdmin = bearer(await createKey(stack, 'other-admin', ['admin'], { adminKey: root, tenant: other }));
  });

  after(async () => {
    process.stdout.write = originalStdout;
    process.stderr.write = originalStderr;
    revokeEgress?.();
    await stack?.close();
    for (const llm of [...llms, workerLlm]) await llm?.close();
    for (const role of roles) await role.drop().catch(() => undefined);
    for (const database of databases) await database.drop();
  });

  const create = (name: string, i: number, role: TestRole, headers = admin) =>
    stack.call(
      'POST',
      '/v1/connections',
      {
        name,
        connector: 'postgres',
        settings: pgSettings(databases[i] as TestDatabase, role),
        secret_settings: { password: `${MARKER}-${name}` },
      },
      headers,
    );

  async function run(id: string, headers = admin): Promise<{ runId: string; outcome: any }> {
    const started = await stack.call('POST', `/v1/definitions/${id}/runs`, {}, headers);
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const outcome = await stack.call('GET', `/v1/runs/${started.body.run_id}/result?wait=true`, undefined, headers);
    assert.equal(outcome.status, 200, JSON.stringify(outcome.body));
    return { runId: started.body.run_id as string, outcome: outcome.body };
  }

  /** Everything a reader could see of a run: its state and its raw history. */
  async function seen(runId: string): Promise<string> {
    const state = await stack.call('GET', `/v1/runs/${runId}`, undefined, admin);
    assert.equal(state.status, 200);
    const { client, connection } = await connectClient();
    try {
      const history = await client.workflow.getHandle(runId).fetchHistory();
      return JSON.stringify(state.body) + JSON.stringify(history);
    } finally {
      await connection.close();
    }
  }

  test('a definition writes to two databases through two connections; nothing shows a secret', async () => {
    const answers: unknown[] = [];
    const one = await create('db-one', 0, roles[0] as TestRole);
    assert.equal(one.status, 201, JSON.stringify(one.body));
    assert.deepEqual(one.body.secret_settings, { password: '***' });
    assert.equal(one.body.version, 1);
    assert.equal(one.body.settings.ssl, false, 'defaults are filled in');
    const two = await create('db-two', 1, roles[1] as TestRole);
    assert.equal(two.status, 201, JSON.stringify(two.body));
    answers.push(one.body, two.body);
    answers.push((await stack.call('GET', '/v1/connections', undefined, admin)).body);
    const got = await stack.call('GET', '/v1/connections/db-one', undefined, admin);
    assert.equal(got.status, 200);
    assert.equal(got.body.settings.database, databases[0]?.name);
    answers.push(got.body);
    const tested = await stack.call('POST', '/v1/connections/db-two/test', {}, admin);
    assert.equal(tested.status, 200, JSON.stringify(tested.body));
    assert.equal(tested.body.ok, true, JSON.stringify(tested.body));
    answers.push(tested.body);

    const id = unique('two-dbs');
    const submitted = await stack.call('POST', '/v1/definitions', writesTo(id, ['db-one', 'db-two'], 'hello'), admin);
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    answers.push((await stack.call('GET', `/v1/definitions/${id}`, undefined, admin)).body);
    const { runId, outcome } = await run(id);
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome));
    answers.push(outcome);
    const [first] = await onDatabase<{ note: string }>(databases[0] as TestDatabase, 'SELECT note FROM items');
    const [second] = await onDatabase<{ note: string }>(databases[1] as TestDatabase, 'SELECT note FROM items');
    assert.equal(first?.note, 'hello');
    assert.equal(second?.note, 'hello');
    const state = await stack.call('GET', `/v1/runs/${runId}`, undefined, admin);
    assert.equal(state.body.nodes.first.output.rows[0].db, databases[0]?.name);
    assert.equal(state.body.nodes.second.output.rows[0].db, databases[1]?.name);
    assert.equal(state.body.nodes.second.output.rows[0].who, roles[1]?.name);

    const audit = await stack.call('GET', '/v1/audit', undefined, admin);
    assert.ok(
      (audit.body.items as Array<{ action: string; target: string }>).some(
        (e) => e.action === 'connection.create' && e.target === 'db-one',
      ),
      JSON.stringify(audit.body),
    );
    answers.push(audit.body);
    const everything = JSON.stringify(answers) + (await seen(runId)) + written.join('');
    assert.ok(everything.includes('db-one'), 'the scan sees the answers');
    // The logs are really scanned: the gateway logged the run it started.
    assert.ok(
      written.some((line) => line.includes('"msg":"run started"') && line.includes(runId)),
      'the gateway logs are captured',
    );
    assert.ok(!everything.includes(MARKER), 'a secret setting showed');
  });

  test('another tenant can neither name nor reach a connection', async () => {
    const id = unique('crossing');
    const refused = await stack.call('POST', '/v1/definitions', writesTo(id, ['db-one', 'db-two'], 'x'), otherAdmin);
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.deepEqual(
      (refused.body.error.details as Array<{ path: string; message: string }>).map((p) => p.path),
      ['/nodes/0/connection', '/nodes/1/connection'],
    );
    assert.match(refused.body.error.details[0].message, /connection "db-one" not found/);
    assert.equal((await stack.call('GET', '/v1/connections/db-one', undefined, otherAdmin)).status, 404);
    assert.deepEqual((await stack.call('GET', '/v1/connections', undefined, otherAdmin)).body.items, []);
    assert.equal((await stack.call('POST', '/v1/connections/db-one/test', {}, otherAdmin)).status, 404);
    assert.equal((await stack.call('DELETE', '/v1/connections/db-one', undefined, otherAdmin)).status, 404);

    // Forced: the other tenant submits while it has a "db-one" of its own, then deletes it; the
    // default tenant's "db-one" is still there, and the run must not reach it.
    const own = await create('db-one', 1, roles[1] as TestRole, otherAdmin);
    assert.equal(own.status, 201, JSON.stringify(own.body));
    const single = { id, nodes: [writesTo(id, ['db-one', 'db-one'], 'crossed').nodes[0]] };
    assert.equal((await stack.call('POST', '/v1/definitions', single, otherAdmin)).status, 201);
    assert.equal((await stack.call('DELETE', '/v1/connections/db-one', undefined, otherAdmin)).status, 204);
    const { outcome } = await run(id, otherAdmin);
    assert.equal(outcome.status, 'failed', JSON.stringify(outcome));
    assert.equal(outcome.error.type, 'ConnectionNotFound', JSON.stringify(outcome));
    assert.match(outcome.error.message, /connection "db-one" not found/);
    const rows = await onDatabase<{ note: string }>(
      databases[0] as TestDatabase,
      "SELECT note FROM items WHERE note = 'crossed'",
    );
    assert.deepEqual(rows, []);
  });

  test("ai nodes reach their connections' endpoints with their keys, one without the worker's; no key shows", async () => {
    const [one, two] = llms as [FakeOpenAi, FakeOpenAi];
    for (const llm of [...llms, workerLlm]) llm.reset();
    const answers: unknown[] = [];
    for (const [name, llm] of [
      ['llm-one', one],
      ['llm-two', two],
    ] as const) {
      const created = await stack.call(
        'POST',
        '/v1/connections',
        { name, connector: 'ai', settings: { base_url: llm.url }, secret_settings: { api_key: llm.apiKey } },
        admin,
      );
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.deepEqual(created.body.secret_settings, { api_key: '***' });
      answers.push(created.body);
    }
    const tested = await stack.call('POST', '/v1/connections/llm-one/test', {}, admin);
    assert.deepEqual(
      [tested.status, tested.body.ok, tested.body.error],
      [200, true, undefined],
      JSON.stringify(tested.body),
    );
    assert.deepEqual(
      one.requests.map((r) => [r.body, r.headers.authorization]),
      [[undefined, `Bearer ${one.apiKey}`]],
      "the test lists the models with the connection's key",
    );
    one.reset();

    const ai = (id: string, connection?: string) => ({
      id,
      type: 'ai',
      model: 'gpt-4o-mini',
      prompt_template: `say ${id}`,
      ...(connection === undefined ? {} : { connection }),
      retry_policy: { max_attempts: 1 },
    });
    one.enqueue({ content: 'from one' });
    two.enqueue({ content: 'from two' });
    workerLlm.enqueue({ content: 'from the worker' });
    const id = unique('two-llms');
    const definition = {
      id,
      nodes: [ai('first', 'llm-one'), ai('second', 'llm-two'), ai('third')],
      edges: [
        { from: 'first', to: 'second' },
        { from: 'second', to: 'third' },
      ],
    };
    const submitted = await stack.call('POST', '/v1/definitions', definition, admin);
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    const { runId, outcome } = await run(id);
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome));
    answers.push(outcome);
    const state = await stack.call('GET', `/v1/runs/${runId}`, undefined, admin);
    assert.deepEqual(
      ['first', 'second', 'third'].map((node) => state.body.nodes[node].output),
      ['from one', 'from two', 'from the worker'],
    );
    for (const [llm, prompt] of [
      [one, 'say first'],
      [two, 'say second'],
      [workerLlm, 'say third'],
    ] as const) {
      assert.deepEqual(
        llm.requests.map((r) => [r.headers.authorization, r.body.messages.at(-1).content]),
        [[`Bearer ${llm.apiKey}`, prompt]],
      );
    }

    // A failure names the endpoint and the connection, never the key.
    const wrongKey = `sk-wrong-${MARKER}`;
    const bad = await stack.call(
      'POST',
      '/v1/connections',
      { name: 'llm-bad', connector: 'ai', settings: { base_url: one.url }, secret_settings: { api_key: wrongKey } },
      admin,
    );
    assert.equal(bad.status, 201, JSON.stringify(bad.body));
    const failedTest = await stack.call('POST', '/v1/connections/llm-bad/test', {}, admin);
    assert.equal(failedTest.body.ok, false, JSON.stringify(failedTest.body));
    assert.match(failedTest.body.error.message, /127\.0\.0\.1:\d+\/v1\/models via connection "llm-bad" answered 401/);
    answers.push(failedTest.body);
    const badId = unique('bad-llm');
    assert.equal(
      (await stack.call('POST', '/v1/definitions', { id: badId, nodes: [ai('only', 'llm-bad')] }, admin)).status,
      201,
    );
    const failed = await run(badId);
    assert.equal(failed.outcome.status, 'failed', JSON.stringify(failed.outcome));
    assert.equal(failed.outcome.error.type, 'ModelError', JSON.stringify(failed.outcome));
    assert.match(
      failed.outcome.error.message,
      /at http:\/\/127\.0\.0\.1:\d+\/v1 via connection "llm-bad" answered 401/,
    );
    answers.push(failed.outcome);

    const everything = JSON.stringify(answers) + (await seen(runId)) + (await seen(failed.runId)) + written.join('');
    assert.ok(everything.includes('llm-one'), 'the scan sees the answers');
    for (const key of [one.apiKey, two.apiKey, MARKER]) assert.ok(!everything.includes(key), 'a key showed');

    // Another tenant can neither name them nor, forced at run time, reach them.
    const refused = await stack.call('POST', '/v1/definitions', definition, otherAdmin);
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.deepEqual(
      (refused.body.error.details as Array<{ path: string }>).map((p) => p.path),
      ['/nodes/0/connection', '/nodes/1/connection'],
    );
    const crossing = unique('crossing-llm');
    const own = await stack.call(
      'POST',
      '/v1/connections',
      { name: 'llm-one', connector: 'ai', settings: { base_url: two.url }, secret_settings: { api_key: 'sk-other' } },
      otherAdmin,
    );
    assert.equal(own.status, 201, JSON.stringify(own.body));
    const single = { id: crossing, nodes: [ai('only', 'llm-one')] };
    assert.equal((await stack.call('POST', '/v1/definitions', single, otherAdmin)).status, 201);
    assert.equal((await stack.call('DELETE', '/v1/connections/llm-one', undefined, otherAdmin)).status, 204);
    one.reset();
    const crossed = await run(crossing, otherAdmin);
    assert.equal(crossed.outcome.status, 'failed', JSON.stringify(crossed.outcome));
    assert.equal(crossed.outcome.error.type, 'ConnectionNotFound', JSON.stringify(crossed.outcome));
    assert.match(crossed.outcome.error.message, /connection "llm-one" not found/);
    assert.deepEqual(one.requests, [], "the default tenant's endpoint was not called");

    // The connector types are checked both ways at submit, map bodies too.
    const checked = await stack.call(
      'POST',
      '/v1/definitions/validate',
      {
        id: unique('wrong-kind'),
        nodes: [
          ai('a', 'db-two'),
          {
            id: 't',
            type: 'task',
            connector: 'postgres',
            action: 'query',
            connection: 'llm-two',
            inputs: { sql: 'select 1' },
          },
          { id: 'm', type: 'map', items: '[1]', ai: { ...ai('x', 'nope'), id: undefined, type: undefined } },
        ],
      },
      admin,
    );
    assert.equal(checked.status, 400, JSON.stringify(checked.body));
    const problems = checked.body.error.details as Array<{ path: string; message: string }>;
    const at = (path: string) => problems.find((p) => p.path === path)?.message ?? JSON.stringify(problems);
    assert.match(
      at('/nodes/0/connection'),
      /connection "db-two" is a postgres connection; this call's connector is "ai"/,
    );
    assert.match(
      at('/nodes/1/connection'),
      /connection "llm-two" is a ai connection; this call's connector is "postgres"/,
    );
    assert.match(at('/nodes/2/ai/connection'), /connection "nope" not found/);
  });

  test('a replace (rotate) holds for the next run; a delete fails the next run, naming the connection', async () => {
    const id = unique('rotate');
    const definition = { id, nodes: [writesTo(id, ['db-one', 'db-one'], 'rotated').nodes[0]] };
    assert.equal((await stack.call('POST', '/v1/definitions', definition, admin)).status, 201);
    const before = await run(id);
    assert.equal(before.outcome.status, 'completed', JSON.stringify(before.outcome));
    const whoBefore = (await stack.call('GET', `/v1/runs/${before.runId}`, undefined, admin)).body.nodes.first.output
      .rows[0].who;
    assert.equal(whoBefore, roles[0]?.name);

    // Another role on the same database, and a new password: both only through the connection.
    const replaced = await stack.call(
      'PUT',
      '/v1/connections/db-one',
      {
        settings: pgSettings(databases[0] as TestDatabase, roles[2] as TestRole),
        secret_settings: { password: `${MARKER}-rotated` },
      },
      admin,
    );
    assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
    assert.equal(replaced.body.version, 2);
    assert.deepEqual(replaced.body.secret_settings, { password: '***' });
    const afterRotate = await run(id);
    assert.equal(afterRotate.outcome.status, 'completed', JSON.stringify(afterRotate.outcome));
    const whoAfter = (await stack.call('GET', `/v1/runs/${afterRotate.runId}`, undefined, admin)).body.nodes.first
      .output.rows[0].who;
    assert.equal(whoAfter, roles[2]?.name);

    // Only the secret settings: the settings stay.
    const rotated = await stack.call(
      'PUT',
      '/v1/connections/db-one',
      { secret_settings: { password: `${MARKER}-again` } },
      admin,
    );
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    assert.equal(rotated.body.version, 3);
    assert.equal(rotated.body.settings.user, roles[2]?.name);

    assert.equal((await stack.call('DELETE', '/v1/connections/db-one', undefined, admin)).status, 204);
    const deleted = await run(id);
    assert.equal(deleted.outcome.status, 'failed');
    assert.equal(deleted.outcome.error.type, 'ConnectionNotFound');
    assert.match(deleted.outcome.error.message, /connection "db-one" not found/);
    // The rotations, the delete and the first case's test are in the default tenant's audit log.
    const audit = await stack.call('GET', '/v1/audit?limit=1000', undefined, admin);
    assert.equal(audit.status, 200, JSON.stringify(audit.body));
    const entries = (audit.body.items as Array<{ action: string; target: string; tenant: string; status: number }>)
      .filter((e) => e.action.startsWith('connection.') && e.tenant === 'default' && e.status < 400)
      .map((e) => `${e.action} ${e.target}`);
    for (const entry of ['connection.test db-two', 'connection.replace db-one', 'connection.delete db-one']) {
      assert.ok(entries.includes(entry), `no "${entry}" in the audit log: ${JSON.stringify(entries)}`);
    }
    assert.equal(entries.filter((e) => e === 'connection.replace db-one').length, 2, JSON.stringify(entries));
    const everything =
      JSON.stringify([replaced.body, rotated.body, deleted.outcome, audit.body]) +
      (await seen(afterRotate.runId)) +
      written.join('');
    assert.ok(!everything.includes(MARKER), 'a secret setting showed');
  });

  test('bad bodies answer 400 naming the field; a connection keeps its name and connector', async () => {
    const bad = async (body: unknown, path: string, method = 'POST', url = '/v1/connections') => {
      const answer = await stack.call(method, url, body, admin);
      assert.equal(answer.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(answer.body)}`);
      const paths = (answer.body.error.details as Array<{ path: string }>).map((p) => p.path);
      assert.ok(
        paths.includes(path),
        `${JSON.stringify(body)}: expected a problem at ${path}, got ${JSON.stringify(answer.body)}`,
      );
      assert.ok(!JSON.stringify(answer.body).includes(MARKER), 'a refusal quoted a secret');
      return answer.body.error.details as Array<{ path: string; message: string }>;
    };
    const settings = { host: '127.0.0.1', database: 'x', user: 'u' };
    await bad({ connector: 'postgres', settings }, '/name');
    await bad({ name: 'Bad Name', connector: 'postgres', settings }, '/name');
    await bad({ name: 'x1', connector: 'postgres', settings, extra: 1 }, '');
    await bad({ name: 'x1', connector: 'ftp', settings }, '/connector');
    const keyless = await bad(
      { name: 'x1', connector: 'ai', settings: { base_url: 'http://llm.internal/v1' } },
      '/secret_settings/api_key',
    );
    assert.ok(keyless.length === 1, JSON.stringify(keyless));
    await bad(
      { name: 'x1', connector: 'ai', settings: { base_url: 'http://llm.internal/v1', api_key: MARKER } },
      '/settings',
    );
    await bad(
      { name: 'x1', connector: 'ai', settings: { base_url: 'llm.internal' }, secret_settings: { api_key: 'k' } },
      '/settings/base_url',
    );
    await bad(
      {
        name: 'x1',
        connector: 'ai',
        settings: { base_url: 'http://llm.internal/v1' },
        secret_settings: { api_key: 'k', org: 'o' },
      },
      '/secret_settings',
    );
    await bad({ name: 'x1', connector: 'postgres', settings: { ...settings, port: 'five' } }, '/settings/port');
    const misplaced = await bad(
      { name: 'x1', connector: 'postgres', settings: { ...settings, password: MARKER } },
      '/settings',
    );
    assert.match(misplaced[0]?.message ?? '', /secret_settings/);
    await bad({ name: 'x1', connector: 'postgres', settings, secret_settings: { passwd: MARKER } }, '/secret_settings');
    await bad({ name: 'x1', connector: 'http', settings: { base_url: 'ftp://x' } }, '/settings/base_url');
    await bad({ name: 'x1', connector: 'redis', settings: { host: 'h', db: 99 } }, '/settings/db');
    assert.equal((await create('db-two-b', 1, roles[1] as TestRole)).status, 201);
    assert.equal((await create('db-two-b', 1, roles[1] as TestRole)).status, 409);
    await bad({ connector: 'redis' }, '/connector', 'PUT', '/v1/connections/db-two-b');
    await bad({ name: 'other' }, '/name', 'PUT', '/v1/connections/db-two-b');
    await bad({ settings: { ...settings, port: 0 } }, '/settings/port', 'PUT', '/v1/connections/db-two-b');
    assert.equal((await stack.call('PUT', '/v1/connections/nothing', { settings }, admin)).status, 404);

    // A task's connection: of another connector, on a connector that takes none, a path without one.
    const definition = (task: Record<string, unknown>) => ({
      id: unique('bad-conn'),
      nodes: [{ id: 't', type: 'task', ...task }],
    });
    for (const [task, path, message] of [
      [
        { connector: 'redis', action: 'get', connection: 'db-two', inputs: { key: 'k' } },
        '/nodes/0/connection',
        /is a postgres connection/,
      ],
      [
        { connector: 'http', action: 'request', inputs: { url: '/orders' } },
        '/nodes/0/inputs/url',
        /needs a "connection"/,
      ],
      [
        { connector: 'postgres', action: 'query', connection: 'No Such', inputs: { sql: 'select 1' } },
        '/nodes/0/connection',
        /connection name/,
      ],
    ] as const) {
      const answer = await stack.call('POST', '/v1/definitions/validate', definition(task), admin);
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      const problem = (answer.body.error.details as Array<{ path: string; message: string }>).find(
        (p) => p.path === path,
      );
      assert.ok(problem, `${JSON.stringify(task)}: ${JSON.stringify(answer.body)}`);
      assert.match(problem.message, message);
    }
  });
});

test('the test route connects to nats and names the target of a failure', async () => {
  const stack = await startTestStack({ worker: false, env: { WEFT_CONNECTION_KEY: KEY } });
  const nats = process.env.WEFT_TEST_NATS_URL ?? '127.0.0.1:4222';
  const revoke = allowEgress(nats, '127.0.0.1:1');
  try {
    const good = await stack.call('POST', '/v1/connections', {
      name: 'bus',
      connector: 'nats',
      settings: { servers: [nats] },
    });
    assert.equal(good.status, 201, JSON.stringify(good.body));
    const works = await stack.call('POST', '/v1/connections/bus/test', {});
    assert.deepEqual([works.status, works.body.ok], [200, true], JSON.stringify(works.body));
    const bad = await stack.call('POST', '/v1/connections', {
      name: 'nowhere',
      connector: 'nats',
      settings: { servers: ['127.0.0.1:1'] },
      secret_settings: { password: MARKER },
    });
    assert.equal(bad.status, 201, JSON.stringify(bad.body));
    const fails = await stack.call('POST', '/v1/connections/nowhere/test', {});
    assert.equal(fails.status, 200);
    assert.equal(fails.body.ok, false);
    assert.match(fails.body.error.message, /^nats 127\.0\.0\.1:1 via connection "nowhere"/);
    assert.ok(!JSON.stringify(fails.body).includes(MARKER));
    const extra = await stack.call('POST', '/v1/connections/bus/test', { verbose: true });
    assert.equal(extra.status, 400, 'the test takes no fields');
  } finally {
    revoke();
    await stack.close();
  }
});

for (const store of STORES) {
  describe(`named connections on the ${store} store`, () => {
    let stack: TestStack;
    before(async () => {
      stack = await startTestStack({ store, worker: false, env: { WEFT_CONNECTION_KEY: KEY } });
    });
    after(async () => {
      await stack?.close();
    });

    test('create, list, get, replace and delete; the secret settings are stored sealed', async () => {
      const created = await stack.call('POST', '/v1/connections', {
        name: 'api',
        connector: 'http',
        settings: { base_url: 'https://api.example.com/v1', headers: { accept: 'application/json' } },
        secret_settings: { headers: { authorization: `Bearer ${MARKER}` } },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.deepEqual(created.body.secret_settings, { headers: { authorization: '***' } });
      assert.equal(created.body.created_by, created.body.updated_by);
      const listed = await stack.call('GET', '/v1/connections');
      assert.deepEqual(
        (listed.body.items as Array<{ name: string }>).map((c) => c.name),
        ['api'],
      );
      const replaced = await stack.call('PUT', '/v1/connections/api', {
        settings: { base_url: 'https://api2.example.com' },
      });
      assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
      assert.equal(replaced.body.version, 2);
      assert.deepEqual(replaced.body.settings, { base_url: 'https://api2.example.com', headers: {} });
      assert.deepEqual(replaced.body.secret_settings, { headers: { authorization: '***' } }, 'kept when left out');
      const opened = await openDefinitionStore(stack.config.databaseUrl);
      const row = await opened.connections.get('default', 'api').finally(() => opened.close());
      assert.ok(row && row.sealed_secrets.startsWith('v1:') && !row.sealed_secrets.includes(MARKER));
      assert.ok(!JSON.stringify([created.body, listed.body, replaced.body]).includes(MARKER));
      assert.equal((await stack.call('DELETE', '/v1/connections/api')).status, 204);
      assert.equal((await stack.call('GET', '/v1/connections/api')).status, 404);
      assert.equal((await stack.call('DELETE', '/v1/connections/api')).status, 404);
    });
  });
}

test('without WEFT_CONNECTION_KEY no connection is stored, with a clear error', async () => {
  const stack = await startTestStack({ worker: false });
  try {
    const answer = await stack.call('POST', '/v1/connections', {
      name: 'db',
      connector: 'postgres',
      settings: { host: '127.0.0.1', database: 'x', user: 'u' },
    });
    assert.equal(answer.status, 409, JSON.stringify(answer.body));
    assert.match(answer.body.error.message, /WEFT_CONNECTION_KEY/);
    assert.deepEqual((await stack.call('GET', '/v1/connections')).body.items, []);
  } finally {
    await stack.close();
  }
});
