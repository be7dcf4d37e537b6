/**
 * Seeing and trusting runs, end to end on each store: a scripted mix of runs through the
 * gateway (completing, failing two ways, one cancelled, one approved, one fed an event, one
 * refused start), then `/metrics` counts them, `stats` agrees with what happened, and the audit
 * log holds exactly one entry per mutation with its actor, outcome and the caller's request id.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { STORES, startTestStack, type TestStack } from '../support/gateway.js';
import { connectClient, unique } from '../support/temporal.js';
import { until } from '../support/poll.js';

let target: HttpTarget;
before(async () => {
  target = await startHttpTarget({ '/gone': (_req, res) => json(res, 404, { error: 'gone' }) });
});
after(async () => {
  await target?.close();
});

/** Routes on `mode`: ok completes, end fails with EndFailed, http fails with HttpError, wait/approve wait. */
function observed(id: string, eventType: string) {
  return {
    id,
    variables: [
      { name: 'mode', type: 'string', required: true },
      { name: 'order', type: 'string' },
    ],
    triggers: [{ type: 'webhook' }],
    nodes: [
      { id: 'route', type: 'condition', expression: 'true' },
      { id: 'done', type: 'end', result: '{"ok": true}' },
      { id: 'boom', type: 'end', status: 'failed', message: 'asked to fail' },
      {
        id: 'fetch',
        type: 'task',
        connector: 'http',
        action: 'request',
        inputs: { url: `${target.url}/gone` },
        retry_policy: { max_attempts: 1 },
      },
      { id: 'paid', type: 'event', event_type: eventType, correlation_key: 'vars.order' },
      { id: 'review', type: 'approval' },
    ],
    edges: [
      { from: 'route', to: 'done', when: 'vars.mode = "ok"' },
      { from: 'route', to: 'boom', when: 'vars.mode = "end"' },
      { from: 'route', to: 'fetch', when: 'vars.mode = "http"' },
      { from: 'route', to: 'paid', when: 'vars.mode = "wait"' },
      { from: 'route', to: 'review', when: 'vars.mode = "approve"' },
    ],
  };
}

