/**
 * Flow control over HTTP: `resource_limits` fields weft does not enforce (or that make no sense)
 * are refused at submit with a problem at their pointer (never accepted and ignored), the served
 * JSON Schema says so, `GET /v1/runs/{id}` shows a run waiting for a permit with its key and
 * place in line, `rate_per_second` spreads the starts of a node's calls across runs (and `burst`
 * lets that many start at once, the next waiting for a token), and a
 * priority-5 run overtakes the priority-1 runs waiting in line.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { unique } from '../support/temporal.js';
import { until as poll, untilTrue } from '../support/poll.js';

let stack: TestStack;
let target: HttpTarget;
const held: ServerResponse[] = [];
/** Arrivals at `/stamp` (answered at once): when, and the `tag` query parameter. */
const stamps: { at: number; tag: string }[] = [];
/** Arrivals at `/line` (held until answered): the `tag` query parameter. */
const line: { res: ServerResponse; tag: string }[] = [];

before(async () => {
  target = await startHttpTarget({
    '/held': (_req, res) => void held.push(res),
    '/stamp': (req, res) => {
      stamps.push({ at: Date.now(), tag: req.query.tag ?? '' });
      json(res, 200, {});
    },
    '/line': (req, res) => void line.push({ res, tag: req.query.tag ?? '' }),
  });
  stack = await startTestStack();
});
after(async () => {
  for (const res of held) res.destroy();
  for (const { res } of line) res.destroy();
  await stack?.close();
  await target?.close();
});

const definition = (id: string, limits: Record<string, unknown>) => ({
  id,
  variables: [{ name: 'customer', type: 'string', default: 'acme' }],
  nodes: [
    {
      id: 'call',
      type: 'task',
      connector: 'http',
      action: 'request',
      resource_limits: limits,
      inputs: { url: `${target.url}/held`, timeout: '120s' },
    },
  ],
});

/** One limited task calling `path` on the target with the run's `tag` (its default: `tag`). */
const tagged = (id: string, path: string, limits: Record<string, unknown>, tag = '') => ({
  id,
  variables: [{ name: 'tag', type: 'string', default: tag }],
  nodes: [
    {
      id: 'call',
      type: 'task',
      connector: 'http',
      action: 'request',
      resource_limits: limits,
      inputs: { url: `${target.url}${path}`, query: { tag: '{{ vars.tag }}' }, timeout: '120s' },
    },
  ],
});

test('a memory_mb that is not a whole number of MB, a burst without a rate and a rate out of range are refused at submit and at /validate, each at its pointer', async () => {
  for (const path of ['/v1/definitions', '/v1/definitions/validate']) {
    for (const [limits, pointer, message] of [
      [{ max_concurrency: 2, memory_mb: 0 }, 'memory_mb', /1/],
      [{ max_concurrency: 2, burst: 4 }, 'burst', /burst needs rate_per_second/],
      [{ rate_per_second: 500 }, 'rate_per_second', /100/],
      [{ rate_per_second: 2, burst: 0 }, 'burst', /1/],
    ] as const) {
      const refused = await stack.call('POST', path, definition(unique('refused'), limits));
      assert.equal(refused.status, 400, JSON.stringify(refused.body));
      assert.equal(refused.body.error.code, 'validation_failed');
      const problems = refused.body.error.details as Array<{ path: string; message: string }>;
      assert.deepEqual(
        problems.map((p) => p.path),
        [`/nodes/0/resource_limits/${pointer}`],
        JSON.stringify(problems),
      );
      assert.match(problems[0]?.message ?? '', message);
    }
  }
  const accepted = await stack.call(
    'POST',
    '/v1/definitions/validate',
    definition(unique('rated'), { rate_per_second: 2, burst: 3, concurrency_key: 'vars.customer' }),
  );
  assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
  const weighed = await stack.call(
    'POST',
    '/v1/definitions/validate',
    definition(unique('weighed'), { memory_mb: 256 }),
  );
  assert.equal(weighed.status, 200, JSON.stringify(weighed.body));
});

