/**
 * `options.max_cost_usd` on the real dev server against a local OpenAI-compatible server: it
 * holds before every model call (map items, parallel branches), a child run's cost rolls up
 * into its parent's cost and budget, and calls are priced from the default table.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, beforeEach, describe, test } from 'node:test';
import { WorkflowFailedError, type Client, type Connection } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { SqliteDefinitionStore } from '../../src/store/sqlite-store.js';
import type { RunningWorker } from '../../src/worker/create-worker.js';
import { aiMapDefinition } from '../support/definitions.js';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';
import { RunService } from '../../src/gateway/run-service.js';
import { runState, startRun, versioned, waitForState } from '../support/runs.js';
import { NAMESPACE, connectClient, startTestWorker, temporalAddress, unique } from '../support/temporal.js';
import { until } from '../support/poll.js';

let fake: FakeOpenAi;
let worker: RunningWorker;
let client: Client;
let connection: Connection;
let store: SqliteDefinitionStore;
let dir: string;
const taskQueue = unique('ai-budgets');
const PRICE = { input_per_1m: 0.15, output_per_1m: 0.6 };
/** 10,000 input tokens at PRICE: 0.0015 USD a call. */
const CALL = { prompt_tokens: 10_000, completion_tokens: 0 };
const CALL_USD = 0.0015;

before(async () => {
  fake = await startFakeOpenAi();
  dir = mkdtempSync(join(tmpdir(), 'weft-budgets-'));
  store = new SqliteDefinitionStore(join(dir, 'defs.db'));
  worker = await startTestWorker(taskQueue, {
    definitions: store,
    activityDeps: { ai: { baseURL: fake.url, apiKey: fake.apiKey, models: {}, prices: { 'gpt-test-mini': PRICE } } },
  });
  ({ client, connection } = await connectClient());
});
after(async () => {
  await worker?.shutdown();
  await connection?.close();
  await fake?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => fake.reset());

/** Answers every request with its own prompt, at CALL tokens. */
const echoPrompt = (count: number) =>
  fake.enqueue(
    ...Array.from({ length: count }, () => (request: { body: any }) => ({
      content: String(request.body.messages.at(-1).content),
      usage: CALL,
    })),
  );
const ai = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'ai',
  model: 'gpt-test-mini',
  prompt_template: `say ${id}`,
  retry_policy: { max_attempts: 1 },
  ...extra,
});
const near = (a: number, b: number) => Math.abs(a - b) < 1e-9;