/** The value of one Prometheus sample with exactly these labels (any order), or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (JSON.stringify(Object.entries(found).sort()) === JSON.stringify(Object.entries(labels).sort()))
      return Number(match[3]);
  }
  return undefined;
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  return until(what, probe, timeoutMs);
}

for (const store of STORES)
  describe(`observability (${store} store)`, () => {
    let stack: TestStack;
    before(async () => {
      stack = await startTestStack({ store });
    });
    after(async () => {
      await stack?.close();
    });

    test('metrics, stats and the audit log agree with a scripted mix of runs', async () => {
      const id = unique('observed');
      const eventType = unique('payment.settled');
      const since = new Date(Date.now() - 1_000).toISOString();
      const prefix = unique('req');
      let n = 0;
      /** The mutations of the script, in order, as the audit log must show them. */
      const expected: Array<{
        action: string;
        target: string;
        status: number;
        error_code?: string;
        request_id: string;
      }> = [];
      const mutate = async (
        method: string,
        path: string,
        body: unknown,
        audit: { action: string; target: string },
      ): Promise<{ status: number; body: any }> => {
        const requestId = `${prefix}-${++n}`;
        const response = await stack.call(method, path, body, { 'X-Request-Id': requestId });
        expected.push({
          ...audit,
          status: response.status,
          ...(response.status >= 400 ? { error_code: response.body.error.code } : {}),
          request_id: requestId,
        });
        return response;
      };
      const start = async (input: Record<string, unknown>) => {
        const started = await mutate(
          'POST',
          `/v1/definitions/${id}/runs`,
          { input },
          { action: 'run.start', target: id },
        );
        assert.equal(started.status, 201, JSON.stringify(started.body));
        return started.body.run_id as string;
      };
      const waitingAt = (runId: string, node: string) =>
        eventually(`${runId} waiting at ${node}`, async () => {
          const state = await stack.call('GET', `/v1/runs/${runId}`);
          return state.body?.nodes?.[node]?.status === 'waiting' ? true : undefined;
        });

      assert.equal(
        (await mutate('POST', '/v1/definitions', observed(id, eventType), { action: 'definition.submit', target: id }))
          .status,
        201,
      );
      assert.equal(
        (
          await mutate(
            'PUT',
            `/v1/definitions/${id}/active`,
            { version: '1' },
            { action: 'definition.activate', target: id },
          )
        ).status,
        200,
      );
      const ok = [await start({ mode: 'ok' }), await start({ mode: 'ok' }), await start({ mode: 'ok' })];
      const failing = [await start({ mode: 'end' }), await start({ mode: 'http' })];
      const paid = await start({ mode: 'wait', order: 'A-1' });
      const abandoned = await start({ mode: 'wait', order: 'B-2' });
      const approved = await start({ mode: 'approve' });
      const hooked = await mutate('POST', `/v1/hooks/${id}`, { mode: 'ok' }, { action: 'webhook.start', target: id });
      assert.equal(hooked.status, 202);
      const refused = await mutate(
        'POST',
        `/v1/definitions/${id}/runs`,
        { input: {} },
        { action: 'run.start', target: id },
      );
      assert.equal(refused.status, 400);

      await waitingAt(paid, 'paid');
      const event = await mutate(
        'POST',
        '/v1/events',
        { event_type: eventType, correlation_key: 'A-1', payload: { amount: 42 } },
        { action: 'event.deliver', target: eventType },
      );
      assert.ok(
        event.body.delivered_to.every((r: string) => r === paid),
        JSON.stringify(event.body),
      );
      await waitingAt(abandoned, 'paid');
      assert.equal(
        (
          await mutate(
            'POST',
            `/v1/runs/${abandoned}/cancel`,
            { reason: 'test' },
            { action: 'run.cancel', target: abandoned },
          )
        ).status,
        202,
      );
      await waitingAt(approved, 'review');
      assert.equal(
        (
          await mutate(
            'POST',
            `/v1/runs/${approved}/approvals/review`,
            { approved: true },
            { action: 'run.approve', target: approved },
          )
        ).status,
        202,
      );
      const outcomes: Record<string, string> = {};
      for (const runId of [...ok, hooked.body.run_id as string, ...failing, paid, abandoned, approved]) {
        outcomes[runId] = (await stack.call('GET', `/v1/runs/${runId}/result?wait=true`)).body.status;
      }
      assert.deepEqual(
        Object.values(outcomes).sort(),
        ['cancelled', 'completed', 'completed', 'completed', 'completed', 'completed', 'completed', 'failed', 'failed'],
        JSON.stringify(outcomes),
      );

      // Metrics: the runs this gateway started and the event it delivered, for this definition.
      const metrics = await fetch(`${stack.gateway.url}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
      const text = await metrics.text();
      assert.equal(sample(text, 'weft_runs_started_total', { definition_id: id, trigger: 'api' }), 8, text);
      assert.equal(sample(text, 'weft_runs_started_total', { definition_id: id, trigger: 'webhook' }), 1);
      // The event went into its mailbox only (the other runs wait on other keys' mailboxes).
      assert.ok((sample(text, 'weft_events_accepted_total', { tenant: 'default' }) ?? 0) >= 1, text);

      // Stats: from visibility (eventually consistent, so wait until every run is listed closed).
      const stats = await eventually('stats of 9 closed runs', async () => {
        const response = await stack.call('GET', `/v1/definitions/${id}/stats?window=1h`);
        assert.equal(response.status, 200, JSON.stringify(response.body));
        return response.body.runs.closed === 9 ? response.body : undefined;
      });
      assert.deepEqual(stats.runs, { closed: 9, completed: 6, failed: 2, cancelled: 1 });
      assert.equal(stats.success_rate, 6 / 8);
      // The same outcomes as series, counted by visibility (recounted in the background within 10 s).
      const outcomes9 = { completed: 6, failed: 2, cancelled: 1 };
      const scraped = await eventually(
        'weft_runs to count the 9 closed runs',
        async () => {
          const text = await (await fetch(`${stack.gateway.url}/metrics`)).text();
          const counts = Object.fromEntries(
            Object.keys(outcomes9).map((status) => [status, sample(text, 'weft_runs', { definition_id: id, status })]),
          );
          return JSON.stringify(counts) === JSON.stringify(outcomes9) ? counts : undefined;
        },
        60_000,
      );
      assert.deepEqual(scraped, outcomes9);
      assert.deepEqual(stats.errors, [
        { type: 'EndFailed', count: 1 },
        { type: 'HttpError', count: 1 },
      ]);
      assert.ok(stats.duration_ms.p50 >= 0 && stats.duration_ms.p50 <= stats.duration_ms.p95, JSON.stringify(stats));
      assert.ok(stats.duration_ms.p95 <= stats.duration_ms.max && stats.duration_ms.max < 120_000);
      assert.equal(stats.cost_usd, 0);
      assert.equal(stats.examined, 9);
      assert.equal(stats.truncated, false);
      assert.equal(stats.unreadable, 0);
      assert.equal(stats.window, '1h');

      // Audit: exactly one entry per mutation, newest first, with actor, outcome and request id.
      const audit = await stack.call('GET', `/v1/audit?since=${encodeURIComponent(since)}&limit=1000`);
      assert.equal(audit.status, 200);
      const mine = (audit.body.items as Array<Record<string, unknown>>).filter((e) =>
        String(e.request_id).startsWith(`${prefix}-`),
      );
      assert.deepEqual(
        mine.map(({ at: _at, ...rest }) => rest),
        expected.map((e) => ({ actor: 'local-dev', tenant: 'default', ...e })).reverse(),
      );
      assert.equal(mine.length, 15);
      for (const entry of mine) assert.ok(Date.parse(String(entry.at)) >= Date.parse(since));
      // Filters.
      const cancels = await stack.call('GET', `/v1/audit?action=run.cancel&target=${abandoned}`);
      assert.deepEqual(
        cancels.body.items.map((e: { request_id: string }) => e.request_id),
        [expected.find((e) => e.action === 'run.cancel')?.request_id],
      );
    });

    test('a request id is echoed back, or generated; stats and audit refuse bad queries', async () => {
      const sent = await fetch(`${stack.gateway.url}/v1/definitions/validate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'X-Request-Id': 'caller-chose-this' },
        body: '{}',
      });
      assert.equal(sent.headers.get('x-request-id'), 'caller-chose-this');
      const generated = await fetch(`${stack.gateway.url}/healthz`);
      assert.match(generated.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);

      const id = unique('stats-q');
      await stack.call('POST', '/v1/definitions', { id, nodes: [{ id: 'a', type: 'set', assign: {} }] });
      for (const window of ['1x', '0h', '24', '91d', '']) {
        const bad = await stack.call('GET', `/v1/definitions/${id}/stats?window=${window}`);
        assert.equal(bad.status, 400, window);
        assert.equal(bad.body.error.details[0].path, '/query/window');
      }
      const none = await stack.call('GET', `/v1/definitions/${id}/stats`);
      assert.equal(none.status, 200);
      assert.deepEqual(none.body.runs, { closed: 0, completed: 0, failed: 0, cancelled: 0 });
      assert.equal(none.body.success_rate, null);
      assert.equal(none.body.duration_ms, null);
      assert.equal((await stack.call('GET', '/v1/definitions/no-such-def/stats')).status, 404);
      const badAudit = await stack.call('GET', '/v1/audit?since=yesterday&limit=0');
      assert.equal(badAudit.status, 400);
      assert.deepEqual(badAudit.body.error.details.map((d: { path: string }) => d.path).sort(), [
        '/query/limit',
        '/query/since',
      ]);
    });
  });

