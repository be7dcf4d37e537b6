/**
 * An `ai` step survives the loss of its worker: the worker process is killed (SIGKILL) while
 * the model is still thinking (the fake endpoint holds its first answer for 30 s), a new
 * worker process starts, the attempt times out after the node's 4 s `timeout` and its retry
 * on the new worker completes the run. The model endpoint sees exactly two calls (never a
 * third), and the run's cost is that of the one answer it got.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import type { Client, Connection } from '@temporalio/client';
import { untilTrue, stays } from '../support/poll.js';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';
import { runState, startRun } from '../support/runs.js';
import { connectClient, unique } from '../support/temporal.js';
import { workerProcesses, type WorkerProcesses } from '../support/worker-process.js';

const taskQueue = unique('ai-kill');
const PRICE = { input_per_1m: 0.15, output_per_1m: 0.6 };
let workers: WorkerProcesses;
let fake: FakeOpenAi;
let client: Client;
let connection: Connection;

before(async () => {
  fake = await startFakeOpenAi();
  workers = workerProcesses(taskQueue, {
    OPENAI_BASE_URL: fake.url,
    OPENAI_API_KEY: fake.apiKey,
    WEFT_AI_MODELS: JSON.stringify({ fast: 'gpt-test-mini' }),
    WEFT_AI_PRICES: JSON.stringify({ 'gpt-test-mini': PRICE }),
  });
  ({ client, connection } = await connectClient());
});

after(async () => {
  workers?.cleanup();
  await connection?.close();
  await fake?.close();
});

test('an ai call in flight when its worker is SIGKILLed is retried once on a new worker; the run completes', async () => {
  const answer = { label: 'bug', confidence: 0.8 };
  fake.enqueue(
    // The first call hangs past the kill (the worker is gone before it could answer).
    { json: { label: 'question', confidence: 0.1 }, delay_ms: 30_000 },
    { json: answer, usage: { prompt_tokens: 200, completion_tokens: 20 } },
  );
  const first = workers.spawn();
  const handle = await startRun(
    client,
    taskQueue,
    {
      id: 'ai-kill',
      variables: [{ name: 'ticket', type: 'string', required: true }],
      nodes: [
        {
          id: 'classify',
          type: 'ai',
          model: 'fast',
          prompt_template: 'Label this ticket: {{ vars.ticket }}',
          output_mapping: {
            type: 'object',
            properties: { label: { enum: ['bug', 'question'] }, confidence: { type: 'number' } },
            required: ['label', 'confidence'],
          },
          output: 'label',
          timeout: '4s',
          retry_policy: { initial_interval: '200ms', max_attempts: 5 },
        },
        { id: 'after', type: 'set', assign: { done: 'true' } },
      ],
      edges: [{ from: 'classify', to: 'after' }],
    },
    { ticket: 'The app crashes on save' },
  );

  await untilTrue('the first model call to arrive', () => fake.requests.length === 1, 60_000, 50);
  first.kill('SIGKILL');
  await once(first, 'exit');
  const killedAt = Date.now();
  workers.spawn();

  const result = (await handle.result()) as { label: unknown; done: boolean };
  assert.deepEqual(result.label, answer);
  assert.equal(result.done, true);
  // The retry came once the 4 s attempt timeout expired, not after the 30 s answer.
  assert.equal(fake.requests.length, 2);
  const retryAfterKill = fake.requests[1]!.at - killedAt;
  assert.ok(retryAfterKill < 25_000, `the retry came ${retryAfterKill} ms after the kill`);
  for (const request of fake.requests) {
    assert.equal(request.body.model, 'gpt-test-mini');
    assert.match(String(request.body.messages.at(-1).content), /The app crashes on save/);
  }

  const state = await runState(handle);
  assert.equal(state.status, 'completed');
  assert.equal(state.nodes.classify?.status, 'completed');
  assert.equal(state.nodes.classify?.attempts, 2);
  const usd = (200 * PRICE.input_per_1m + 20 * PRICE.output_per_1m) / 1e6;
  assert.ok(Math.abs(state.cost.usd - usd) < 1e-12, `cost ${state.cost.usd} ≠ ${usd}`);
  assert.deepEqual(state.cost.tokens, { input: 200, output: 20 });

  // No late third call (e.g. a retry of an attempt that had in fact completed).
  await stays('two model calls, no more', () => fake.requests.length === 2, 1_000);
});
