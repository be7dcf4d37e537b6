/**
 * Limits, end to end through a real gateway and worker: an oversized body (413 naming the limit),
 * a definition with too many nodes (400 with the pointer), the per-caller rate limit (429 with
 * Retry-After, probes never limited), and a node output above the worker's bound (the run fails
 * with OutputTooLarge, not retried, and nothing oversized enters or leaves the result cache).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import { DEFAULT_MAX_NODE_OUTPUT_BYTES, maxNodeOutputBytesFromEnv } from '../../activities/output-limit.js';
import { sqliteResultCache, type ResultCache } from '../../activities/result-cache.js';
import { loadConfig } from '../../src/config.js';
import { errorHandler } from '../../src/gateway/error-handler.js';
import { rateLimit } from '../../src/gateway/rate-limit.js';
import type { RunningWorker } from '../../src/worker/create-worker.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { startTestWorker, unique } from '../support/temporal.js';

const BODY_LIMIT = 65_536;
const SMALL_OUTPUT = 4_096;
/** The JSON body the target answers on /big: about 10 KB, between the two worker limits used here. */
const BIG = { data: 'x'.repeat(10_000) };

describe('request body and definition size', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ worker: false, env: { WEFT_MAX_BODY_BYTES: String(BODY_LIMIT) } });
  });
  after(async () => {
    await stack?.close();
  });

  test('a body over WEFT_MAX_BODY_BYTES answers 413 payload_too_large naming the limit in bytes', async () => {
    const body = JSON.stringify({ id: 'big', description: 'd'.repeat(BODY_LIMIT), nodes: [] });
    const response = await stack.call('POST', '/v1/definitions', body);
    assert.equal(response.status, 413);
    assert.equal(response.body.error.code, 'payload_too_large');
    assert.match(response.body.error.message, new RegExp(`at most ${BODY_LIMIT} bytes`));
    assert.match(response.body.error.message, new RegExp(`\\(${Buffer.byteLength(body)} bytes\\)`));

    // Just under the limit the body is read, and judged as a definition.
    const fits = await stack.call('POST', '/v1/definitions/validate', {
      id: 'fits',
      description: 'd'.repeat(BODY_LIMIT - 200),
      nodes: [{ id: 'a', type: 'set', assign: { x: '1' } }],
    });
    assert.equal(fits.status, 200, JSON.stringify(fits.body));
  });

  test('a definition with 501 nodes answers 400 validation_failed with the pointer', async () => {
    const nodes = Array.from({ length: 501 }, (_, i) => ({ id: `n${i}`, type: 'set', assign: { [`v${i}`]: '1' } }));
    const response = await stack.call('POST', '/v1/definitions', { id: unique('wide'), nodes });
    assert.equal(response.status, 400);
    assert.equal(response.body.error.code, 'validation_failed');
    assert.deepEqual(response.body.error.details, [{ path: '/nodes', message: 'at most 500 nodes (found 501)' }]);

    const atLimit = await stack.call('POST', '/v1/definitions/validate', { id: 'wide', nodes: nodes.slice(0, 500) });
    assert.equal(atLimit.status, 200, JSON.stringify(atLimit.body).slice(0, 500));
  });
});

describe('rate limit', () => {
  let stack: TestStack;
  before(async () => {
    // Five requests, then one more per 12 minutes: nothing refills while the test runs.
    stack = await startTestStack({ worker: false, env: { WEFT_RATE_LIMIT: '5/1h' } });
  });
  after(async () => {
    await stack?.close();
  });

  test('the 6th request answers 429 rate_limited with Retry-After; probes are never limited', async () => {
    for (let i = 1; i <= 5; i++) {
      const response = await fetch(`${stack.gateway.url}/v1/definitions`);
      assert.equal(response.status, 200, `request ${i}`);
    }
    const limited = await fetch(`${stack.gateway.url}/v1/definitions`);
    assert.equal(limited.status, 429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 720, `Retry-After ${retryAfter}`);
    const body = (await limited.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'rate_limited');
    assert.match(body.error.message, /at most 5 at once/);
    assert.match(body.error.message, new RegExp(`retry in ${retryAfter} s`));

    // Every other route shares the caller's bucket.
    assert.equal((await fetch(`${stack.gateway.url}/v1/openapi.json`)).status, 429);

    for (let i = 0; i < 20; i++) assert.equal((await fetch(`${stack.gateway.url}/healthz`)).status, 200);
    assert.notEqual((await fetch(`${stack.gateway.url}/readyz`)).status, 429);
    assert.equal((await fetch(`${stack.gateway.url}/metrics`)).status, 200);
  });
});

