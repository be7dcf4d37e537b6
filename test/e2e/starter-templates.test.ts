/**
 * Every template of the starter library, instantiated through the gateway (`submit: true`) and
 * run to completion, or to its documented waiting state and then driven on (approve, deliver the
 * event, skip for the operator), against local services: a real HTTP server standing in for the
 * CRM, shop, billing, pager and warehouse APIs, the real PostgreSQL (a least-privilege role on a
 * database of its own) and a local OpenAI-compatible server for the `ai` nodes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { STARTER_TEMPLATES } from '../../src/templates/starter.js';
import type { FakeOpenAi } from '../support/fake-openai.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import type { HttpTarget } from '../support/http-target.js';
import { startStarterServices, type StarterServices } from '../support/starter-services.js';
import { unique } from '../support/temporal.js';
import { until as poll } from '../support/poll.js';

describe('the starter templates, each instantiated and run against local services', () => {
  let stack: TestStack;
  let services: StarterServices;
  let target: HttpTarget;
  let openai: FakeOpenAi;
  const ran = new Set<string>();

  before(async () => {
    services = await startStarterServices();
    ({ target, openai } = services);
    stack = await startTestStack();
  });

  after(async () => {
    await stack?.close();
    await services?.close();
  });

  const bodiesOf = (path: string) => services.bodiesOf(path);

  /** Instantiates a template with `submit: true` as definition `id`. */
  async function instantiate(template: string, parameters: Record<string, unknown>): Promise<string> {
    ran.add(template);
    const id = unique(template).toLowerCase().slice(0, 60);
    const response = await stack.call('POST', `/v1/templates/${template}/instantiate`, {
      id,
      parameters,
      submit: true,
    });
    assert.equal(response.status, 201, JSON.stringify(response.body));
    assert.deepEqual(response.body, { id, version: '1', created: true });
    return id;
  }

  async function start(id: string, input: Record<string, unknown>): Promise<string> {
    const response = await stack.call('POST', `/v1/definitions/${id}/runs`, { input });
    assert.equal(response.status, 201, JSON.stringify(response.body));
    return response.body.run_id as string;
  }

  async function outcome(runId: string): Promise<{ status: string; result?: any; error?: any }> {
    for (;;) {
      const response = await stack.call('GET', `/v1/runs/${runId}/result?wait=true`);
      assert.equal(response.status, 200, JSON.stringify(response.body));
      if (response.body.status !== 'running') return response.body;
    }
  }

  /** Polls the run state until `ready` holds (generous deadline: the machine is slow and shared). */
  async function until(runId: string, what: string, ready: (state: any) => boolean): Promise<any> {
    let last: unknown;
    return poll(
      () => `run ${runId} to reach "${what}": ${JSON.stringify(last)}`,
      async () => {
        const state = await stack.call('GET', `/v1/runs/${runId}`);
        last = state.body;
        return state.status === 200 && ready(state.body) ? state.body : undefined;
      },
      180_000,
      250,
    );
  }

  test('webhook lead enrichment: AI qualification, a qualified lead waits for approval, then reaches the CRM', async () => {
    const id = await instantiate('webhook-lead-enrichment', { crm_url: `${target.url}/crm`, min_score: 0.7 });
    openai.enqueue(
      { json: { segment: 'enterprise', score: 0.92, reason: 'large company, clear budget' } },
      { json: { segment: 'smb', score: 0.2, reason: 'a student project' } },
    );
    const hot = await start(id, { lead: { name: 'Lin', email: 'lin@acme.example' } });
    await until(hot, 'review waiting', (s) => s.nodes.review?.status === 'waiting');
    assert.equal(target.requests.find((r) => r.path === '/crm/companies')?.query.domain, 'acme.example');
    const approved = await stack.call('POST', `/v1/runs/${hot}/approvals/review`, { approved: true, comment: 'go' });
    assert.equal(approved.status, 202, JSON.stringify(approved.body));
    const done = await outcome(hot);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(done.result.outcome, 'qualified');
    const [lead] = bodiesOf('/crm/leads');
    assert.deepEqual(
      [lead?.segment, lead?.score, lead?.approved_by, lead?.company.name],
      ['enterprise', 0.92, 'local-dev', 'Acme'],
    );
    assert.equal(openai.requests[0]?.body.response_format?.type, 'json_schema');

    const cold = await start(id, { lead: { name: 'Sam', email: 'sam@uni.example' } });
    const nurtured = await outcome(cold);
    assert.equal(nurtured.result.outcome, 'nurture', JSON.stringify(nurtured));
    assert.equal(bodiesOf('/crm/nurture')[0]?.reason, 'a student project');
  });

  test('order saga: an order ships; a shipment that fails for good refunds, then releases, and the run fails', async () => {
    const id = await instantiate('order-saga', { service_url: `${target.url}/shop`, ship_attempts: 2 });
    const shipped = await outcome(await start(id, { order: { id: 'O-OK', items: [{ sku: 'X', qty: 1 }], total: 42 } }));
    assert.equal(shipped.status, 'completed', JSON.stringify(shipped));
    assert.equal(shipped.result.shipment.body.id, 'S-1');
    assert.equal(target.count('/shop/payments/refund'), 0);

    const failed = await outcome(await start(id, { order: { id: 'O-FAIL', items: [], total: 7 } }));
    assert.equal(failed.status, 'failed', JSON.stringify(failed));
    assert.equal(failed.error.type, 'HttpError');
    const undo = target.requests.filter((r) => r.path.endsWith('/refund') || r.path.endsWith('/release'));
    assert.deepEqual(
      undo.map((r) => [r.path, JSON.parse(r.body).order_id]),
      [
        ['/shop/payments/refund', 'O-FAIL'],
        ['/shop/inventory/reservations/release', 'O-FAIL'],
      ],
      'compensations in reverse completion order',
    );
    assert.equal(bodiesOf('/shop/payments/refund')[0]?.payment, 'P-1');
  });

  test('nightly fan-out report: its schedule is created; a run maps over the accounts, joins, and posts one report', async () => {
    const id = await instantiate('nightly-fanout-report', {
      source_url: `${target.url}/billing`,
      report_url: `${target.url}/reports/usage`,
      cron: '30 1 * * *',
      timezone: 'Europe/Paris',
      max_concurrency: 2,
    });
    const definition = await stack.call('GET', `/v1/definitions/${id}`);
    assert.deepEqual(definition.body.triggers, [{ type: 'schedule', cron: '30 1 * * *', timezone: 'Europe/Paris' }]);
    const report = await outcome(await start(id, {}));
    assert.equal(report.status, 'completed', JSON.stringify(report));
    assert.deepEqual(bodiesOf('/reports/usage'), [{ accounts: 3, total_events: 60, source_status: 'ok' }]);
  });

  test('payment wait: a payment event fulfils the order; no payment within the timeout cancels it', async () => {
    const id = await instantiate('payment-wait', { service_url: `${target.url}/shop`, payment_timeout: '10m' });
    const paid = await start(id, { order_id: 'O-PAID', amount: 42 });
    await until(paid, 'paid waiting', (s) => s.nodes.paid?.status === 'waiting');
    const delivered = await stack.call('POST', '/v1/events', {
      event_type: 'payment.settled',
      correlation_key: 'O-PAID',
      payload: { amount: 42 },
    });
    assert.equal(delivered.status, 202, JSON.stringify(delivered.body));
    const done = await outcome(paid);
    assert.equal(done.result.outcome, 'paid 42', JSON.stringify(done));
    assert.deepEqual(bodiesOf('/shop/orders/O-PAID/fulfil')[0]?.payment, { amount: 42 });

    const quick = await instantiate('payment-wait', { service_url: `${target.url}/shop`, payment_timeout: '2s' });
    const late = await outcome(await start(quick, { order_id: 'O-LATE', amount: 10 }));
    assert.equal(late.result.outcome, 'cancelled: not paid in time', JSON.stringify(late));
    assert.equal(bodiesOf('/shop/orders/O-LATE/cancel')[0]?.reason, 'not paid: Timeout');
  });

  test('document summary: the model answers in the schema (max_points in it) and the summary is posted', async () => {
    const id = await instantiate('document-summary', { callback_url: `${target.url}/docs/summaries`, max_points: 3 });
    const summary = {
      title: 'On-call handbook',
      summary: 'How to be on call.',
      key_points: ['page early', 'write things down', 'hand over cleanly'],
      sentiment: 'neutral',
    };
    openai.reset();
    openai.enqueue({ json: summary });
    const done = await outcome(await start(id, { document_url: `${target.url}/docs/handbook.txt` }));
    assert.equal(done.status, 'completed', JSON.stringify(done));
    const request = openai.requests[0]?.body;
    assert.match(request.messages.at(-1).content, /page early, write things down/);
    assert.equal(request.response_format.json_schema.schema.properties.key_points.maxItems, 3);
    assert.deepEqual(bodiesOf('/docs/summaries')[0], { document_url: `${target.url}/docs/handbook.txt`, summary });
  });

  test('PostgreSQL → HTTP sync: every row is posted with its idempotency key; a 503 is retried', async () => {
    const id = await instantiate('postgres-http-sync', {
      target_url: `${target.url}/crm/contacts`,
      batch_size: 10,
      max_concurrency: 1,
    });
    const done = await outcome(await start(id, {}));
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(done.result.synced, 3);
    const calls = target.requests.filter((r) => r.path === '/crm/contacts');
    assert.equal(calls.length, 4, 'three rows, one of them twice (503, then retried)');
    assert.deepEqual(
      calls.map((r) => r.headers['idempotency-key']),
      ['1', '1', '2', '3'],
    );
    assert.deepEqual(JSON.parse(calls[3]?.body ?? '{}'), { id: 3, name: 'Edsger', email: null });
  });

  test('incident escalation: the primary does not acknowledge in time, the secondary does; the follow-up timer reminds', async () => {
    const id = await instantiate('incident-escalation', {
      pager_url: `${target.url}/pager`,
      primary: 'alice',
      secondary: 'bob',
      manager: 'carol',
      ack_timeout: '2s',
      followup_after: '1s',
    });
    const run = await start(id, { incident: { id: 'INC-7', summary: 'checkout is down' } });
    await until(run, 'ack_secondary waiting', (s) => s.nodes.ack_secondary?.status === 'waiting');
    const ack = await stack.call('POST', '/v1/events', {
      event_type: 'incident.acknowledged',
      correlation_key: 'INC-7',
      payload: { by: 'bob' },
    });
    assert.equal(ack.status, 202, JSON.stringify(ack.body));
    const done = await outcome(run);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.deepEqual(
      bodiesOf('/pager/pages').map((p) => p.to),
      ['alice', 'bob'],
    );
    assert.deepEqual(bodiesOf('/pager/status')[0]?.acknowledged_by, 'bob');
    const state = await stack.call('GET', `/v1/runs/${run}`);
    assert.equal(state.body.nodes.followup.status, 'completed');
    assert.notEqual(state.body.nodes.page_manager?.status, 'completed', 'the manager was never paged');
  });

  test('data-quality check: good data is published; bad data pauses the run until an operator skips the check', async () => {
    const id = await instantiate('data-quality-check', {
      dataset_url: `${target.url}/warehouse/good.json`,
      publish_url: `${target.url}/warehouse/publish`,
      max_missing_rate: 0.1,
    });
    const good = await outcome(await start(id, {}));
    assert.equal(good.status, 'completed', JSON.stringify(good));
    assert.deepEqual(bodiesOf('/warehouse/publish')[0]?.metrics, { rows: 3, missing: 0 });

    const bad = await start(id, { dataset_url: `${target.url}/warehouse/bad.json` });
    const paused = await until(bad, 'paused', (s) => s.status === 'paused');
    assert.equal(paused.nodes.check.status, 'failed');
    assert.match(JSON.stringify(paused), /2 of 4 rows miss email/);
    const skipped = await stack.call('POST', `/v1/runs/${bad}/skip`, {
      node: 'check',
      output: { accepted: 'operator' },
    });
    assert.equal(skipped.status, 202, JSON.stringify(skipped.body));
    const done = await outcome(bad);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.deepEqual(bodiesOf('/warehouse/publish')[1]?.metrics, { rows: 4, missing: 2 });
  });

  test('every template of the starter library ran here', () => {
    assert.ok(STARTER_TEMPLATES.size >= 8);
    assert.deepEqual(
      [...STARTER_TEMPLATES.keys()].filter((t) => !ran.has(t)),
      [],
    );
  });
});
