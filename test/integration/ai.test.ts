/**
 * AI steps on a real Temporal worker against a local OpenAI-compatible server: retries, repair
 * rounds and Retry-After are Temporal's own, the model endpoint speaks the real protocol.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { AiRequest, AiResult } from '../../activities/ai-types.js';
import { startActivityWorker, type ActivityWorker } from '../support/activity-worker.js';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';

let fake: FakeOpenAi;
let worker: ActivityWorker;

const SENTIMENT = {
  type: 'object',
  properties: {
    sentiment: { enum: ['positive', 'neutral', 'negative'] },
    score: { type: 'number', minimum: 0, maximum: 1 },
  },
  required: ['sentiment', 'score'],
  additionalProperties: false,
};

before(async () => {
  fake = await startFakeOpenAi();
  worker = await startActivityWorker({
    ai: {
      baseURL: fake.url,
      apiKey: fake.apiKey,
      models: { fast: 'gpt-test-mini' },
      prices: { 'gpt-test-mini': { input_per_1m: 0.15, output_per_1m: 0.6 } },
    },
  });
});

after(async () => {
  await worker?.shutdown();
  await fake?.close();
});

beforeEach(() => fake.reset());

async function ai(request: AiRequest, maximumAttempts = 10): Promise<AiResult> {
  const outcome = await worker.call('runAi', request, { maximumAttempts });
  if (!outcome.ok) throw new Error(`runAi failed: ${outcome.error.type}: ${outcome.error.message}`);
  return outcome.value as AiResult;
}

describe('runAi', () => {
  test('a plain text answer: alias resolved, parameters passed, tokens and cost from usage', async () => {
    fake.enqueue({ content: 'Hello, Ada.', usage: { prompt_tokens: 1200, completion_tokens: 300 } });
    const result = await ai({
      node: 'greet',
      model: 'fast',
      system: 'Be brief.',
      prompt: 'Greet Ada.',
      parameters: { temperature: 0.2, max_tokens: 50 },
    });
    assert.deepEqual(result, {
      output: 'Hello, Ada.',
      attempt: 1,
      repairs: 0,
      model: 'gpt-test-mini',
      usage: { input_tokens: 1200, output_tokens: 300 },
      // 1200 × 0.15 / 1e6 + 300 × 0.6 / 1e6
      cost_usd: 0.00036,
    });
    assert.equal(fake.requests.length, 1);
    const body = fake.requests[0]?.body;
    assert.equal(body.model, 'gpt-test-mini');
    assert.equal(body.temperature, 0.2);
    assert.equal(body.max_tokens, 50);
    assert.equal(body.response_format, undefined);
    assert.deepEqual(body.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Greet Ada.' },
    ]);
  });

  test('a model without a price costs 0; prices are per million tokens', async () => {
    fake.enqueue({ content: 'x', usage: { prompt_tokens: 1_000_000, completion_tokens: 2_000_000 } });
    assert.equal((await ai({ node: 'a', model: 'fast', prompt: 'p' })).cost_usd, 1.35);
    fake.enqueue({ content: 'x', usage: { prompt_tokens: 50, completion_tokens: 50 } });
    const unpriced = await ai({ node: 'b', model: 'some-other-model', prompt: 'p' });
    assert.equal(unpriced.model, 'some-other-model');
    assert.equal(unpriced.cost_usd, 0);
    assert.deepEqual(unpriced.usage, { input_tokens: 50, output_tokens: 50 });
  });

  test('a JSON Schema mapping asks for structured output and returns the valid answer', async () => {
    fake.enqueue({ json: { sentiment: 'positive', score: 0.9 } });
    const result = await ai({ node: 'classify', model: 'fast', prompt: 'Rate: great!', output_mapping: SENTIMENT });
    assert.deepEqual(result.output, { sentiment: 'positive', score: 0.9 });
    assert.equal(result.attempt, 1);
    assert.deepEqual(fake.requests[0]?.body.response_format, {
      type: 'json_schema',
      json_schema: { name: 'classify', schema: SENTIMENT, strict: false },
    });
  });

  test('an answer that fails the schema twice is repaired: attempt 3, the third request carries the repair', async () => {
    fake.enqueue(
      { content: 'I think it is positive', usage: { prompt_tokens: 10, completion_tokens: 5 } },
      { json: { sentiment: 'glowing', score: 3 }, usage: { prompt_tokens: 20, completion_tokens: 6 } },
      { json: { sentiment: 'positive', score: 0.8 }, usage: { prompt_tokens: 30, completion_tokens: 7 } },
    );
    const result = await ai({ node: 'classify', model: 'fast', prompt: 'Rate: great!', output_mapping: SENTIMENT });
    assert.deepEqual(result.output, { sentiment: 'positive', score: 0.8 });
    assert.equal(result.attempt, 3);
    assert.equal(result.repairs, 2);
    // Tokens of the answers that had to be repaired were paid for too.
    assert.deepEqual(result.usage, { input_tokens: 60, output_tokens: 18 });
    assert.equal(fake.requests.length, 3);

    const second = fake.requests[1]?.body.messages as Array<{ role: string; content: string }>;
    assert.equal(second.length, 3);
    assert.deepEqual(second[1], { role: 'assistant', content: 'I think it is positive' });
    assert.match(second[2]?.content ?? '', /could not be used:\n- the answer is not valid JSON/);

    const third = fake.requests[2]?.body.messages as Array<{ role: string; content: string }>;
    assert.deepEqual(
      third.map((m) => m.role),
      ['user', 'assistant', 'user', 'assistant', 'user'],
    );
    assert.equal(third[3]?.content, JSON.stringify({ sentiment: 'glowing', score: 3 }));
    assert.match(third[4]?.content ?? '', /could not be used/);
    assert.match(third[4]?.content ?? '', /sentiment: Invalid option/);
    assert.match(third[4]?.content ?? '', /score: Too big/);
    assert.match(third[4]?.content ?? '', /satisfies the required schema/);
  });

  test('an answer that never fits fails with a non-retryable InvalidModelOutput after max_repairs', async () => {
    fake.enqueue({ content: 'nope' }, { content: 'still nope' }, { content: 'never' }, { content: 'not asked for' });
    const outcome = await worker.call(
      'runAi',
      { node: 'classify', model: 'fast', prompt: 'Rate', output_mapping: SENTIMENT },
      { maximumAttempts: 10 },
    );
    assert.equal(outcome.ok, false);
    if (outcome.ok) return;
    assert.equal(outcome.error.type, 'InvalidModelOutput');
    assert.equal(outcome.error.nonRetryable, true);
    assert.match(outcome.error.message, /node "classify".*not valid JSON.*after 2 repair/);
    assert.equal(fake.requests.length, 3);
    const details = outcome.error.details[0] as { attempt: number; detail: { answer: string; repairs: number } };
    assert.equal(details.attempt, 3);
    assert.equal(details.detail.answer, 'never');

    fake.reset();
    fake.enqueue({ content: 'nope' }, { content: 'not asked for' });
    const strict = await worker.call(
      'runAi',
      { node: 'classify', model: 'fast', prompt: 'Rate', output_mapping: SENTIMENT, max_repairs: 0 },
      { maximumAttempts: 10 },
    );
    assert.equal(strict.ok ? 'ok' : strict.error.type, 'InvalidModelOutput');
    assert.equal(fake.requests.length, 1);
  });

  test('a { var: jsonata } mapping evaluates over the parsed answer, or the raw text', async () => {
    fake.enqueue({ json: { customer: { name: 'Ada' }, items: [{ price: 2 }, { price: 3.5 }] } });
    const mapped = await ai({
      node: 'extract',
      model: 'fast',
      prompt: 'p',
      output_mapping: { name: 'customer.name', total: '$sum(items.price)', missing: 'nothing.here' },
    });
    assert.deepEqual(mapped.output, { name: 'Ada', total: 5.5, missing: null });
    assert.equal(fake.requests[0]?.body.response_format, undefined);

    fake.enqueue({ content: 'plain words' });
    const raw = await ai({ node: 'shout', model: 'fast', prompt: 'p', output_mapping: { loud: '$uppercase($)' } });
    assert.deepEqual(raw.output, { loud: 'PLAIN WORDS' });
  });

  test('429 is retried by Temporal after the Retry-After delay, then succeeds', async () => {
    fake.enqueue(
      { status: 429, headers: { 'retry-after': '1' }, error: { message: 'Rate limit reached', type: 'requests' } },
      { content: 'fine now' },
    );
    const result = await ai({ node: 'limited', model: 'fast', prompt: 'p' });
    assert.equal(result.output, 'fine now');
    assert.equal(result.attempt, 2);
    const [first, second] = fake.requests;
    // The retry policy says 100 ms; the server said 1 s.
    assert.ok(second!.at - first!.at >= 950, `retried after ${second!.at - first!.at} ms`);
  });

  test('5xx is ModelUnavailable (retryable); 400 is a non-retryable ModelError; exhausted quota is not retried', async () => {
    fake.enqueue({ status: 503 }, { content: 'back' });
    assert.equal((await ai({ node: 'flaky', model: 'fast', prompt: 'p' })).attempt, 2);

    fake.reset();
    fake.enqueue({ status: 400, error: { message: 'bad thing', type: 'invalid_request_error' } });
    const bad = await worker.call('runAi', { node: 'bad', model: 'fast', prompt: 'p' }, { maximumAttempts: 5 });
    assert.equal(bad.ok ? 'ok' : `${bad.error.type} ${bad.error.nonRetryable}`, 'ModelError true');
    assert.equal(fake.requests.length, 1);
    // The failure names the endpoint it hit (origin and path), never the API key.
    assert.ok(
      !bad.ok && bad.error.message.startsWith(`model "gpt-test-mini" at ${fake.url} answered 400`),
      bad.ok ? '' : bad.error.message,
    );
    assert.ok(!bad.ok && !bad.error.message.includes(fake.apiKey));

    fake.reset();
    fake.enqueue({ status: 429, error: { message: 'quota', type: 'insufficient_quota', code: 'insufficient_quota' } });
    const quota = await worker.call('runAi', { node: 'broke', model: 'fast', prompt: 'p' }, { maximumAttempts: 5 });
    assert.equal(quota.ok ? 'ok' : `${quota.error.type} ${quota.error.nonRetryable}`, 'RateLimited true');
    assert.equal(fake.requests.length, 1);
  });

  test('unknown parameters and malformed mappings are InvalidParams, and no request is sent', async () => {
    const unknown = await worker.call(
      'runAi',
      { node: 'n', model: 'fast', prompt: 'p', parameters: { temprature: 1 } },
      { maximumAttempts: 5 },
    );
    assert.equal(unknown.ok, false);
    if (unknown.ok) return;
    assert.equal(unknown.error.type, 'InvalidParams');
    assert.match(unknown.error.message, /temprature/);

    const mapping = await worker.call(
      'runAi',
      { node: 'n', model: 'fast', prompt: 'p', output_mapping: { total: 42 } },
      { maximumAttempts: 5 },
    );
    assert.equal(mapping.ok ? 'ok' : mapping.error.type, 'InvalidParams');
    assert.equal(fake.requests.length, 0);
  });
});
