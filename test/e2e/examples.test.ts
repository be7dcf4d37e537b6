/**
 * Every example under examples/ is valid and runs to its documented result (examples/README.md)
 * through the gateway, including the ones that wait for an event or a person.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { ConnectorRegistry } from '../../activities/connectors/registry.js';
import { validateDefinition } from '../../interpreter/validate-definition.js';
import { allowEgress } from '../support/egress.js';
import { STORES, startTestStack, type TestStack } from '../support/gateway.js';
import { until as poll } from '../support/poll.js';

const examplesDir = fileURLToPath(new URL('../../../examples/', import.meta.url));
// `<name>.test.json` files are definition tests of `<name>.json` (test/e2e/definition-tests.test.ts runs them).
const examples = readdirSync(examplesDir).filter((f) => f.endsWith('.json') && !f.endsWith('.test.json'));
const load = (name: string) =>
  JSON.parse(readFileSync(`${examplesDir}${name}.json`, 'utf8')) as Record<string, unknown>;

let stack: TestStack;
let revokeEgress: () => void = () => undefined;

async function start(id: string, input: Record<string, unknown> = {}): Promise<string> {
  const needsGateway = (load(id).variables as Array<{ name: string }> | undefined)?.some(
    (v) => v.name === 'gateway_url',
  );
  const started = await stack.call('POST', `/v1/definitions/${id}/runs`, {
    input: needsGateway ? { gateway_url: stack.gateway.url, ...input } : input,
  });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  return started.body.run_id as string;
}

async function result(runId: string) {
  const response = await stack.call('GET', `/v1/runs/${runId}/result?wait=true`);
  assert.equal(response.status, 200);
  return response.body as { status: string; result?: any; error?: any };
}

async function until(runId: string, predicate: (state: any) => boolean) {
  let state: any;
  return poll(
    () => `the state to match: ${JSON.stringify(state).slice(0, 1500)}`,
    async () => {
      state = (await stack.call('GET', `/v1/runs/${runId}`)).body;
      return predicate(state) ? state : undefined;
    },
    20_000,
    100,
  );
}

for (const store of STORES)
  describe(`examples (${store} store)`, () => {
    before(async () => {
      stack = await startTestStack({ store });
      // The stack allows the gateway's /healthz and /readyz, as `npm start` does; the
      // error-handler examples read definitions through the gateway's API to get 404s, which
      // only this test allows (an operator would have to as well).
      revokeEgress = allowEgress(`${stack.gateway.url}/v1/definitions/`, `${stack.gateway.url}/v1/definitions`);
      for (const file of examples) {
        const name = file.replace(/\.json$/, '');
        if (name === 'handler-retry-target') continue; // submitted by its test, mid-run
        const submitted = await stack.call('POST', '/v1/definitions', load(name));
        assert.ok([200, 201].includes(submitted.status), `${name}: ${JSON.stringify(submitted.body)}`);
      }
    });
    after(async () => {
      revokeEgress();
      await stack?.close();
    });

    for (const file of examples) {
      test(`${file} is a valid definition`, () => {
        const checked = validateDefinition(load(file.replace(/\.json$/, '')), new ConnectorRegistry().catalog());
        assert.ok(checked.ok, JSON.stringify(!checked.ok && checked.problems));
      });
    }

    test('hello-gateway: task + set', async () => {
      const r = await result(await start('hello-gateway'));
      assert.equal(r.result.summary, 'Hello: the gateway is ok and ready');
    });

    test('local-health: task steps as local activities', async () => {
      const r = await result(await start('local-health'));
      assert.equal(r.result.summary, 'Hello: the gateway is ok and ready');
    });

    test('condition-route: condition, when and default edges', async () => {
      for (const [amount, route] of [
        [500, 'review'],
        [5, 'auto-approve'],
        [0, 'nothing to do'],
      ] as const) {
        assert.equal((await result(await start('condition-route', { amount }))).result.route, route);
      }
    });

    test('join-parallel: join all with a dead branch, join any', async () => {
      const runId = await start('join-parallel');
      const r = await result(runId);
      assert.equal(r.result.checks, 3);
      assert.ok(['health', 'ready'].includes(r.result.first));
      assert.equal((await stack.call('GET', `/v1/runs/${runId}`)).body.nodes.optional.status, 'skipped');
    });

    test('wait-timer: a durable timer', async () => {
      const runId = await start('wait-timer');
      await until(runId, (s) => s.nodes.pause.status === 'waiting');
      assert.equal((await result(runId)).result.done, true);
    });

    test('event-payment: events matched by correlation key, through POST /v1/events', async () => {
      const runId = await start('event-payment', { order_id: 'A-1' });
      await until(runId, (s) => s.nodes.paid.status === 'waiting');
      const wrong = await stack.call('POST', '/v1/events', {
        event_type: 'payment.settled',
        correlation_key: 'B-2',
        payload: { amount: 1 },
      });
      assert.equal(wrong.status, 202);
      assert.deepEqual(wrong.body.delivered_to, []);
      const right = await stack.call('POST', '/v1/events', {
        event_type: 'payment.settled',
        correlation_key: 'A-1',
        payload: { amount: 42 },
        event_id: 'pay-1',
      });
      assert.equal(right.status, 202);
      // The mailbox of A-1 sent it to the run, or will once the run's registration lands: never to another.
      assert.ok(
        right.body.delivered_to.every((r: string) => r === runId),
        JSON.stringify(right.body),
      );
      assert.equal((await result(runId)).result.outcome, 'paid 42');
    });

    test('approval-review: a decision through POST /v1/runs/{id}/approvals/{node}', async () => {
      const runId = await start('approval-review');
      await until(runId, (s) => s.nodes.review.status === 'waiting');
      const wrongNode = await stack.call('POST', `/v1/runs/${runId}/approvals/publish`, { approved: true });
      assert.equal(wrongNode.status, 409);
      const decided = await stack.call('POST', `/v1/runs/${runId}/approvals/review`, {
        approved: true,
        comment: 'looks good',
      });
      assert.equal(decided.status, 202, JSON.stringify(decided.body));
      const r = await result(runId);
      assert.equal(r.result.published, true);
      assert.deepEqual(r.result.decision, { approved: true, by: 'local-dev', comment: 'looks good' });
    });

    test('subworkflow-parent: a stored definition as a child run', async () => {
      assert.equal((await result(await start('subworkflow-parent'))).result.message, 'Hello, Ada!');
    });

    test('map-each: fan-out per item, results in order', async () => {
      assert.deepEqual((await result(await start('map-each'))).result.statuses, [200, 200, 200]);
    });

    test('end-early: an end node with its own result', async () => {
      assert.deepEqual((await result(await start('end-early'))).result, { ended: 'early', reason: 'no items' });
    });

    test('loop-counter: a guarded cycle', async () => {
      assert.equal((await result(await start('loop-counter'))).result.i, 10);
    });

    test('handler-retry: the node runs again after the cause is fixed', async () => {
      const runId = await start('handler-retry');
      await until(runId, (s) => s.nodes.lookup.status === 'failed');
      assert.equal((await stack.call('POST', '/v1/definitions', load('handler-retry-target'))).status, 201);
      const r = await result(runId);
      assert.equal(r.status, 'completed', JSON.stringify(r));
      assert.equal(r.result.target.body.id, 'handler-retry-target');
    });

    test('handler-compensate: compensations in reverse completion order, then the run fails', async () => {
      const runId = await start('handler-compensate');
      const r = await result(runId);
      assert.equal(r.status, 'failed');
      assert.equal(r.error.node, 'ship');
      const state = (await stack.call('GET', `/v1/runs/${runId}`)).body;
      const compensations = state.history.filter((h: any) => h.to === 'compensation').map((h: any) => h.note);
      assert.deepEqual(compensations, ['charge: compensated', 'reserve: compensated']);
    });

    test('handler-terminate: fails at once instead of pausing', async () => {
      const r = await result(await start('handler-terminate'));
      assert.equal(r.status, 'failed');
      assert.equal(r.error.type, 'HttpError');
    });

    test('handler-continue: the failed node yields null and the run goes on', async () => {
      const r = await result(await start('handler-continue'));
      assert.equal(r.result.extra, null);
      assert.equal(r.result.finished, true);
    });

    test('handler-goto: continue at another node with the error in scope', async () => {
      const r = await result(await start('handler-goto'));
      assert.equal(r.result.via, 'notify after HttpError');
      assert.equal(r.result.enriched, false);
    });
  });
