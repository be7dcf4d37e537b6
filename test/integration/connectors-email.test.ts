/**
 * The `email` connector through a real Temporal worker against a real SMTP server run in this
 * process (smtp-server): envelope and headers, partial and total refusal, missing settings, and
 * a named email connection (host, port, sender and password from the sealed connection alone).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SMTPServer, type SMTPServerEnvelope } from 'smtp-server';
import { ConnectorRegistry } from '../../activities/connectors/registry.js';
import { seal } from '../../src/connections/connection-crypto.js';
import { storeConnectionSource } from '../../src/connections/connection-source.js';
import { SqliteDefinitionStore } from '../../src/store/sqlite-store.js';
import { startActivityWorker, type ActivityWorker } from '../support/activity-worker.js';
import type { CallOutcome } from '../support/test-workflows.js';

interface Received {
  envelope: SMTPServerEnvelope;
  raw: string;
}

const received: Received[] = [];
/** Who logged in, and with which password. */
const logins: Array<{ username: string | undefined; password: string | null | undefined }> = [];
let smtp: SMTPServer;
let worker: ActivityWorker;
let unconfigured: ActivityWorker;
/** No WEFT_SMTP_* settings of its own: it reaches the server only through the named connection. */
let connected: ActivityWorker;
let dir: string;
let store: SqliteDefinitionStore;
const KEY = randomBytes(32);
const PASSWORD = `pw${randomBytes(8).toString('hex')}`;

before(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    // The connection's password travels in plain text to this local server only.
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, callback) {
      logins.push({ username: auth.username, password: auth.password });
      if (auth.username === 'mailer' && auth.password === PASSWORD) return callback(null, { user: auth.username });
      callback(new Error('invalid credentials'));
    },
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('unknown')) {
        return callback(Object.assign(new Error('no such mailbox'), { responseCode: 550 }));
      }
      if (address.address.startsWith('busy')) {
        return callback(Object.assign(new Error('mailbox busy, try later'), { responseCode: 450 }));
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({ envelope: session.envelope, raw: Buffer.concat(chunks).toString() });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const { port } = smtp.server.address() as AddressInfo;
  worker = await startActivityWorker({
    registry: new ConnectorRegistry({
      env: {
        WEFT_SMTP_URL: `smtp://127.0.0.1:${port}`,
        WEFT_SMTP_FROM: 'Weft <weft@example.test>',
        WEFT_EGRESS_ALLOW: `127.0.0.1:${port}`,
      },
    }),
  });
  unconfigured = await startActivityWorker({ registry: new ConnectorRegistry({ env: {} }) });
  dir = mkdtempSync(join(tmpdir(), 'weft-email-'));
  store = new SqliteDefinitionStore(join(dir, 'definitions.db'));
  const connection = { tenant: 'default', name: 'mailer', connector: 'email', version: 1 };
  const created = await store.connections.create(
    'default',
    {
      name: 'mailer',
      connector: 'email',
      settings: { host: '127.0.0.1', port, secure: false, user: 'mailer', from: 'Shop <shop@example.test>' },
      sealed_secrets: seal(KEY, connection, { password: PASSWORD }),
      secret_fields: ['password'],
    },
    'test',
  );
  assert.ok(created);
  connected = await startActivityWorker({
    registry: new ConnectorRegistry({ env: { WEFT_EGRESS_ALLOW: `127.0.0.1:${port}` } }),
    connections: storeConnectionSource(store.connections, KEY),
  });
});

after(async () => {
  await worker?.shutdown();
  await unconfigured?.shutdown();
  await connected?.shutdown();
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  await new Promise<void>((resolve) => smtp?.close(() => resolve()));
});

function send(params: unknown, maximumAttempts = 1, on = worker): Promise<CallOutcome> {
  return on.call('runConnector', { connector: 'email', action: 'send', params }, { maximumAttempts });
}

function sender(mail: Received | undefined): string | undefined {
  const from = mail?.envelope.mailFrom;
  return from ? from.address : undefined;
}

function failure(outcome: CallOutcome) {
  if (outcome.ok) throw new Error('expected the call to fail');
  return { ...outcome.error, attempt: (outcome.error.details[0] as { attempt: number }).attempt };
}

