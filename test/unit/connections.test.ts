/**
 * What a named connection stands for: the connector settings built from its fields (the same
 * variables a worker-level default sets), over the worker's own; and the sealing of its secret
 * settings, bound to tenant, name, connector and version.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { CONNECTION_TYPES, aiEndpointOf, connectionEnv, connectionSecretValues } from '../../activities/connections.js';
import { connectionProblems } from '../../src/gateway/connection-checks.js';
import { WorkflowDefinition } from '../../interpreter/definition-schema.js';
import { connectionKeyBytes, seal, unseal } from '../../src/connections/connection-crypto.js';

const resolved = (connector: string, settings: Record<string, unknown>, secret_settings: Record<string, unknown>) => {
  const type = CONNECTION_TYPES[connector];
  assert.ok(type);
  return {
    name: 'c',
    connector,
    version: 1,
    settings: type.settings.parse(settings),
    secret_settings: type.secrets.parse(secret_settings),
  };
};

test('postgres: a URL with the user and password encoded, TLS and pool size; the worker’s egress entries stay', () => {
  const env = connectionEnv(
    resolved(
      'postgres',
      { host: 'db.internal', database: 'app', user: 'weft app', ssl: true, pool_max: 3 },
      { password: 'p@ss:/w#rd' },
    ),
    { WEFT_EGRESS_ALLOW: 'db.internal:5432', WEFT_POSTGRES_URL: 'postgres://worker@elsewhere/db' },
  );
  assert.equal(env.WEFT_POSTGRES_URL, 'postgres://weft%20app:p%40ss%3A%2Fw%23rd@db.internal:5432/app?sslmode=require');
  const url = new URL(env.WEFT_POSTGRES_URL ?? '');
  assert.equal(decodeURIComponent(url.password), 'p@ss:/w#rd');
  assert.equal(env.WEFT_POSTGRES_POOL_MAX, '3');
  assert.equal(env.WEFT_EGRESS_ALLOW, 'db.internal:5432');
});

test('redis: database, user, password and TLS', () => {
  const env = connectionEnv(
    resolved('redis', { host: '10.0.0.5', db: 2, username: 'app', tls: true }, { password: 's3cret' }),
    {},
  );
  assert.equal(env.WEFT_REDIS_URL, 'rediss://app:s3cret@10.0.0.5:6379/2');
  assert.equal(connectionEnv(resolved('redis', { host: 'h' }, {}), {}).WEFT_REDIS_URL, 'redis://h:6379/0');
});

test('http: base URL and headers, secret ones over shown ones; secret values listed for masking', () => {
  const connection = resolved(
    'http',
    { base_url: 'https://api.example.com/v1', headers: { accept: 'application/json', 'x-key': 'shown' } },
    { headers: { 'x-key': 'hidden', authorization: 'Bearer t' } },
  );
  const env = connectionEnv(connection, {});
  assert.equal(env['weft.connection.http.base_url'], 'https://api.example.com/v1');
  assert.deepEqual(JSON.parse(env['weft.connection.http.headers'] ?? ''), {
    accept: 'application/json',
    'x-key': 'hidden',
    authorization: 'Bearer t',
  });
  assert.deepEqual(connectionSecretValues(connection), ['hidden', 'Bearer t']);
});

test('nats: every server with the user and password, TLS; email: smtp(s) URL and sender', () => {
  const natsEnv = connectionEnv(
    resolved(
      'nats',
      { servers: ['n1.internal:4222', 'n2.internal:4223'], user: 'app', tls: true },
      { password: 'p:w' },
    ),
    {},
  );
  assert.equal(natsEnv.WEFT_NATS_URL, 'tls://app:p%3Aw@n1.internal:4222,tls://app:p%3Aw@n2.internal:4223');
  assert.equal(connectionEnv(resolved('nats', { servers: ['n:4222'] }, {}), {}).WEFT_NATS_URL, 'nats://n:4222');
  const mail = connectionEnv(
    resolved(
      'email',
      { host: 'mail.internal', port: 465, secure: true, user: 'bot', from: 'bot@example.com' },
      { password: 'x' },
    ),
    {},
  );
  assert.equal(mail.WEFT_SMTP_URL, 'smtps://bot:x@mail.internal:465');
  assert.equal(mail.WEFT_SMTP_FROM, 'bot@example.com');
  assert.equal(connectionEnv(resolved('email', { host: 'm' }, {}), {}).WEFT_SMTP_URL, 'smtp://m');
});

test('settings are strict: secrets in settings, unknown fields and bad values are refused', () => {
  const pg = CONNECTION_TYPES.postgres;
  assert.ok(pg);
  assert.equal(pg.settings.safeParse({ host: 'h', database: 'd', user: 'u', password: 'x' }).success, false);
  assert.equal(pg.settings.safeParse({ host: 'h d', database: 'd', user: 'u' }).success, false);
  assert.equal(pg.secrets.safeParse({ pass: 'x' }).success, false);
  const http = CONNECTION_TYPES.http;
  assert.ok(http);
  assert.equal(http.settings.safeParse({ base_url: 'https://u:p@api.example.com' }).success, false);
  assert.equal(http.settings.safeParse({ base_url: 'https://api.example.com/?k=1' }).success, false);
});

test('ai: base URL, organization and key make the endpoint; the key is a secret value; fields are strict', () => {
  const connection = resolved(
    'ai',
    { base_url: 'https://llm.internal/v1', organization: 'org-1' },
    { api_key: 'sk-secret' },
  );
  assert.deepEqual(aiEndpointOf(connection), {
    baseURL: 'https://llm.internal/v1',
    apiKey: 'sk-secret',
    organization: 'org-1',
  });
  assert.deepEqual(connectionSecretValues(connection), ['sk-secret']);
  const ai = CONNECTION_TYPES.ai;
  assert.ok(ai);
  const refused = (schema: typeof ai.settings, value: unknown) => {
    const parsed = schema.safeParse(value);
    assert.equal(parsed.success, false, JSON.stringify(value));
    return parsed.error?.issues.map((i) => `${i.path.join('/')}: ${i.message}`).join('; ') ?? '';
  };
  assert.match(refused(ai.secrets, {}), /^api_key: /);
  assert.match(refused(ai.secrets, { api_key: 'k', org: 'o' }), /org/);
  assert.match(refused(ai.settings, { base_url: 'https://llm.internal', api_key: 'k' }), /api_key/);
  assert.match(
    refused(ai.settings, { base_url: 'ftp://llm.internal' }),
    /^base_url: expected an absolute http\(s\) URL/,
  );
  assert.match(refused(ai.settings, { base_url: 'https://u:p@llm.internal' }), /secret_settings\.api_key/);
  assert.match(refused(ai.settings, { base_url: 'https://llm.internal/v1?key=1' }), /query/);
  assert.match(refused(ai.settings, {}), /^base_url: /);
});

test("ai nodes' and map bodies' connection: checked like a task's, against ai connections", () => {
  const definition = WorkflowDefinition.parse({
    id: 'd',
    nodes: [
      { id: 'a', type: 'ai', model: 'm', prompt_template: 'p', connection: 'llm' },
      { id: 'b', type: 'ai', model: 'm', prompt_template: 'p', connection: 'db' },
      { id: 'c', type: 'ai', model: 'm', prompt_template: 'p' },
      { id: 'm', type: 'map', items: '[1]', ai: { model: 'm', prompt_template: 'p', connection: 'gone' } },
      { id: 't', type: 'task', connector: 'postgres', action: 'query', connection: 'llm', inputs: {} },
    ],
  });
  const problems = connectionProblems(
    definition,
    new Map([
      ['llm', 'ai'],
      ['db', 'postgres'],
    ]),
  );
  assert.deepEqual(problems, [
    {
      path: '/nodes/1/connection',
      message: 'connection "db" is a postgres connection; this call\'s connector is "ai"',
    },
    {
      path: '/nodes/3/ai/connection',
      message:
        'connection "gone" not found: the tenant has no connection of that name (GET /v1/connections lists them)',
    },
    {
      path: '/nodes/4/connection',
      message: 'connection "llm" is a ai connection; this call\'s connector is "postgres"',
    },
  ]);
  // A bad name is refused by the schema, at the field.
  const badName = WorkflowDefinition.safeParse({
    id: 'd',
    nodes: [{ id: 'a', type: 'ai', model: 'm', prompt_template: 'p', connection: 'Bad Name' }],
  });
  assert.deepEqual(
    badName.error?.issues.map((i) => [i.path.join('/'), i.message]),
    [['nodes/0/connection', 'expected a connection name: 1-63 of a-z, 0-9, "-", "_", starting with a letter or digit']],
  );
});

test('sealed secrets open only with the key, for the same tenant, name, connector and version', () => {
  const key = randomBytes(32);
  const to = { tenant: 't', name: 'db', connector: 'postgres', version: 2 };
  const sealed = seal(key, to, { password: 'pw' });
  assert.ok(sealed.startsWith('v1:') && !sealed.includes('pw'));
  assert.deepEqual(unseal(key, to, sealed), { password: 'pw' });
  assert.throws(() => unseal(randomBytes(32), to, sealed), /do not decrypt/);
  for (const other of [{ tenant: 'u' }, { name: 'db2' }, { connector: 'redis' }, { version: 3 }]) {
    assert.throws(() => unseal(key, { ...to, ...other }, sealed), /do not decrypt/, JSON.stringify(other));
  }
  assert.equal(connectionKeyBytes(randomBytes(32).toString('base64'))?.length, 32);
  assert.equal(connectionKeyBytes(randomBytes(16).toString('base64')), undefined);
  assert.equal(connectionKeyBytes('not base64!'), undefined);
});
