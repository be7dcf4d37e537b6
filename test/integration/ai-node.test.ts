/**
 * The `ai` node end to end on the real dev server against a local OpenAI-compatible server:
 * structured output repaired by retries, cost per node and per run from the price table, and
 * the run's budget pausing it before a call it cannot afford.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { WorkflowFailedError, type Client, type Connection } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { RunningWorker } from '../../src/worker/create-worker.js';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';
import { runState, startRun, waitForState } from '../support/runs.js';
import { connectClient, startTestWorker, unique } from '../support/temporal.js';

let fake: FakeOpenAi;
let worker: RunningWorker;
let client: Client;
let connection: Connection;
const taskQueue = unique('ai-node');
const PRICE = { input_per_1m: 0.15, output_per_1m: 0.6 };

before(async () => {
  fake = await startFakeOpenAi();
  worker = await startTestWorker(taskQueue, {
    activityDeps: {
      ai: {
        baseURL: fake.url,
        apiKey: fake.apiKey,
        models: { fast: 'gpt-test-mini' },
        prices: { 'gpt-test-mini': PRICE },
      },
    },
  });
  ({ client, connection } = await connectClient());
});
after(async () => {
  await worker?.shutdown();
  await connection?.close();
  await fake?.close();
});
beforeEach(() => fake.reset());

const schema = {
  type: 'object',
  properties: { label: { enum: ['bug', 'question'] }, confidence: { type: 'number', minimum: 0, maximum: 1 } },
  required: ['label', 'confidence'],
  additionalProperties: false,
};
const classify = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'ai',
  model: 'fast',
  system: 'You label support tickets.',
  prompt_template: 'Label this ticket: {{ vars.ticket }}',
  output_mapping: schema,
  retry_policy: { initial_interval: '100ms' },
  ...extra,
});
const cost = (input: number, output: number) => (input * PRICE.input_per_1m + output * PRICE.output_per_1m) / 1e6;

describe('ai node', () => {
  test('an answer that fails the schema twice, then passes, completes the node with attempts 3; cost adds up', async () => {
    fake.enqueue(
      { json: { label: 'feature' }, usage: { prompt_tokens: 100, completion_tokens: 10 } },
      { json: { label: 'bug', confidence: 7 }, usage: { prompt_tokens: 120, completion_tokens: 12 } },
      { json: { label: 'bug', confidence: 0.9 }, usage: { prompt_tokens: 140, completion_tokens: 14 } },
      { json: { label: 'question', confidence: 0.6 }, usage: { prompt_tokens: 50, completion_tokens: 5 } },
    );
    const handle = await startRun(
      client,
      taskQueue,
      {
        id: 'triage',
        variables: [{ name: 'ticket', type: 'string', required: true }],
        nodes: [classify('first', { output: 'first_label' }), classify('second', { output: 'second_label' })],
        edges: [{ from: 'first', to: 'second' }],
      },
      { ticket: 'The app crashes on save' },
    );
    const result = (await handle.result()) as Record<string, unknown>;
    assert.deepEqual(result.first_label, { label: 'bug', confidence: 0.9 });
    assert.deepEqual(result.second_label, { label: 'question', confidence: 0.6 });
    const state = await runState(handle);
    assert.equal(state.nodes.first?.attempts, 3);
    assert.equal(state.nodes.second?.attempts, 1);
    const firstCost = cost(100 + 120 + 140, 10 + 12 + 14);
    const secondCost = cost(50, 5);
    assert.ok(Math.abs((state.nodes.first?.cost?.usd ?? 0) - firstCost) < 1e-12);
    assert.ok(Math.abs(state.cost.usd - (firstCost + secondCost)) < 1e-12);
    assert.deepEqual(state.cost.tokens, { input: 410, output: 41 });
    assert.match(String(fake.requests[0]?.body.messages.at(-1).content), /The app crashes on save/);
  });

  test('an answer that always fails the schema fails the node with InvalidModelOutput after the bound', async () => {
    fake.enqueue(...Array.from({ length: 5 }, () => ({ json: { label: 'nope' } })));
    const handle = await startRun(client, taskQueue, {
      id: 'bad-model',
      variables: [{ name: 'ticket', type: 'string', default: 'x' }],
      nodes: [classify('only')],
    });
    await assert.rejects(
      handle.result(),
      (err: unknown) =>
        err instanceof WorkflowFailedError &&
        err.cause instanceof ApplicationFailure &&
        err.cause.type === 'InvalidModelOutput',
    );
    const state = await runState(handle);
    assert.equal(state.error?.type, 'InvalidModelOutput');
    assert.equal(fake.requests.length, 3);
    // The three answers were paid for even though none was usable.
    assert.ok(state.cost.usd > 0 && state.cost.tokens.input > 0, JSON.stringify(state.cost));
  });

  test('a budget of 0.001 USD pauses the run before its second AI call; raising it and resuming completes it', async () => {
    fake.enqueue(
      { json: { label: 'bug', confidence: 1 }, usage: { prompt_tokens: 10_000, completion_tokens: 100 } },
      { json: { label: 'question', confidence: 1 }, usage: { prompt_tokens: 10, completion_tokens: 1 } },
    );
    const handle = await startRun(client, taskQueue, {
      id: 'budget',
      variables: [{ name: 'ticket', type: 'string', default: 'x' }],
      options: { max_cost_usd: 0.001 },
      nodes: [classify('first'), classify('second', { output: 'second' })],
      edges: [{ from: 'first', to: 'second' }],
    });
    const paused = await waitForState(handle, (s) => s.status === 'paused');
    assert.match(paused.pause_reason ?? '', /^budget_exceeded: /);
    assert.equal(paused.nodes.second?.status, 'pending');
    assert.equal(fake.requests.length, 1);
    await handle.executeUpdate('control', { args: [{ type: 'resume', by: 'finance', max_cost_usd: 0.01 }] });
    const result = (await handle.result()) as Record<string, unknown>;
    assert.deepEqual(result.second, { label: 'question', confidence: 1 });
    assert.equal(fake.requests.length, 2);
  });
});
