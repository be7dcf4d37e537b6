/**
 * Connector failures name the target they hit, and never a credential of its setting: through
 * a real Temporal worker against the local PostgreSQL, Redis and NATS, an SMTP server and an
 * HTTP server run in this process, each provoked to fail (a database that does not exist, a
 * refused port, a bad statement or command, refused credentials, a 404). Every setting carries
 * a password or token, which no message may show; types and retries stay what they were.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { ConnectorRegistry } from '../../activities/connectors/registry.js';
import { startActivityWorker, type ActivityWorker } from '../support/activity-worker.js';
import { egressEntry } from '../support/egress.js';
import { startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { createLeastPrivilegeRole, POSTGRES_ADMIN_URL, type TestRole } from '../support/postgres.js';
import type { CallOutcome } from '../support/test-workflows.js';

const SECRET = `pw-${randomBytes(8).toString('hex')}`;
const REDIS = process.env.WEFT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const NATS = process.env.WEFT_TEST_NATS_URL ?? '127.0.0.1:4222';
const CLOSED = '127.0.0.1:1';
/** A port nobody listens on that fetch is willing to try (it refuses port 1 itself). */
let closedHttp: string;
const postgresServer = egressEntry(POSTGRES_ADMIN_URL);
const redisServer = egressEntry(REDIS);
const natsServer = egressEntry(NATS);
const database = new URL(POSTGRES_ADMIN_URL).pathname.slice(1) || 'postgres';
/** `text` as a literal inside a RegExp. */
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const missingDatabase = `weft_missing_${randomBytes(4).toString('hex')}`;

let role: TestRole;
let smtp: SMTPServer;
let smtpServer: string;
let http: HttpTarget;
/** Settings that work (bad statements and commands fail); every URL carries the secret. */
let reachable: ActivityWorker;
/** Every connector pointed at a port nobody listens on. */
let refused: ActivityWorker;
/** Servers that are up, but a database that does not exist and a Redis user that does not. */
let wrong: ActivityWorker;

/** `url` with the secret as its password. */
function withPassword(url: string, user?: string): string {
  const u = new URL(url);
  if (user !== undefined) u.username = user;
  u.password = SECRET;
  return u.toString();
}

before(async () => {
  role = await createLeastPrivilegeRole(POSTGRES_ADMIN_URL);
  smtp = new SMTPServer({
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth: (_auth, _session, callback) => callback(new Error('credentials refused')),
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  smtpServer = `127.0.0.1:${(smtp.server.address() as AddressInfo).port}`;
  http = await startHttpTarget({
    '/to-credentials': (_req, res) => {
      res.writeHead(302, { location: `http://user:${SECRET}@127.0.0.1:1/` }).end();
    },
  });
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedHttp = `127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const allow = [postgresServer, redisServer, natsServer, smtpServer, CLOSED, closedHttp].join(',');
  const start = (env: Record<string, string>) =>
    startActivityWorker({ registry: new ConnectorRegistry({ env: { ...env, WEFT_EGRESS_ALLOW: allow } }) });
  [reachable, refused, wrong] = await Promise.all([
    start({
      WEFT_POSTGRES_URL: withPassword(role.url),
      WEFT_REDIS_URL: `${REDIS.replace(/\/$/, '')}/3`,
      WEFT_NATS_URL: `nats://weft:${SECRET}@${natsServer}`,
      WEFT_SMTP_URL: `smtp://mailer:${SECRET}@${smtpServer}`,
      WEFT_SMTP_FROM: 'weft@example.test',
    }),
    start({
      WEFT_POSTGRES_URL: `postgres://${role.name}:${SECRET}@${CLOSED}/test`,
      WEFT_REDIS_URL: `redis://:${SECRET}@${CLOSED}`,
      WEFT_NATS_URL: `nats://weft:${SECRET}@${CLOSED}`,
      WEFT_SMTP_URL: `smtp://mailer:${SECRET}@${CLOSED}`,
      WEFT_SMTP_FROM: 'weft@example.test',
    }),
    start({
      WEFT_POSTGRES_URL: withPassword(Object.assign(new URL(role.url), { pathname: `/${missingDatabase}` }).href),
      WEFT_REDIS_URL: withPassword(REDIS, 'weft-nobody'),
    }),
  ]);
});

after(async () => {
  await Promise.all([reachable, refused, wrong].map((w) => w?.shutdown()));
  await role?.drop();
  await http?.close();
  await new Promise<void>((resolve) => smtp?.close(() => resolve()));
});

async function failure(on: ActivityWorker, connector: string, action: string, params: unknown, attempts = 1) {
  const outcome: CallOutcome = await on.call(
    'runConnector',
    { connector, action, params },
    { maximumAttempts: attempts },
  );
  if (outcome.ok) throw new Error(`expected ${connector}.${action} to fail`);
  const { message } = outcome.error;
  assert.ok(!message.includes(SECRET), `the password is in: ${message}`);
  assert.ok(!/[a-z]+:\/\/[^/\s]*@/.test(message), `a URL with credentials is in: ${message}`);
  return outcome.error;
}

const mail = { to: 'ada@example.test', subject: 's', text: 't' };

