/**
 * `GET /v1/runs/{run_id}/lineage` over HTTP: a real gateway, worker and Temporal server run a
 * definition whose task calls a real local HTTP target; the lineage names who wrote each
 * variable, from which inputs, and when — for a closed run, and for a running one after an
 * operator changed a variable.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { unique } from '../support/temporal.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function assertIso(value: unknown, what: string): void {
  assert.equal(typeof value, 'string', `${what} is a string`);
  assert.match(value as string, ISO, `${what} is an ISO time`);
  assert.equal(new Date(value as string).toISOString(), value, `${what} round-trips`);
}

let target: HttpTarget;
let stack: TestStack;

before(async () => {
  target = await startHttpTarget({
    '/price': (req, res) => json(res, 200, { sku: req.query.sku, price: 12.5 }),
  });
  stack = await startTestStack();
});

after(async () => {
  await stack?.close();
  await target?.close();
});

function pricing(id: string) {
  return {
    id,
    variables: [
      { name: 'sku', type: 'string', required: true },
      { name: 'quantity', type: 'number', default: 2 },
      { name: 'total', type: 'number' },
    ],
    nodes: [
      {
        id: 'price',
        type: 'task',
        connector: 'http',
        action: 'request',
        output: 'quote',
        inputs: { url: `${target.url}/price`, query: { sku: '{{ vars.sku }}' } },
      },
      { id: 'sum', type: 'set', assign: { total: 'vars.quote.body.price * vars.quantity' } },
    ],
    edges: [{ from: 'price', to: 'sum' }],
  };
}

describe('run lineage', () => {
  test('a closed run names the node, inputs and time of every write, in order', async () => {
    const id = unique('lineage');
    assert.equal((await stack.call('POST', '/v1/definitions', pricing(id))).status, 201);
    const started = await stack.call('POST', `/v1/definitions/${id}/runs`, { input: { sku: 'A-1' } });
    assert.equal(started.status, 201);
    const runId = started.body.run_id as string;
    const result = await stack.call('GET', `/v1/runs/${runId}/result?wait=true`);
    assert.equal(result.body.status, 'completed');
    assert.equal(result.body.result.total, 25);
    assert.equal(target.count('/price'), 1);

    const lineage = await stack.call('GET', `/v1/runs/${runId}/lineage`);
    assert.equal(lineage.status, 200);
    assert.equal(lineage.body.run_id, runId);
    const { sku, quantity, quote, total } = lineage.body.variables;

    assert.equal(sku.writes, 1);
    assert.equal(sku.entries[0].source, 'input');
    assert.deepEqual(sku.entries[0].inputs, ['input.sku']);
    assert.equal(sku.entries[0].node, undefined);
    assert.equal(quantity.entries[0].source, 'default');

    assert.equal(quote.writes, 1);
    assert.deepEqual(
      { ...quote.entries[0], at: undefined },
      { at: undefined, node: 'price', node_type: 'task', source: 'node', inputs: ['vars.sku'], iteration: 1 },
    );

    assert.equal(total.writes, 2, 'the declared null, then the set node');
    assert.deepEqual(
      total.entries.map((e: any) => [e.source, e.node]),
      [
        ['default', undefined],
        ['node', 'sum'],
      ],
    );
    assert.deepEqual(total.entries[1].inputs, ['vars.quote', 'vars.quantity']);
    assert.equal(total.entries[1].node_type, 'set');

    const times = [sku.entries[0].at, quote.entries[0].at, total.entries[1].at];
    times.forEach((at, i) => assertIso(at, `write ${i}`));
    assert.deepEqual([...times].sort(), times, 'input, then the task output, then the set');
    assert.ok(Date.parse(times[0]) < Date.parse(times[1]), 'the task output was written after its call returned');
  });

  test("a running run's lineage shows an operator's variable patch with who made it", async () => {
    const id = unique('lineage-patch');
    const definition = {
      id,
      variables: [{ name: 'limit', type: 'number', default: 5 }],
      nodes: [{ id: 'paid', type: 'event', event_type: `${id}.paid`, correlation_key: 'null', output: 'payment' }],
    };
    assert.equal((await stack.call('POST', '/v1/definitions', definition)).status, 201);
    const started = await stack.call('POST', `/v1/definitions/${id}/runs`, {});
    const runId = started.body.run_id as string;
    const patched = await stack.call('PATCH', `/v1/runs/${runId}/variables`, { variables: { limit: 9 } });
    assert.equal(patched.status, 200);

    const lineage = await stack.call('GET', `/v1/runs/${runId}/lineage`);
    assert.equal(lineage.status, 200);
    const limit = lineage.body.variables.limit;
    assert.equal(limit.writes, 2);
    assert.equal(limit.entries[1].source, 'operator');
    // The same actor the run's history names for the change (who depends on the gateway's auth).
    const state = await stack.call('GET', `/v1/runs/${runId}`);
    const change = state.body.history.find((h: any) => h.to === 'variables_set');
    assert.ok(typeof change?.by === 'string' && change.by.length > 0, JSON.stringify(state.body.history));
    assert.equal(limit.entries[1].by, change.by);
    assert.equal(limit.entries[1].node, undefined);
    assertIso(limit.entries[1].at, 'the patch time');

    const delivered = await stack.call('POST', '/v1/events', { event_type: `${id}.paid`, payload: { amount: 1 } });
    assert.equal(delivered.status, 202);
    assert.equal((await stack.call('GET', `/v1/runs/${runId}/result?wait=true`)).body.status, 'completed');
    const payment = (await stack.call('GET', `/v1/runs/${runId}/lineage`)).body.variables.payment;
    assert.deepEqual(payment.entries[0].inputs, [`event:${id}.paid`]);
    assert.equal(payment.entries[0].node, 'paid');
  });

  test('an unknown run is not found', async () => {
    const missing = await stack.call('GET', `/v1/runs/${unique('no-such-run')}/lineage`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'not_found');
  });
});
