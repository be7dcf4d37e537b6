/**
 * The acceptance scenario: ONE definition, started through the Temporal client, that fetches
 * support tickets over `http`, stores them in PostgreSQL in one parameterised `transaction`,
 * has the model classify them under a JSON Schema `output_mapping`, publishes the
 * classification on NATS and emails a summary over SMTP. Every effect is checked where it
 * landed (table rows, the model's request log, the NATS message, the received mail), and so
 * are the run's result, node states and cost (the price-table arithmetic).
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import type { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { SMTPServer, type SMTPServerEnvelope } from 'smtp-server';
import { ConnectorRegistry } from '../../activities/connectors/registry.js';
import type { RunningWorker } from '../../src/worker/create-worker.js';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { runState, startRun } from '../support/runs.js';
import { connectClient, startTestWorker, unique } from '../support/temporal.js';
import { egressEntry } from '../support/egress.js';
import { createLeastPrivilegeRole, type TestRole } from '../support/postgres.js';

const DATABASE = process.env.WEFT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const NATS = process.env.WEFT_TEST_NATS_URL ?? '127.0.0.1:4222';
const MODEL = 'gpt-test-mini';
const PRICE = { input_per_1m: 0.15, output_per_1m: 0.6 };
const USAGE = { prompt_tokens: 412, completion_tokens: 57 };
const table = unique('weft_tickets').replace(/-/g, '_');
const subject = `${unique('weft').replace(/-/g, '_')}.tickets.classified`;
const taskQueue = unique('pipeline');

const TICKETS = [
  { id: 101, customer: "O'Brien'); DROP TABLE x; --", subject: 'Crash on save', text: 'The editor crashes on save.' },
  { id: 102, customer: 'Zoë Müller', subject: 'Double charge', text: 'I was charged twice in March.' },
  { id: 103, customer: 'Ada', subject: 'Export', text: 'How do I export my data to CSV?' },
];
const CLASSIFICATION = {
  tickets: [
    { id: 101, category: 'bug', urgent: true },
    { id: 102, category: 'billing', urgent: true },
    { id: 103, category: 'how-to', urgent: false },
  ],
  summary: 'Two urgent tickets: a crash and a double charge.',
};
const CATEGORIES = ['bug', 'billing', 'how-to'];
const LABEL = {
  type: 'object',
  properties: { id: { type: 'integer' }, category: { enum: CATEGORIES }, urgent: { type: 'boolean' } },
  required: ['id', 'category', 'urgent'],
  additionalProperties: false,
};
const SCHEMA = {
  type: 'object',
  properties: { tickets: { type: 'array', items: LABEL }, summary: { type: 'string' } },
  required: ['tickets', 'summary'],
  additionalProperties: false,
};

const mails: Array<{ envelope: SMTPServerEnvelope; raw: string }> = [];
let smtp: SMTPServer, target: HttpTarget, fake: FakeOpenAi, db: pg.Client, nc: NatsConnection;
let worker: RunningWorker, client: Client, connection: Connection;
let role: TestRole;

before(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({ envelope: session.envelope, raw: Buffer.concat(chunks).toString() });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  target = await startHttpTarget({ '/tickets': (_req, res) => json(res, 200, { tickets: TICKETS }) });
  fake = await startFakeOpenAi();
  db = new pg.Client({ connectionString: DATABASE });
  await db.connect();
  await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, customer text, subject text, body text, run text)`);
  // The connector runs as a least-privilege role (superusers are refused by default).
  role = await createLeastPrivilegeRole(DATABASE);
  await role.grantTable(table);
  const smtpPort = (smtp.server.address() as AddressInfo).port;
  nc = await connect({ servers: NATS });
  worker = await startTestWorker(taskQueue, {
    registry: new ConnectorRegistry({
      env: {
        WEFT_POSTGRES_URL: role.url,
        WEFT_NATS_URL: NATS,
        WEFT_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
        // Exactly the local services this test uses (the http target allows itself).
        WEFT_EGRESS_ALLOW: [egressEntry(DATABASE), egressEntry(NATS), `127.0.0.1:${smtpPort}`].join(','),
        WEFT_SMTP_FROM: 'Weft <weft@example.test>',
      },
    }),
    activityDeps: {
      ai: { baseURL: fake.url, apiKey: fake.apiKey, models: { triage: MODEL }, prices: { [MODEL]: PRICE } },
    },
  });
  ({ client, connection } = await connectClient());
});

after(async () => {
  await worker?.shutdown();
  await connection?.close();
  await nc?.drain();
  await db?.query(`DROP TABLE IF EXISTS ${table}`);
  await role?.drop();
  await db?.end();
  await fake?.close();
  await target?.close();
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
});

const NODES = ['fetch', 'store', 'classify', 'publish', 'notify'];
const tickets = 'nodes.fetch.output.body.tickets';
const once = { max_attempts: 1 };
const task = (id: string, connector: string, action: string, inputs: object) => {
  return { id, type: 'task', connector, action, inputs, retry_policy: once };
};
const pipeline = (ticketsUrl: string) => ({
  id: 'ticket-triage',
  name: 'Ticket triage',
  variables: [{ name: 'recipients', type: 'array', required: true }],
  nodes: [
    task('fetch', 'http', 'request', { url: ticketsUrl, query: { status: 'open' } }),
    task('store', 'postgres', 'transaction', {
      statements: `{{ ( $run := run.id; [${tickets}.{ 'sql': 'INSERT INTO ${table} (id, customer, subject, body, run) VALUES ($1, $2, $3, $4, $5)', 'params': [id, customer, subject, text, $run] }] ) }}`,
    }),
    {
      id: 'classify',
      type: 'ai',
      model: 'triage',
      system: 'You triage support tickets.',
      prompt_template: `Classify these tickets:\n{{ $join(${tickets}.('#' & id & ' ' & subject & ': ' & text), '\n') }}`,
      output_mapping: SCHEMA,
      output: 'classification',
      retry_policy: once,
    },
    task('publish', 'nats', 'publish', {
      subject,
      data: "{{ { 'run': run.id, 'tickets': vars.classification.tickets } }}",
      headers: { 'x-weft-run': '{{ run.id }}' },
    }),
    task('notify', 'email', 'send', {
      to: '{{ vars.recipients }}',
      subject:
        'Triage: {{ $count(vars.classification.tickets) }} tickets, {{ $count(vars.classification.tickets[urgent]) }} urgent',
      text: "{{ vars.classification.summary }}\n{{ $join(vars.classification.tickets.('#' & id & ' ' & category & (urgent ? ' URGENT' : '')), '\n') }}",
    }),
  ],
  edges: NODES.slice(1).map((to, i) => ({ from: NODES[i], to })),
});

/** The next message on a subject. */
async function nextMessage(sub: AsyncIterable<Msg>): Promise<Msg> {
  for await (const msg of sub) return msg;
  throw new Error('subscription closed');
}

