/**
 * The generic workflow on a real Temporal dev server: a worker in this process, definitions
 * started directly through the client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError, type Client, type Connection } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { validateDefinition } from '../../interpreter/validate-definition.js';
import type { RunStateView } from '../../interpreter/run-state.js';
import type { RunningWorker } from '../../src/worker/create-worker.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { connectClient, startTestWorker, unique } from '../support/temporal.js';

let target: HttpTarget;
let worker: RunningWorker;
let client: Client;
let connection: Connection;
const taskQueue = unique('wf-it');

before(async () => {
  target = await startHttpTarget({
    '/customer': (req, res) => json(res, 200, { id: req.query.id, name: 'Ada', tier: 'gold' }),
    '/echo': (req, res) =>
      json(res, 200, { method: req.method, query: req.query, body: req.body, auth: req.headers['x-token'] }),
    '/flaky': (_req, res, nth) => (nth < 3 ? json(res, 500, { error: 'boom' }) : json(res, 200, { ok: true, nth })),
    '/missing': (_req, res) => json(res, 404, { error: 'nope' }),
    '/text': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('plain words');
    },
  });
  worker = await startTestWorker(taskQueue);
  ({ client, connection } = await connectClient());
});

after(async () => {
  await worker?.shutdown();
  await connection?.close();
  await target?.close();
});

function definition(raw: unknown) {
  const result = validateDefinition(raw);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return { ...result.definition, version: '1' };
}

async function run(raw: unknown, input: Record<string, unknown> = {}) {
  const def = definition(raw);
  const handle = await client.workflow.start('interpret', {
    taskQueue,
    workflowId: unique(def.id),
    args: [{ definition: def, input }],
  });
  return handle;
}

describe('interpret workflow', () => {
  test('an HTTP task output reaches a later node through a template', async () => {
    const handle = await run(
      {
        id: 'template-flow',
        variables: [
          { name: 'customer_id', type: 'string', required: true },
          { name: 'greeting', type: 'string' },
        ],
        nodes: [
          {
            id: 'fetch',
            type: 'task',
            connector: 'http',
            action: 'request',
            output: 'customer',
            inputs: { url: `${target.url}/customer`, query: { id: '{{ vars.customer_id }}' } },
          },
          {
            id: 'post',
            type: 'task',
            connector: 'http',
            action: 'request',
            output: 'echoed',
            inputs: {
              method: 'post',
              url: `${target.url}/echo`,
              headers: { 'x-token': 'T-{{ vars.customer_id }}' },
              body: { name: '{{ nodes.fetch.output.body.name }}', tier: '{{ vars.customer.body.tier }}' },
            },
          },
          { id: 'greet', type: 'set', assign: { greeting: '"Hello " & nodes.fetch.output.body.name' } },
        ],
        edges: [
          { from: 'fetch', to: 'post' },
          { from: 'post', to: 'greet' },
        ],
      },
      { customer_id: 'c-42' },
    );
    const result = (await handle.result()) as Record<string, any>;
    assert.equal(result.greeting, 'Hello Ada');
    assert.equal(result.customer.body.id, 'c-42');
    assert.deepEqual(JSON.parse(result.echoed.body.body as string), { name: 'Ada', tier: 'gold' });
    assert.equal(result.echoed.body.auth, 'T-c-42');
    assert.equal(result.echoed.body.method, 'POST');

    const state = await handle.query<RunStateView>('state');
    assert.equal(state.status, 'completed');
    assert.equal(state.nodes.fetch?.status, 'completed');
    assert.equal(state.nodes.greet?.status, 'completed');
    assert.deepEqual(state.active_nodes, []);
    assert.ok(state.history.some((h) => h.node === 'post' && h.to === 'completed'));
  });

  test('a 500 is retried by Temporal until it succeeds', async () => {
    const handle = await run({
      id: 'flaky-flow',
      nodes: [
        {
          id: 'call',
          type: 'task',
          connector: 'http',
          action: 'request',
          output: 'answer',
          retry_policy: { max_attempts: 5, initial_interval: '100ms', backoff_coefficient: 1 },
          inputs: { url: `${target.url}/flaky` },
        },
      ],
    });
    const result = (await handle.result()) as Record<string, any>;
    assert.deepEqual(result.answer.body, { ok: true, nth: 3 });
    const state = await handle.query<RunStateView>('state');
    assert.equal(state.nodes.call?.attempts, 3);
    assert.equal(target.count('/flaky'), 3);
  });

  test('a 404 is not retried and fails the run with HttpError, naming the node', async () => {
    const handle = await run({
      id: 'missing-flow',
      nodes: [
        { id: 'get', type: 'task', connector: 'http', action: 'request', inputs: { url: `${target.url}/missing` } },
      ],
    });
    const err = await handle.result().then(
      () => assert.fail('expected the run to fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError);
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, 'HttpError');
    assert.match(err.cause.message, /404/);
    assert.match(err.cause.message, /node "get"/);
    assert.equal(target.count('/missing'), 1);
    const state = await handle.query<RunStateView>('state');
    assert.equal(state.status, 'failed');
    assert.equal(state.error?.node, 'get');
    assert.equal(state.nodes.get?.status, 'failed');
  });

  test('a condition picks the edge whose "when" holds, text bodies stay text, an error edge catches a failure', async () => {
    const handle = await run({
      id: 'branch-flow',
      variables: [{ name: 'amount', type: 'number', default: 250 }],
      nodes: [
        { id: 'check', type: 'condition', expression: 'vars.amount > 100' },
        {
          id: 'big',
          type: 'task',
          connector: 'http',
          action: 'request',
          output: 'text',
          inputs: { url: `${target.url}/text` },
        },
        { id: 'small', type: 'set', assign: { path: '"small"' } },
        { id: 'broken', type: 'task', connector: 'http', action: 'request', inputs: { url: `${target.url}/missing` } },
        { id: 'recover', type: 'set', assign: { recovered: 'error.type & " at " & error.node' } },
      ],
      edges: [
        { from: 'check', to: 'big', when: 'nodes.check.output = true' },
        { from: 'check', to: 'small', default: true },
        { from: 'big', to: 'broken' },
        { from: 'broken', to: 'recover', on: 'error' },
      ],
    });
    const result = (await handle.result()) as Record<string, any>;
    assert.equal(result.text.body, 'plain words');
    assert.equal(result.path, undefined);
    assert.equal(result.recovered, 'HttpError at broken');
  });

  test('secret variables are masked in the state query', async () => {
    const handle = await run(
      {
        id: 'secret-flow',
        variables: [
          { name: 'token', type: 'string', secret: true },
          { name: 'label', type: 'string' },
        ],
        nodes: [{ id: 'label_it', type: 'set', assign: { label: '"token=" & vars.token' } }],
      },
      { token: 's3cr3t-value' },
    );
    await handle.result();
    const state = await handle.query<RunStateView>('state');
    assert.equal(state.variables.token, '***');
    // Derived from the secret: masked whole, not only where the secret's exact value appears.
    assert.equal(state.variables.label, '***');
    assert.doesNotMatch(JSON.stringify(state), /s3cr3t-value/);
  });

  test('a hostile expression fails its node cleanly; the worker goes on running other runs', async () => {
    const hostile = await run({
      id: 'hostile',
      nodes: [{ id: 'spin', type: 'set', assign: { x: '($f := function($n){ $f($n) }; $f(1))' } }],
    });
    const healthy = await run({ id: 'healthy', nodes: [{ id: 'ok', type: 'set', assign: { y: '$sum([1..100])' } }] });
    const err = await hostile.result().then(
      () => assert.fail('expected the run to fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, 'ExpressionError');
    assert.match(err.cause.message, /evaluation steps/);
    assert.deepEqual(await healthy.result(), { y: 5050 });
  });
});