describe('rate limit buckets', () => {
  let clock = 0;
  let server: ReturnType<express.Express['listen']>;
  let url: string;
  before(async () => {
    const app = express();
    app.use(
      rateLimit({
        capacity: 2,
        refillPerSecond: 0.5,
        keyOf: (req) => String(req.headers['x-caller']),
        maxKeys: 3,
        now: () => clock,
      }),
    );
    app.get('/ping', (_req, res) => void res.json({ ok: true }));
    app.use(errorHandler({ error: () => undefined }));
    await new Promise<void>((resolve) => (server = app.listen(0, '127.0.0.1', () => resolve())));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ping`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const status = async (caller: string) => (await fetch(url, { headers: { 'x-caller': caller } })).status;

  test('a bucket refills at its rate and callers count apart', async () => {
    assert.deepEqual([await status('a'), await status('a'), await status('a')], [200, 200, 429]);
    assert.equal(await status('b'), 200);
    clock += 1_000; // half a token: still empty
    const early = await fetch(url, { headers: { 'x-caller': 'a' } });
    assert.equal(early.status, 429);
    assert.equal(early.headers.get('retry-after'), '1');
    clock += 1_000;
    assert.deepEqual([await status('a'), await status('a')], [200, 429]);
  });

  test('beyond maxKeys the least recently seen caller is forgotten (and starts full again)', async () => {
    clock += 60_000;
    assert.deepEqual([await status('x'), await status('x'), await status('x')], [200, 200, 429]);
    // Three other callers push "x" out of a map of three.
    for (const caller of ['p', 'q', 'r']) assert.equal(await status(caller), 200);
    assert.equal(await status('x'), 200);
  });
});

describe('node output size', () => {
  let stack: TestStack;
  let target: HttpTarget;
  let worker: RunningWorker | undefined;
  let cache: ResultCache;
  let cacheDir: string;
  let model: FakeOpenAi;

  /** Replaces the stack's worker with one whose outputs are bounded by `maxOutputBytes`. */
  async function useWorker(maxOutputBytes: number): Promise<void> {
    await worker?.shutdown();
    const ai = {
      baseURL: model.url,
      apiKey: model.apiKey,
      prices: { 'gpt-test': { input_per_1m: 1, output_per_1m: 1 } },
    };
    worker = await startTestWorker(stack.config.taskQueue, { activityDeps: { maxOutputBytes, cache, ai } });
  }

  async function run(definitionId: string) {
    const started = await stack.call('POST', `/v1/definitions/${definitionId}/runs`, {});
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const result = await stack.call('GET', `/v1/runs/${started.body.run_id}/result?wait=true`);
    const state = await stack.call('GET', `/v1/runs/${started.body.run_id}`);
    return { result: result.body, state: state.body };
  }

  const fetchTask = (path: string, extra: Record<string, unknown> = {}) => ({
    id: 'fetch',
    type: 'task',
    connector: 'http',
    action: 'request',
    inputs: { url: `${target.url}${path}` },
    retry_policy: { max_attempts: 3, initial_interval: '100ms' },
    ...extra,
  });

  before(async () => {
    target = await startHttpTarget({
      '/big': (_req, res) => json(res, 200, BIG),
      '/small': (_req, res) => json(res, 200, { ok: true }),
    });
    model = await startFakeOpenAi();
    cacheDir = mkdtempSync(join(tmpdir(), 'weft-limits-cache-'));
    cache = sqliteResultCache(join(cacheDir, 'result-cache.db'));
    stack = await startTestStack({ worker: false });
  });
  after(async () => {
    await worker?.shutdown();
    await stack?.close();
    await target?.close();
    await model?.close();
    await cache?.close();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  test('WEFT_MAX_NODE_OUTPUT_BYTES: 256 KiB by default, and an invalid value names the variable', () => {
    assert.equal(maxNodeOutputBytesFromEnv({}), DEFAULT_MAX_NODE_OUTPUT_BYTES);
    assert.equal(DEFAULT_MAX_NODE_OUTPUT_BYTES, 262_144);
    assert.equal(maxNodeOutputBytesFromEnv({ WEFT_MAX_NODE_OUTPUT_BYTES: '4096' }), 4096);
    for (const bad of ['lots', '0', '1.5', '3000000']) {
      assert.throws(() => maxNodeOutputBytesFromEnv({ WEFT_MAX_NODE_OUTPUT_BYTES: bad }), /WEFT_MAX_NODE_OUTPUT_BYTES/);
    }
  });

  test('an output over the limit fails the run with OutputTooLarge, never retried; smaller ones pass', async () => {
    await useWorker(SMALL_OUTPUT);
    const big = unique('big-output');
    const small = unique('small-output');
    // Cached, so the next test can show an oversized output was never stored.
    const bigDefinition = { id: big, nodes: [fetchTask('/big', { cache: { ttl: '1h' } })] };
    assert.equal((await stack.call('POST', '/v1/definitions', bigDefinition)).status, 201);
    assert.equal(
      (await stack.call('POST', '/v1/definitions', { id: small, nodes: [fetchTask('/small')] })).status,
      201,
    );

    const { result, state } = await run(big);
    assert.equal(result.status, 'failed', JSON.stringify(result));
    assert.equal(result.error.type, 'OutputTooLarge');
    assert.equal(result.error.node, 'fetch');
    assert.match(
      result.error.message,
      /the output of http\.request is \d+ bytes of JSON, above the limit of 4096 bytes/,
    );
    assert.match(result.error.message, /WEFT_MAX_NODE_OUTPUT_BYTES/);
    assert.equal(state.nodes.fetch.attempts, 1);
    assert.equal(target.count('/big'), 1);

    assert.equal((await run(small)).result.status, 'completed');
  });

  test('the result cache never stores an oversized output, and never serves one', async () => {
    const big = unique('cached-output');
    const definition = { id: big, nodes: [fetchTask('/big', { cache: { ttl: '1h' }, output: 'got' })] };
    assert.equal((await stack.call('POST', '/v1/definitions', definition)).status, 201);
    const calls = target.count('/big');

    // The failed call above stored nothing: a worker with room calls the service again, and caches.
    await useWorker(64 * 1024);
    const fresh = await run(big);
    assert.equal(fresh.result.status, 'completed', JSON.stringify(fresh.result).slice(0, 500));
    assert.deepEqual(fresh.result.result.got.body, BIG);
    assert.equal(target.count('/big'), calls + 1);
    const again = await run(big);
    assert.equal(again.state.nodes.fetch.cached, true);
    assert.equal(target.count('/big'), calls + 1);

    // Under a smaller limit the cached answer is refused like a fresh one, without calling the service.
    await useWorker(SMALL_OUTPUT);
    const refused = await run(big);
    assert.equal(refused.result.status, 'failed');
    assert.equal(refused.result.error.type, 'OutputTooLarge');
    assert.match(refused.result.error.message, /http\.request \(from the result cache\)/);
    assert.equal(target.count('/big'), calls + 1);
  });

  test('an AI step whose answer is over the limit fails with OutputTooLarge, not retried, and its cost counts', async () => {
    await useWorker(SMALL_OUTPUT);
    model.enqueue(
      { content: 'y'.repeat(10_000), usage: { prompt_tokens: 1_000, completion_tokens: 2_500 } },
      { content: 'a second answer nobody should ask for' },
    );
    const id = unique('big-answer');
    const definition = {
      id,
      nodes: [
        {
          id: 'write',
          type: 'ai',
          model: 'gpt-test',
          prompt_template: 'Write a lot.',
          retry_policy: { max_attempts: 3, initial_interval: '100ms' },
        },
      ],
    };
    assert.equal((await stack.call('POST', '/v1/definitions', definition)).status, 201);
    const { result, state } = await run(id);
    assert.equal(result.status, 'failed', JSON.stringify(result).slice(0, 500));
    assert.equal(result.error.type, 'OutputTooLarge');
    assert.equal(result.error.node, 'write');
    assert.match(result.error.message, /the output of node "write" \(model "gpt-test"\) is \d+ bytes of JSON/);
    assert.equal(model.requests.length, 1);
    assert.deepEqual(state.cost.tokens, { input: 1_000, output: 2_500 });
  });
});

describe('configuration', () => {
  test('WEFT_RATE_LIMIT and WEFT_MAX_BODY_BYTES are read and checked', () => {
    assert.deepEqual(loadConfig({ WEFT_RATE_LIMIT: '5/10s' }).rateLimit, { capacity: 5, refillPerSecond: 0.5 });
    assert.deepEqual(loadConfig({ WEFT_RATE_LIMIT: '120/m' }).rateLimit, { capacity: 120, refillPerSecond: 2 });
    assert.equal(loadConfig({ WEFT_RATE_LIMIT: 'off' }).rateLimit, undefined);
    assert.equal(loadConfig({}).rateLimit, undefined);
    assert.throws(() => loadConfig({ WEFT_RATE_LIMIT: '5 per second' }), /WEFT_RATE_LIMIT/);
    assert.equal(loadConfig({}).maxBodyBytes, 2 * 1024 * 1024);
    assert.equal(loadConfig({ WEFT_MAX_BODY_BYTES: '1000' }).maxBodyBytes, 1000);
    assert.throws(() => loadConfig({ WEFT_MAX_BODY_BYTES: '-1' }), /WEFT_MAX_BODY_BYTES/);
  });
});