describe('AI budgets', () => {
  test('a map of AI calls pauses once the budget is reached; raising it runs the rest', async () => {
    echoPrompt(5);
    const words = ['a', 'b', 'c', 'd', 'e'];
    const handle = await startRun(client, taskQueue, aiMapDefinition('gpt-test-mini', 0.002, words, 1));
    const paused = await waitForState(handle, (s) => s.status === 'paused' && s.active_nodes.length > 0);
    assert.match(paused.pause_reason ?? '', /^budget_exceeded: /);
    assert.equal(paused.nodes.each?.status, 'running');
    assert.equal(fake.requests.length, 2, 'the third item would have started over budget');
    assert.ok(near(paused.cost.usd, 2 * CALL_USD), JSON.stringify(paused.cost));

    await handle.executeUpdate('control', { args: [{ type: 'resume', by: 'finance', max_cost_usd: 1 }] });
    const result = (await handle.result()) as Record<string, unknown>;
    assert.deepEqual(result.said, ['say a', 'say b', 'say c', 'say d', 'say e']);
    assert.equal(fake.requests.length, 5);
  });

  test('parallel branches: the calls in flight finish, none starts after the budget is reached', async () => {
    echoPrompt(4);
    const handle = await startRun(client, taskQueue, {
      id: 'parallel-budget',
      options: { max_cost_usd: 0.001 },
      nodes: [ai('a'), ai('b'), ai('a2'), ai('b2')],
      edges: [
        { from: 'a', to: 'a2' },
        { from: 'b', to: 'b2' },
      ],
    });
    const paused = await waitForState(
      handle,
      (s) => s.status === 'paused' && s.nodes.a?.status === 'completed' && s.nodes.b?.status === 'completed',
    );
    assert.match(paused.pause_reason ?? '', /^budget_exceeded: /);
    assert.equal(paused.nodes.a2?.status, 'pending');
    assert.equal(paused.nodes.b2?.status, 'pending');
    assert.equal(fake.requests.length, 2);
    assert.ok(near(paused.cost.usd, 2 * CALL_USD));
  });

  test("a child stops at what is left of its parent's budget, and its cost rolls up into the parent's", async () => {
    echoPrompt(4);
    const child = unique('budget-child').replace(/[^a-z0-9-]/g, '-');
    await store.submit(
      versioned({
        id: child,
        nodes: [ai('c1'), ai('c2'), ai('c3'), { id: 'out', type: 'end', result: '{ "said": nodes.c3.output }' }],
        edges: [
          { from: 'c1', to: 'c2' },
          { from: 'c2', to: 'c3' },
          { from: 'c3', to: 'out' },
        ],
      }),
      'test',
    );
    const handle = await startRun(client, taskQueue, {
      id: 'parent-budget',
      options: { max_cost_usd: 0.004 },
      nodes: [
        ai('first'),
        { id: 'kid', type: 'subworkflow', definition: child, inputs: {}, output: 'kid' },
        ai('last'),
      ],
      edges: [
        { from: 'first', to: 'kid' },
        { from: 'kid', to: 'last' },
      ],
    });
    // 0.0025 USD was left for the child: c1 and c2 fit under it, c3 would start over it.
    await waitForState(handle, (s) => s.nodes.kid?.status === 'running');
    const kid = client.workflow.getHandle(`${handle.workflowId}.kid-2`);
    const paused = await waitForState(kid, (s) => s.status === 'paused');
    assert.match(paused.pause_reason ?? '', /^budget_exceeded: .* its budget is 0\.0025 USD$/);
    assert.equal(paused.nodes.c3?.status, 'pending');
    assert.equal(fake.requests.length, 3);

    await kid.executeUpdate('control', { args: [{ type: 'resume', by: 'finance', max_cost_usd: 1 }] });
    const parent = await waitForState(handle, (s) => s.status === 'paused');
    assert.match(parent.pause_reason ?? '', /^budget_exceeded: /);
    assert.equal(parent.nodes.last?.status, 'pending');
    assert.equal(fake.requests.length, 4, 'the parent made no call past its budget');
    assert.ok(near(parent.nodes.kid?.cost?.usd ?? 0, 3 * CALL_USD), JSON.stringify(parent.nodes.kid));
    assert.ok(near(parent.cost.usd, 4 * CALL_USD), JSON.stringify(parent.cost));
    assert.deepEqual(parent.cost.tokens, { input: 40_000, output: 0 });
    assert.deepEqual(parent.variables.kid, { said: 'say c3' }, 'the node output is the child result, no cost in it');
    // The gateway answers the child's own result, as it answers any run's.
    const runs = new RunService({ client, taskQueue, namespace: 'default', uiUrl: 'http://ui.test' });
    assert.deepEqual(await runs.result(kid.workflowId), { status: 'completed', result: { said: 'say c3' } });
  });

  test("children running at once share the parent's budget: the one started second gets what the first was not handed", async () => {
    echoPrompt(2);
    const child = unique('sibling').replace(/[^a-z0-9-]/g, '-');
    await store.submit(versioned({ id: child, nodes: [ai('c1')] }), 'test');
    // 0.002 USD: room for one call of 0.0015, not two. Both children start at once.
    const handle = await startRun(client, taskQueue, {
      id: 'parallel-children',
      options: { max_cost_usd: 0.002 },
      nodes: [
        { id: 'k1', type: 'subworkflow', definition: child, inputs: {} },
        { id: 'k2', type: 'subworkflow', definition: child, inputs: {} },
      ],
    });
    const started = await waitForState(
      handle,
      (s) => s.nodes.k1?.status === 'running' && s.nodes.k2?.status === 'running',
    );
    assert.equal(started.status, 'running');
    const children = async () => {
      const { events } = await handle.fetchHistory();
      return (events ?? []).flatMap((e) => {
        const id = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
        return id ? [id] : [];
      });
    };
    const ids = await until(
      'both children to start',
      async () => {
        const started = await children();
        return started.length >= 2 ? started : undefined;
      },
      180_000,
      100,
    );
    assert.equal(ids.length, 2, JSON.stringify(ids));
    // One of them was handed nothing: the other holds the whole remainder until it ends.
    const handles = ids.map((id) => client.workflow.getHandle(id));
    const held = await until(
      'a child to pause for its budget',
      async () => {
        for (const h of handles) {
          const state = await runState(h).catch(() => undefined);
          if (state?.status === 'paused') return { handle: h, state };
        }
        return undefined;
      },
      180_000,
      100,
    );
    assert.match(held.state.pause_reason ?? '', /^budget_exceeded: .* its budget is 0 USD$/);
    assert.equal(held.state.nodes.c1?.status, 'pending');
    const other = handles.find((h) => h.workflowId !== held.handle.workflowId);
    await other?.result();
    assert.equal(fake.requests.length, 1, 'only the call the budget had room for was made');
    const second = held.handle;

    await second.executeUpdate('control', { args: [{ type: 'resume', by: 'finance', max_cost_usd: 1 }] });
    await handle.result();
    const parent = await runState(handle);
    assert.equal(fake.requests.length, 2);
    assert.ok(near(parent.cost.usd, 2 * CALL_USD), JSON.stringify(parent.cost));
  });

  test("a failed child's cost still counts in its parent", async () => {
    echoPrompt(1);
    const child = unique('failing-child').replace(/[^a-z0-9-]/g, '-');
    await store.submit(
      versioned({
        id: child,
        nodes: [ai('c1'), { id: 'stop', type: 'end', status: 'failed', message: 'no good' }],
        edges: [{ from: 'c1', to: 'stop' }],
      }),
      'test',
    );
    const handle = await startRun(client, taskQueue, {
      id: 'parent-of-failed',
      nodes: [
        { id: 'kid', type: 'subworkflow', definition: child, inputs: {} },
        { id: 'caught', type: 'set', assign: { why: 'error.type' } },
      ],
      edges: [{ from: 'kid', to: 'caught', on: 'error' }],
    });
    const result = (await handle.result()) as Record<string, unknown>;
    assert.equal(result.why, 'EndFailed');
    const state = await runState(handle);
    assert.ok(near(state.cost.usd, CALL_USD), JSON.stringify(state.cost));
    assert.ok(near(state.nodes.kid?.cost?.usd ?? 0, CALL_USD));
  });
});