test('one definition: http → postgres → ai → nats → email, every effect real', async () => {
  fake.enqueue({ json: CLASSIFICATION, usage: USAGE });
  const published = nextMessage(nc.subscribe(subject, { max: 1 }));
  await nc.flush();
  const recipients = ['support-lead@example.test', 'oncall@example.test'];
  const handle = await startRun(client, taskQueue, pipeline(`${target.url}/tickets`), { recipients });
  const runId = handle.workflowId;
  const result = (await handle.result()) as Record<string, unknown>;

  // The run: every node completed once; its variables are its result; the cost is the price table's.
  const state = await runState(handle);
  assert.equal(state.status, 'completed');
  for (const node of NODES) {
    assert.equal(state.nodes[node]?.status, 'completed', `${node}: ${JSON.stringify(state.nodes[node])}`);
    assert.equal(state.nodes[node]?.attempts, 1, node);
  }
  assert.deepEqual(result, { recipients, classification: CLASSIFICATION });
  const usd = (USAGE.prompt_tokens * PRICE.input_per_1m + USAGE.completion_tokens * PRICE.output_per_1m) / 1e6;
  assert.ok(state.cost.usd > 0);
  assert.ok(Math.abs(state.cost.usd - usd) < 1e-12, `cost ${state.cost.usd} ≠ ${usd}`);
  assert.deepEqual(state.cost.tokens, { input: USAGE.prompt_tokens, output: USAGE.completion_tokens });
  assert.ok(Math.abs((state.nodes.classify?.cost?.usd ?? 0) - usd) < 1e-12);

  // (a) the ticket list was fetched once, with its query.
  assert.equal(target.count('/tickets'), 1);
  assert.deepEqual(target.requests[0]?.query, { status: 'open' });

  // (b) one row per ticket, values bound as parameters (the quote-laden name is stored as is).
  const rows = await db.query(`SELECT id, customer, subject, body, run FROM ${table} ORDER BY id`);
  assert.deepEqual(
    rows.rows,
    TICKETS.map((t) => ({ id: t.id, customer: t.customer, subject: t.subject, body: t.text, run: runId })),
  );
  assert.deepEqual(state.nodes.store?.output, { results: TICKETS.map(() => ({ rows: [], row_count: 1 })) });

  // (c) one model call, on the real model name, carrying every ticket and the schema.
  assert.equal(fake.requests.length, 1);
  const request = fake.requests[0]?.body;
  assert.equal(request.model, MODEL);
  assert.deepEqual(request.messages[0], { role: 'system', content: 'You triage support tickets.' });
  const prompt = String(request.messages.at(-1).content);
  for (const t of TICKETS) assert.ok(prompt.includes(`#${t.id} ${t.subject}: ${t.text}`), prompt);
  assert.equal(request.response_format?.type, 'json_schema');
  assert.deepEqual(request.response_format.json_schema.schema, SCHEMA);

  // (d) the classification on NATS, with the run's id.
  const msg = await published;
  assert.deepEqual(msg.json(), { run: runId, tickets: CLASSIFICATION.tickets });
  assert.equal(msg.headers?.get('x-weft-run'), runId);

  // (e) the summary mail.
  assert.equal(mails.length, 1);
  const mail = mails[0]!;
  const [headers, text] = mail.raw.replace(/\r\n$/, '').split('\r\n\r\n');
  const rcpt = mail.envelope.rcptTo.map((r) => r.address);
  assert.equal(mail.envelope.mailFrom ? mail.envelope.mailFrom.address : undefined, 'weft@example.test');
  assert.deepEqual(rcpt, recipients);
  assert.match(headers ?? '', /^Subject: Triage: 3 tickets, 2 urgent$/m);
  assert.match(headers ?? '', /^To: support-lead@example\.test, oncall@example\.test$/m);
  assert.match(headers ?? '', /^Content-Transfer-Encoding: 7bit$/m);
  assert.equal(text, `${CLASSIFICATION.summary}\r\n#101 bug URGENT\r\n#102 billing URGENT\r\n#103 how-to`);
  assert.deepEqual((state.nodes.notify?.output as { accepted: string[] }).accepted, recipients);
});