describe('connector failures name their target', () => {
  test('postgres: a bad statement names host:port/database', async () => {
    const error = await failure(reachable, 'postgres', 'query', { sql: 'SELECT * FROM weft_no_such_table' });
    assert.equal(error.type, 'SqlError');
    assert.equal(error.nonRetryable, true);
    assert.match(
      error.message,
      new RegExp(
        `^postgres ${literal(`${postgresServer}/${database}`)}: SQL error 42P01: relation "weft_no_such_table"`,
      ),
    );

    const statement = await failure(reachable, 'postgres', 'transaction', {
      statements: [{ sql: 'SELECT 1' }, { sql: 'SELECT 1/0' }],
    });
    assert.match(
      statement.message,
      new RegExp(`^postgres ${literal(`${postgresServer}/${database}`)}: statement 2 of 2: SQL error 22012`),
    );
  });

  test('postgres: a database that does not exist is named, as the non-retryable SqlError it was', async () => {
    const error = await failure(wrong, 'postgres', 'query', { sql: 'SELECT 1' }, 2);
    assert.equal(error.type, 'SqlError');
    assert.equal(error.nonRetryable, true);
    assert.match(
      error.message,
      new RegExp(
        `^postgres ${literal(postgresServer)}/${missingDatabase}: SQL error 3D000: database "${missingDatabase}"`,
      ),
    );
  });

  test('postgres: a refused port is a retryable ConnectionError naming the server', async () => {
    const error = await failure(refused, 'postgres', 'query', { sql: 'SELECT 1' });
    assert.equal(error.type, 'ConnectionError');
    assert.equal(error.nonRetryable, false);
    assert.match(error.message, /^postgres 127\.0\.0\.1:1\/test: .*ECONNREFUSED/);
  });

  test('redis: an error reply and a refused port name host:port (and the database)', async () => {
    const key = `weft-targets:${randomBytes(4).toString('hex')}`;
    const set = await reachable.call(
      'runConnector',
      { connector: 'redis', action: 'set', params: { key, value: 'text', ttl: '1m' } },
      { maximumAttempts: 1 },
    );
    assert.ok(set.ok, JSON.stringify(set));
    const notANumber = await failure(reachable, 'redis', 'incr', { key });
    assert.equal(notANumber.type, 'RedisError');
    assert.match(notANumber.message, new RegExp(`^redis ${literal(redisServer)}/3: INCRBY ${key}: .*not an integer`));

    const down = await failure(refused, 'redis', 'get', { key });
    assert.equal(down.type, 'ConnectionError');
    assert.equal(down.nonRetryable, false);
    assert.match(down.message, /^redis 127\.0\.0\.1:1: cannot connect: .*ECONNREFUSED/);
  });

  test('redis: refused credentials name the server, not the password', async () => {
    const error = await failure(wrong, 'redis', 'get', { key: 'weft-targets' });
    assert.equal(error.type, 'ConnectionError');
    assert.match(error.message, new RegExp(`^redis ${literal(redisServer)}: cannot connect: `));
  });

  test('nats: nobody listening and a refused port name the servers', async () => {
    const subject = `weft.targets.${randomBytes(4).toString('hex')}`;
    const unanswered = await failure(reachable, 'nats', 'request', { subject });
    assert.equal(unanswered.type, 'NoResponders');
    assert.equal(unanswered.message, `nats ${natsServer}: request to "${subject}": nobody is listening`);

    const down = await failure(refused, 'nats', 'publish', { subject: 'weft.targets', data: 1 });
    assert.equal(down.type, 'ConnectionError');
    assert.match(down.message, /^nats 127\.0\.0\.1:1: cannot connect: /);
  });

  test('email: refused credentials and a refused port name the SMTP server', async () => {
    const login = await failure(reachable, 'email', 'send', mail);
    assert.equal(login.type, 'SmtpError');
    assert.equal(login.nonRetryable, true);
    assert.match(login.message, new RegExp(`^email ${literal(smtpServer)}: .*credentials refused`));

    const down = await failure(refused, 'email', 'send', mail);
    assert.equal(down.type, 'ConnectionError');
    assert.match(down.message, /^email 127\.0\.0\.1:1: .*ECONNREFUSED/);
  });

  test('http: the origin and path, without the query or the URL credentials', async () => {
    const missing = await failure(reachable, 'http', 'request', {
      url: `${http.url}/missing?api_key=${SECRET}`,
      query: { token: SECRET },
    });
    assert.equal(missing.type, 'HttpError');
    assert.equal(missing.nonRetryable, true);
    assert.equal(missing.message, `GET ${http.url}/missing answered 404 Not Found`);

    const down = await failure(refused, 'http', 'request', { url: `http://${closedHttp}/hook?sig=${SECRET}` });
    assert.equal(down.type, 'ConnectionError');
    assert.match(down.message, new RegExp(`^GET http://${literal(closedHttp)}/hook failed: .*ECONNREFUSED`));

    // fetch would refuse it quoting the whole URL: refused first, without quoting it.
    const credentials = await failure(refused, 'http', 'request', { url: `http://user:${SECRET}@${closedHttp}/hook` });
    assert.equal(credentials.type, 'InvalidParams');
    assert.equal(credentials.nonRetryable, true);
    assert.match(credentials.message, /url: expected a URL without user:password@/);

    const redirected = await failure(reachable, 'http', 'request', { url: `${http.url}/to-credentials` });
    assert.equal(redirected.type, 'HttpError');
    assert.equal(redirected.nonRetryable, true);
    assert.equal(redirected.message, `GET ${http.url}/to-credentials: redirect to a URL with user:password@`);
  });
});