describe('AI prices', () => {
  test('a common model is priced from the default table, with no WEFT_AI_PRICES entry', async () => {
    fake.enqueue({ content: 'hi', usage: { prompt_tokens: 100_000, completion_tokens: 10_000 } });
    const handle = await startRun(client, taskQueue, {
      id: 'default-price',
      nodes: [ai('a', { model: 'gpt-4o-mini' })],
    });
    await handle.result();
    const state = await runState(handle);
    // gpt-4o-mini: 0.15 USD per 1M input, 0.60 per 1M output tokens.
    assert.ok(near(state.cost.usd, 0.015 + 0.006), JSON.stringify(state.cost));
  });

  test('a model without a price is refused before the call when the run has a budget', async () => {
    fake.enqueue({ content: 'never sent' });
    const handle = await startRun(client, taskQueue, {
      id: 'unpriced-budget',
      options: { max_cost_usd: 1 },
      nodes: [ai('a', { model: 'local-llama' })],
    });
    await assert.rejects(
      handle.result(),
      (err: unknown) =>
        err instanceof WorkflowFailedError &&
        err.cause instanceof ApplicationFailure &&
        err.cause.type === 'UnpricedModel' &&
        /model "local-llama" has no price .*options\.max_cost_usd/.test(err.cause.message),
    );
    assert.equal(fake.requests.length, 0);
  });

  test('without a budget, a model without a price costs 0 and the run history says so', async () => {
    fake.enqueue({ content: 'hi', usage: { prompt_tokens: 10, completion_tokens: 1 } });
    const handle = await startRun(client, taskQueue, { id: 'unpriced', nodes: [ai('a', { model: 'local-llama' })] });
    await handle.result();
    const state = await runState(handle);
    assert.deepEqual(state.cost, { usd: 0, tokens: { input: 10, output: 1 } });
    assert.deepEqual(
      state.history.filter((t) => t.to === 'cost_unknown').map((t) => t.note),
      ['a: model "local-llama" has no price (WEFT_AI_PRICES or the default table): its calls count as 0 USD'],
    );
  });

  test('a worker with a malformed WEFT_AI_PRICES does not start, and says which variable is wrong', async () => {
    const script = fileURLToPath(new URL('../../src/cli/worker.js', import.meta.url));
    const worker = spawn(process.execPath, [script], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: temporalAddress(),
        TEMPORAL_NAMESPACE: NAMESPACE,
        TEMPORAL_TASK_QUEUE: unique('bad-prices'),
        WEFT_DATA_DIR: dir,
        WEFT_AI_PRICES: '{"gpt-4o": {"input_per_1m": "2.5"}}',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    worker.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => worker.once('exit', resolve));
    assert.notEqual(code, 0);
    assert.match(stderr, /invalid configuration: WEFT_AI_PRICES\.gpt-4o\.input_per_1m: .*expected number/);
  });
});