test('rate_per_second: 2 across 10 runs: the calls reach the server spread over at least 4.5 s', async () => {
  const id = unique('rated');
  const submitted = await stack.call('POST', '/v1/definitions', tagged(id, '/stamp', { rate_per_second: 2 }));
  assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
  const runs = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      stack.call('POST', `/v1/definitions/${id}/runs`, { input: { tag: `${id}-${i}` } }),
    ),
  );
  for (const run of runs) assert.equal(run.status, 201, JSON.stringify(run.body));
  for (const run of runs) {
    const result = await stack.call('GET', `/v1/runs/${run.body.run_id}/result?wait=true`);
    assert.equal(result.body.status, 'completed', JSON.stringify(result.body));
  }
  const mine = stamps.filter((s) => s.tag.startsWith(`${id}-`)).map((s) => s.at);
  assert.equal(mine.length, 10);
  // A burst of 1: one start per 0.5 s, so the 10th call is at least 9 × 0.5 s after the first.
  const spread = Math.max(...mine) - Math.min(...mine);
  assert.ok(spread >= 4500, `10 calls at 2 per second took ${spread} ms from first to last`);
});

test('burst: 2 at rate_per_second 0.01 lets two calls start at once, and the third waits in line for a token', async () => {
  const id = unique('burst');
  const submitted = await stack.call(
    'POST',
    '/v1/definitions',
    tagged(id, '/line', { rate_per_second: 0.01, burst: 2 }),
  );
  assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
  const start = async (tag: string) => {
    const run = await stack.call('POST', `/v1/definitions/${id}/runs`, { input: { tag } });
    assert.equal(run.status, 201, JSON.stringify(run.body));
    return run.body.run_id as string;
  };
  const mine = () => line.filter((l) => l.tag.startsWith(id));
  const runs = [await start(`${id}-1`), await start(`${id}-2`)];
  // Both held by the target at once: the bucket had two tokens.
  await poll('two calls in flight', () => Promise.resolve(mine().length === 2 || undefined));
  runs.push(await start(`${id}-3`));
  // The third gets no token for 100 s: it waits first in line, with no call made.
  await poll('the third first in line', async () => {
    const state = (await stack.call('GET', `/v1/runs/${runs[2]}`)).body;
    return state.nodes?.call?.permit?.position === 1 || undefined;
  });
  const waiting = (await stack.call('GET', `/v1/runs/${runs[2]}`)).body;
  assert.equal(waiting.nodes.call.status, 'waiting', JSON.stringify(waiting));
  assert.equal(mine().length, 2);
  // A free place (the calls end) does not help without a token.
  for (const { res } of mine()) json(res, 200, {});
  for (const run of runs.slice(0, 2)) {
    const result = await stack.call('GET', `/v1/runs/${run}/result?wait=true`);
    assert.equal(result.body.status, 'completed', JSON.stringify(result.body));
  }
  const still = (await stack.call('GET', `/v1/runs/${runs[2]}`)).body;
  assert.equal(still.nodes.call.status, 'waiting', JSON.stringify(still));
  assert.equal(mine().length, 2);
  const cancelled = await stack.call('POST', `/v1/runs/${runs[2]}/cancel`, {});
  assert.ok(cancelled.status < 300, JSON.stringify(cancelled.body));
});