describe('email connector', () => {
  test('send: to, cc and bcc get the message; bcc is not in its headers; the default from is used', async () => {
    const outcome = await send({
      to: ['ada@example.test'],
      cc: 'grace@example.test',
      bcc: 'audit@example.test',
      subject: 'Order 42 shipped',
      text: 'It is on its way.',
      html: '<p>It is on its way.</p>',
    });
    assert.ok(outcome.ok, JSON.stringify(outcome));
    const output = (outcome.value as { output: any }).output;
    assert.match(output.message_id, /^<.+@example\.test>$/);
    assert.deepEqual(output.accepted, ['ada@example.test', 'grace@example.test', 'audit@example.test']);
    assert.deepEqual(output.rejected, []);

    const mail = received.at(-1);
    assert.equal(sender(mail), 'weft@example.test');
    assert.deepEqual(
      mail?.envelope.rcptTo.map((r) => r.address),
      ['ada@example.test', 'grace@example.test', 'audit@example.test'],
    );
    assert.match(mail?.raw ?? '', /^Subject: Order 42 shipped$/m);
    assert.match(mail?.raw ?? '', /^From: Weft <weft@example\.test>$/m);
    assert.match(mail?.raw ?? '', /^Cc: grace@example\.test$/m);
    assert.doesNotMatch(mail?.raw ?? '', /audit@example\.test/);
    assert.match(mail?.raw ?? '', /<p>It is on its way\.<\/p>/);
  });

  test('a refused recipient is listed in rejected while the others get the message', async () => {
    const outcome = await send({
      from: 'ops@example.test',
      to: ['ada@example.test', 'unknown@example.test'],
      subject: 'hi',
      text: 'x',
    });
    assert.ok(outcome.ok, JSON.stringify(outcome));
    const output = (outcome.value as { output: any }).output;
    assert.deepEqual(output.accepted, ['ada@example.test']);
    assert.deepEqual(output.rejected, ['unknown@example.test']);
    assert.equal(sender(received.at(-1)), 'ops@example.test');
  });

  test('all recipients refused: 5xx is a non-retryable SmtpError, 4xx a retryable one', async () => {
    const permanent = failure(await send({ to: 'unknown@example.test', subject: 's', text: 't' }, 3));
    assert.equal(permanent.type, 'SmtpError');
    assert.equal(permanent.nonRetryable, true);
    assert.equal(permanent.attempt, 1);
    assert.match(permanent.message, /550/);

    const later = failure(await send({ to: 'busy@example.test', subject: 's', text: 't' }, 2));
    assert.equal(later.type, 'SmtpError');
    assert.equal(later.nonRetryable, false);
    assert.equal(later.attempt, 2);
  });

  test('no text nor html is InvalidParams; no WEFT_SMTP_URL is a non-retryable NotConfigured', async () => {
    const params = failure(await send({ to: 'ada@example.test', subject: 's' }, 3));
    assert.equal(params.type, 'InvalidParams');
    assert.match(params.message, /text: expected "text" or "html"/);

    const missing = failure(await send({ to: 'ada@example.test', subject: 's', text: 't' }, 3, unconfigured));
    assert.equal(missing.type, 'NotConfigured');
    assert.equal(missing.nonRetryable, true);
    assert.match(missing.message, /WEFT_SMTP_URL/);
  });

  test('through a named connection: its host, port, login and sender; the password never comes back', async () => {
    const before = received.length;
    const outcome = await connected.call(
      'runConnector',
      {
        connector: 'email',
        action: 'send',
        connection: 'mailer',
        params: { to: 'ada@example.test', subject: 'Via the connection', text: 'hello' },
      },
      { maximumAttempts: 1 },
    );
    assert.ok(outcome.ok, JSON.stringify(outcome));
    const output = (outcome.value as { output: any }).output;
    assert.deepEqual(output.accepted, ['ada@example.test']);
    assert.equal(received.length, before + 1, 'the sink got the message');
    const mail = received.at(-1);
    assert.equal(sender(mail), 'shop@example.test', "the connection's from");
    assert.match(mail?.raw ?? '', /^Subject: Via the connection$/m);
    assert.deepEqual(logins.at(-1), { username: 'mailer', password: PASSWORD }, "the connection's login");
    assert.ok(!JSON.stringify(outcome).includes(PASSWORD), 'the password showed in the outcome');

    // Without the connection the same worker has no SMTP server to send to.
    const bare = await connected.call(
      'runConnector',
      { connector: 'email', action: 'send', params: { to: 'ada@example.test', subject: 's', text: 't' } },
      { maximumAttempts: 1 },
    );
    assert.equal(bare.ok, false);
    if (!bare.ok) assert.equal(bare.error.type, 'NotConfigured');
  });
});
