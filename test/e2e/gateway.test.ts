/**
 * The gateway over HTTP, end to end: submit a definition, start a run, read its state and its
 * result, against a real Temporal server, a real worker and a real local HTTP target — once
 * with each definition store (SQLite and PostgreSQL).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { STORES, startTestStack, type TestStack } from '../support/gateway.js';
import { unique } from '../support/temporal.js';

let target: HttpTarget;

before(async () => {
  target = await startHttpTarget({
    '/price': (req, res) => json(res, 200, { sku: req.query.sku, price: 12.5 }),
    '/slow': (_req, res) => void setTimeout(() => json(res, 200, {}), 1_000),
    '/gone': (_req, res) => json(res, 404, { error: 'gone' }),
  });
});

after(async () => {
  await target?.close();
});

function pricing(id: string) {
  return {
    id,
    name: 'Pricing',
    variables: [
      { name: 'sku', type: 'string', required: true },
      { name: 'quantity', type: 'number', default: 1 },
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
      { id: 'total', type: 'set', assign: { total: 'vars.quote.body.price * vars.quantity' } },
    ],
    edges: [{ from: 'price', to: 'total' }],
  };
}

for (const store of STORES)
  describe(`gateway (${store} store)`, () => {
    let stack: TestStack;
    before(async () => {
      stack = await startTestStack({ store });
    });
    after(async () => {
      await stack?.close();
    });

    test('submits a definition, starts a run, reads its state and its completed result', async () => {
      const id = unique('pricing');
      const submitted = await stack.call('POST', '/v1/definitions', pricing(id));
      assert.equal(submitted.status, 201);
      // `quote` is written by the task's output without being declared: accepted, with a warning.
      assert.deepEqual(submitted.body, {
        id,
        version: '1',
        created: true,
        warnings: [
          {
            path: '/nodes/0/output',
            message:
              'variable "quote" is not declared in "variables", so it is of type any and the run\'s input cannot set it; declare it',
          },
        ],
      });

      const again = await stack.call('POST', '/v1/definitions', pricing(id));
      assert.equal(again.status, 200);
      // An identical resubmit stores nothing, and warns the same.
      assert.deepEqual(again.body, { id, version: '1', created: false, warnings: submitted.body.warnings });

      const started = await stack.call('POST', `/v1/definitions/${id}/runs`, { input: { sku: 'A-1', quantity: 4 } });
      assert.equal(started.status, 201);
      assert.equal(started.body.definition_id, id);
      assert.equal(started.body.definition_version, '1');
      assert.match(started.body.run_id, new RegExp(`^${id}-`));
      assert.match(started.body.ui_url, new RegExp(`/namespaces/default/workflows/${started.body.run_id}/`));

      const result = await stack.call('GET', `/v1/runs/${started.body.run_id}/result?wait=true`);
      assert.equal(result.status, 200);
      assert.equal(result.body.status, 'completed');
      assert.equal(result.body.result.total, 50);
      assert.equal(result.body.result.quote.body.sku, 'A-1');

      const closed = await stack.call('GET', `/v1/runs/${started.body.run_id}/result`);
      assert.deepEqual(closed.body, result.body);

      const state = await stack.call('GET', `/v1/runs/${started.body.run_id}`);
      assert.equal(state.status, 200);
      assert.equal(state.body.status, 'completed');
      assert.equal(state.body.definition_id, id);
      assert.equal(state.body.instance_id, started.body.instance_id);
      assert.equal(state.body.nodes.price.status, 'completed');
      assert.equal(state.body.variables.total, 50);
    });

    test('a failed run reports its error with the node, and a running run says so', async () => {
      const id = unique('failing');
      const definition = {
        id,
        nodes: [
          {
            id: 'wait_a_bit',
            type: 'task',
            connector: 'http',
            action: 'request',
            inputs: { url: `${target.url}/slow` },
          },
          { id: 'lookup', type: 'task', connector: 'http', action: 'request', inputs: { url: `${target.url}/gone` } },
        ],
        edges: [{ from: 'wait_a_bit', to: 'lookup' }],
      };
      assert.equal((await stack.call('POST', '/v1/definitions', definition)).status, 201);
      const started = await stack.call('POST', `/v1/definitions/${id}/runs`, {});
      const running = await stack.call('GET', `/v1/runs/${started.body.run_id}/result`);
      assert.deepEqual(running.body, { status: 'running' });
      const result = await stack.call('GET', `/v1/runs/${started.body.run_id}/result?wait=true`);
      assert.equal(result.body.status, 'failed');
      assert.equal(result.body.error.type, 'HttpError');
      assert.equal(result.body.error.node, 'lookup');
      assert.match(result.body.error.message, /404/);
    });

    test('an invalid definition is rejected with 400 validation_failed and JSON Pointer details', async () => {
      const response = await stack.call('POST', '/v1/definitions', {
        id: 'Bad Id',
        nodes: [
          { id: 'a', type: 'task', connector: 'http', action: 'request', inputs: { url: '{{ vars.( }}' } },
          { id: 'a', type: 'set', assign: { x: '1 +' } },
          { id: 'c', type: 'teleport' },
        ],
        edges: [{ from: 'a', to: 'nowhere' }],
      });
      assert.equal(response.status, 400);
      assert.equal(response.body.error.code, 'validation_failed');
      const paths = (response.body.error.details as Array<{ path: string; message: string }>).map((d) => d.path);
      assert.ok(paths.includes('/id'), `details: ${JSON.stringify(response.body.error.details)}`);
      assert.ok(paths.includes('/nodes/2/type'));

      const semantic = await stack.call('POST', '/v1/definitions/validate', {
        id: 'semantic',
        nodes: [
          { id: 'a', type: 'task', connector: 'http', action: 'request', inputs: { url: '{{ vars.( }}' } },
          { id: 'a', type: 'set', assign: { x: '1 +' } },
          { id: 'b', type: 'task', connector: 'smtp', action: 'send' },
        ],
        edges: [{ from: 'a', to: 'nowhere' }],
      });
      assert.equal(semantic.status, 400);
      const details = semantic.body.error.details as Array<{ path: string; message: string }>;
      const byPath = new Map(details.map((d) => [d.path, d.message]));
      assert.match(byPath.get('/nodes/0/inputs/url') ?? '', /JSONata/);
      assert.match(byPath.get('/nodes/1/id') ?? '', /duplicate node id "a"/);
      assert.match(byPath.get('/nodes/1/assign/x') ?? '', /JSONata/);
      assert.match(byPath.get('/nodes/2/connector') ?? '', /unknown connector "smtp"/);
      assert.match(byPath.get('/edges/0/to') ?? '', /unknown node "nowhere"/);
    });

    test('bad requests get clear 4xx errors, never a 500', async () => {
      const malformed = await stack.call('POST', '/v1/definitions', '{"id": ');
      assert.equal(malformed.status, 400);
      assert.equal(malformed.body.error.code, 'validation_failed');

      const missing = await stack.call('POST', '/v1/definitions/does-not-exist/runs', {});
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error.code, 'not_found');

      const id = unique('inputs');
      await stack.call('POST', '/v1/definitions', pricing(id));
      const badInput = await stack.call('POST', `/v1/definitions/${id}/runs`, { input: { sku: 7, colour: 'red' } });
      assert.equal(badInput.status, 400);
      const paths = (badInput.body.error.details as Array<{ path: string }>).map((d) => d.path).sort();
      assert.deepEqual(paths, ['/input/colour', '/input/sku']);

      const badBody = await stack.call('POST', `/v1/definitions/${id}/runs`, { inputs: {} });
      assert.equal(badBody.status, 400);
      assert.equal(badBody.body.error.details[0].path, '');

      const noRun = await stack.call('GET', `/v1/runs/${unique('nope')}`);
      assert.equal(noRun.status, 404);
      assert.equal(noRun.body.error.code, 'not_found');

      const noRoute = await stack.call('GET', '/v1/nothing-here');
      assert.equal(noRoute.status, 404);
    });

    test('the same run_id never starts two runs: identical repeats get the run, anything else 409', async () => {
      const id = unique('idem');
      await stack.call('POST', '/v1/definitions', pricing(id));
      const runId = unique('order');
      const start = (body: object) => stack.call('POST', `/v1/definitions/${id}/runs`, { ...body, run_id: runId });
      const first = await start({ input: { sku: 'B', quantity: 2 } });
      assert.equal(first.status, 201);
      assert.equal(first.body.run_id, runId);

      // The same input in another key order is the same input; the answer is the original start.
      const repeat = await start({ input: { quantity: 2, sku: 'B' } });
      assert.equal(repeat.status, 200, JSON.stringify(repeat.body));
      assert.deepEqual(repeat.body, first.body);

      const other = await start({ input: { sku: 'C', quantity: 2 } });
      assert.equal(other.status, 409);
      assert.equal(other.body.error.code, 'conflict');
      assert.match(other.body.error.message, /different input/);

      // Still true once the run has closed: its id is never reused for a new run.
      const result = await stack.call('GET', `/v1/runs/${runId}/result?wait=true`);
      assert.equal(result.body.status, 'completed');
      const afterClose = await start({ input: { sku: 'B', quantity: 2 } });
      assert.equal(afterClose.status, 200);
      assert.deepEqual(afterClose.body, first.body);
      assert.equal((await start({ input: { sku: 'B' } })).status, 409);

      // Another version of the definition is another start, even with the same input.
      await stack.call('POST', '/v1/definitions', { ...pricing(id), description: 'v2' });
      const newer = await start({ input: { sku: 'B', quantity: 2 } });
      assert.equal(newer.status, 409);
      assert.match(newer.body.error.message, /version 1, not 2/);
      const pinned = await start({ input: { sku: 'B', quantity: 2 }, version: '1' });
      assert.equal(pinned.status, 200);

      // And a run of another definition with that id is a conflict too.
      const otherId = unique('idem-other');
      await stack.call('POST', '/v1/definitions', pricing(otherId));
      const foreign = await stack.call('POST', `/v1/definitions/${otherId}/runs`, {
        input: { sku: 'B', quantity: 2 },
        run_id: runId,
      });
      assert.equal(foreign.status, 409);
      assert.match(foreign.body.error.message, /another definition/);
    });

    test('health and readiness', async () => {
      assert.equal((await stack.call('GET', '/healthz')).status, 200);
      const ready = await stack.call('GET', '/readyz');
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.body.checks, { temporal: 'ok', store: 'ok' });
    });
  });