test('priority: a queued request of a priority-5 run is granted before the queued priority-1 ones', async () => {
  const id = unique('prio');
  const version = (priority: number, tag: string) => ({
    ...tagged(id, '/line', { max_concurrency: 1 }, tag),
    options: { priority },
  });
  const low = await stack.call('POST', '/v1/definitions', version(1, 'low'));
  assert.equal(low.status, 201, JSON.stringify(low.body));
  const start = async (tag: string) => {
    const run = await stack.call('POST', `/v1/definitions/${id}/runs`, { input: { tag } });
    assert.equal(run.status, 201, JSON.stringify(run.body));
    return run.body.run_id as string;
  };
  const position = async (run: string) =>
    (await stack.call('GET', `/v1/runs/${run}`)).body.nodes?.call?.permit?.position as number | undefined;
  // Calls of this test only (earlier tests' calls stay in `line`).
  const base = line.length;
  const ours = () => line.slice(base);
  const holder = await start('holder');
  await untilTrue('the holder to call', () => ours().length === 1, 120_000, 50);
  const lows: string[] = [];
  for (const tag of ['low-1', 'low-2', 'low-3']) {
    const run = await start(tag);
    lows.push(run);
    await poll(`${tag} in line at ${lows.length}`, async () => (await position(run)) === lows.length || undefined);
  }
  // A newer version of the definition, with priority 5: its runs share the node's limiter.
  const high = await stack.call('POST', '/v1/definitions', version(5, 'high'));
  assert.equal(high.status, 201, JSON.stringify(high.body));
  const urgent = await start('high');
  await poll('the priority-5 run first in line', async () => (await position(urgent)) === 1 || undefined);
  await poll('low-1 second in line', async () => (await position(lows[0] as string)) === 2 || undefined);
  for (let answered = 0; answered < 5; answered++) {
    await untilTrue(`call ${answered + 1}`, () => ours().length > answered, 120_000, 50);
    json((ours()[answered] as { res: ServerResponse }).res, 200, {});
  }
  assert.deepEqual(
    ours().map((l) => l.tag),
    ['holder', 'high', 'low-1', 'low-2', 'low-3'],
  );
  for (const run of [holder, urgent, ...lows]) {
    const result = await stack.call('GET', `/v1/runs/${run}/result?wait=true`);
    assert.equal(result.body.status, 'completed', JSON.stringify(result.body));
  }
});

test('the served JSON Schema describes what resource_limits does', async () => {
  const schema = await stack.call('GET', '/v1/schema/definition.json');
  const text = JSON.stringify(schema.body);
  assert.match(text, /across all runs of the definition/);
  assert.match(text, /concurrency_key/);
  assert.match(text, /token bucket/);
  assert.match(text, /reserves from the memory budget of the worker process that runs it/);
  assert.match(text, /MemoryBudgetExceeded/);
  assert.doesNotMatch(text, /Not supported/);
});

test('GET /v1/runs/{id} shows a run waiting for a permit, with its key and place in line', async () => {
  const id = unique('flow');
  const submitted = await stack.call(
    'POST',
    '/v1/definitions',
    definition(id, { max_concurrency: 1, concurrency_key: 'vars.customer' }),
  );
  assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
  const first = await stack.call('POST', `/v1/definitions/${id}/runs`, { input: {} });
  assert.equal(first.status, 201, JSON.stringify(first.body));
  await untilTrue('the first call', () => held.length === 1, 120_000, 50);
  const second = await stack.call('POST', `/v1/definitions/${id}/runs`, { input: {} });
  const state = await poll(
    'the second run to show its place in line',
    async () => {
      const body = (await stack.call('GET', `/v1/runs/${second.body.run_id}`)).body;
      return body.nodes?.call?.permit?.position !== undefined ? body : undefined;
    },
    120_000,
    100,
  );
  assert.equal(state.nodes.call.status, 'waiting', JSON.stringify(state));
  assert.deepEqual(state.nodes.call.permit, { key: 'acme', position: 1, waiting: 1 });
  for (const res of held.splice(0)) json(res, 200, {});
  await untilTrue('the second call', () => held.length === 1, 120_000, 50);
  for (const res of held.splice(0)) json(res, 200, {});
  for (const run of [first, second]) {
    const result = await stack.call('GET', `/v1/runs/${run.body.run_id}/result?wait=true`);
    assert.equal(result.body.status, 'completed', JSON.stringify(result.body));
  }
});