test('stats without a worker: no replay for runs that cannot cost; a run that can is counted unreadable', async () => {
  const stack = await startTestStack({ worker: false });
  const { client, connection } = await connectClient();
  try {
    // Only set nodes: its runs cost nothing by construction, so nothing asks for their state.
    const id = unique('no-worker');
    await stack.call('POST', '/v1/definitions', { id, nodes: [{ id: 'a', type: 'set', assign: {} }] });
    const started = await stack.call('POST', `/v1/definitions/${id}/runs`, {});
    await client.workflow.getHandle(started.body.run_id).terminate('test');
    const stats = await eventually('the terminated run listed', async () => {
      const response = await stack.call('GET', `/v1/definitions/${id}/stats?window=30m`);
      assert.equal(response.status, 200, JSON.stringify(response.body));
      return response.body.runs.closed === 1 ? response.body : undefined;
    });
    assert.deepEqual(stats.runs, { closed: 1, completed: 0, failed: 1, cancelled: 0 });
    assert.equal(stats.success_rate, 0);
    assert.deepEqual(stats.errors, [{ type: 'Terminated', count: 1 }]);
    assert.equal(stats.unreadable, 0);

    // A subworkflow node can spend (its child's AI cost): that run's cost needs its state, and
    // with no worker to answer the query the run is counted unreadable.
    const child = unique('child');
    await stack.call('POST', '/v1/definitions', { id: child, nodes: [{ id: 'a', type: 'set', assign: {} }] });
    const parent = unique('may-cost');
    const submitted = await stack.call('POST', '/v1/definitions', {
      id: parent,
      nodes: [{ id: 'call', type: 'subworkflow', definition: child }],
    });
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    const costly = await stack.call('POST', `/v1/definitions/${parent}/runs`, {});
    await client.workflow.getHandle(costly.body.run_id).terminate('test');
    const unread = await eventually('the terminated run listed', async () => {
      const response = await stack.call('GET', `/v1/definitions/${parent}/stats?window=30m`);
      assert.equal(response.status, 200, JSON.stringify(response.body));
      return response.body.runs.closed === 1 ? response.body : undefined;
    });
    assert.deepEqual(unread.errors, [{ type: 'Terminated', count: 1 }]);
    assert.equal(unread.unreadable, 1);
  } finally {
    await connection.close();
    await stack.close();
  }
});
