/**
 * POST /v1/events end to end: event triggers start runs (filtered, once per event id), and the
 * early-event race through the gateway: an event sent right after a run starts, before it waits
 * for it, is kept by its mailbox and reaches the run once it waits (20 runs in a row).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { unique } from '../support/temporal.js';

let stack: TestStack;
let target: HttpTarget;

before(async () => {
  target = await startHttpTarget({ '/slow': (_req, res) => void setTimeout(() => json(res, 200, {}), 500) });
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
  await target?.close();
});

test('an event trigger starts a run of the active version, filtered, once per event id', async () => {
  const id = unique('on-signup');
  const type = unique('signup.created');
  await stack.call('POST', '/v1/definitions', {
    id,
    variables: [
      { name: 'plan', type: 'string' },
      { name: 'email', type: 'string' },
      { name: 'greeting', type: 'string' },
    ],
    triggers: [{ type: 'event', event_type: type, filters: 'event.payload.plan = "pro"' }],
    nodes: [{ id: 'greet', type: 'set', assign: { greeting: '"Welcome, " & vars.email' } }],
  });
  const first = await stack.call('POST', '/v1/events', {
    event_type: type,
    payload: { plan: 'pro', email: 'ada@example.org' },
    event_id: 'evt-1',
  });
  assert.equal(first.status, 202);
  assert.equal(first.body.started.length, 1);
  const again = await stack.call('POST', '/v1/events', {
    event_type: type,
    payload: { plan: 'pro', email: 'ada@example.org' },
    event_id: 'evt-1',
  });
  assert.deepEqual(again.body.started, []);
  const filtered = await stack.call('POST', '/v1/events', {
    event_type: type,
    payload: { plan: 'free', email: 'bo@example.org' },
  });
  assert.deepEqual(filtered.body.started, []);
  const result = await stack.call('GET', `/v1/runs/${first.body.started[0]}/result?wait=true`);
  assert.equal(result.body.result.greeting, 'Welcome, ada@example.org');
});

test('an event posted right after a run starts is not lost (20 runs in a row)', async () => {
  const id = unique('race');
  const type = unique('payment.settled');
  await stack.call('POST', '/v1/definitions', {
    id,
    variables: [{ name: 'order', type: 'string', required: true }],
    nodes: [
      { id: 'prepare', type: 'task', connector: 'http', action: 'request', inputs: { url: `${target.url}/slow` } },
      { id: 'paid', type: 'event', event_type: type, correlation_key: 'vars.order', output: 'payment' },
    ],
    edges: [{ from: 'prepare', to: 'paid' }],
  });
  for (let i = 0; i < 20; i++) {
    const started = await stack.call('POST', `/v1/definitions/${id}/runs`, { input: { order: `o-${i}` } });
    const runId = started.body.run_id as string;
    const sent = await stack.call('POST', '/v1/events', {
      event_type: type,
      correlation_key: `o-${i}`,
      payload: { n: i },
    });
    assert.equal(sent.status, 202);
    // The run is most likely not waiting yet: its mailbox keeps the event until it registers.
    assert.ok(
      sent.body.delivered_to.every((r: string) => r === runId),
      `round ${i}: ${JSON.stringify(sent.body)}`,
    );
    const result = await stack.call('GET', `/v1/runs/${runId}/result?wait=true`);
    assert.deepEqual(result.body.result.payment, { n: i }, `round ${i}`);
  }
});

test("an event within the gateway's body limit but past Temporal's blob limit is 413 naming /payload, never 500", async () => {
  const type = unique('blob.too.large');
  // The body stays under WEFT_MAX_BODY_BYTES (2 MiB); the signal carrying it, with the event's
  // id and acceptance time added, passes Temporal's 2 MiB blob limit.
  const body = { event_type: type, correlation_key: 'k', payload: 'a'.repeat(2 * 1024 * 1024 - 120) };
  assert.ok(Buffer.byteLength(JSON.stringify(body)) < 2 * 1024 * 1024);
  const sent = await stack.call('POST', '/v1/events', body);
  assert.equal(sent.status, 413, JSON.stringify(sent.body).slice(0, 500));
  assert.equal(sent.body.error.code, 'payload_too_large');
  assert.equal(sent.body.error.details[0].path, '/payload');
  // The mailbox was not harmed: a normal event of the same type and key is accepted.
  const small = await stack.call('POST', '/v1/events', { event_type: type, correlation_key: 'k', payload: { ok: 1 } });
  assert.equal(small.status, 202, JSON.stringify(small.body));
});
