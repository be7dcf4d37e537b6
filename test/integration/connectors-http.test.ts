/**
 * The `http` connector through a real Temporal worker against a real local HTTP server:
 * request shapes, redirects, timeouts, Retry-After as Temporal's retry delay, size limits.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { ConnectorResult } from '../../activities/index.js';
import { startActivityWorker, type ActivityWorker } from '../support/activity-worker.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import type { CallOutcome } from '../support/test-workflows.js';
import { pause } from '../support/poll.js';

let target: HttpTarget;
let worker: ActivityWorker;
const arrivals = new Map<string, number[]>();

function withHeaders(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function arrived(path: string): void {
  arrivals.set(path, [...(arrivals.get(path) ?? []), Date.now()]);
}

before(async () => {
  target = await startHttpTarget({
    '/echo': (req, res) =>
      json(res, 200, {
        method: req.method,
        query: new URL(req.url, 'http://x').search,
        type: req.headers['content-type'],
        token: req.headers['x-token'],
        body: req.body,
      }),
    '/multi': (_req, res) => json(res, 200, { ok: true }),
    '/redirect': (_req, res) => {
      res.writeHead(302, { location: '/multi' });
      res.end();
    },
    '/slow': async (_req, res) => {
      await pause(1_000, 'a server slower than the timeout under test');
      json(res, 200, { late: true });
    },
    '/limited': (req, res, nth) => {
      arrived(req.path);
      if (nth === 1) return withHeaders(res, 429, { error: 'slow down' }, { 'retry-after': '1' });
      json(res, 200, { nth });
    },
    '/maintenance': (req, res, nth) => {
      arrived(req.path);
      const when = new Date(Date.now() + 2_000).toUTCString();
      if (nth === 1) return withHeaders(res, 503, { error: 'maintenance' }, { 'retry-after': when });
      json(res, 200, { nth });
    },
    '/big': (_req, res) => json(res, 200, { blob: 'x'.repeat(1_000) }),
    '/huge': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(11 * 1024 * 1024) });
      res.end(Buffer.alloc(11 * 1024 * 1024, 'a'));
    },
    '/stream': async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (let i = 0; i < 5; i++) {
        res.write('y'.repeat(100));
        await pause(10, 'a server streaming its body in pieces');
      }
      res.end();
    },
  });
  worker = await startActivityWorker();
});

after(async () => {
  await worker?.shutdown();
  await target?.close();
});

function request(params: Record<string, unknown>, maximumAttempts = 1): Promise<CallOutcome> {
  return worker.call('runConnector', { connector: 'http', action: 'request', params }, { maximumAttempts });
}

async function ok(params: Record<string, unknown>, maximumAttempts = 1): Promise<ConnectorResult & { output: any }> {
  const outcome = await request(params, maximumAttempts);
  if (!outcome.ok) throw new Error(`${outcome.error.type}: ${outcome.error.message}`);
  return outcome.value as ConnectorResult & { output: any };
}

function failure(outcome: CallOutcome) {
  assert.equal(outcome.ok, false, 'expected the call to fail');
  if (outcome.ok) throw new Error('unreachable');
  return outcome.error;
}

describe('http connector', () => {
  test('method, headers, repeated query values and a JSON body', async () => {
    const { output } = await ok({
      method: 'put',
      url: `${target.url}/echo`,
      headers: { 'x-token': 'T-1' },
      query: { tag: ['a', 'b'], n: 2 },
      body: { n: 1 },
    });
    assert.equal(output.status, 200);
    assert.deepEqual(output.body, {
      method: 'PUT',
      query: '?tag=a&tag=b&n=2',
      type: 'application/json',
      token: 'T-1',
      body: '{"n":1}',
    });
  });

  test('a string body is text; "form" is sent url-encoded; body and form together are refused', async () => {
    const text = await ok({ method: 'POST', url: `${target.url}/echo`, body: 'hello' });
    assert.equal(text.output.body.type, 'text/plain; charset=utf-8');
    assert.equal(text.output.body.body, 'hello');

    const form = await ok({ method: 'POST', url: `${target.url}/echo`, form: { a: 1, b: ['x', 'y z'] } });
    assert.equal(form.output.body.type, 'application/x-www-form-urlencoded');
    assert.equal(form.output.body.body, 'a=1&b=x&b=y+z');

    const both = failure(await request({ method: 'POST', url: `${target.url}/echo`, body: 'x', form: { a: 1 } }, 3));
    assert.equal(both.type, 'InvalidParams');
    assert.equal(both.nonRetryable, true);
    assert.match(both.message, /form: give either "body" or "form"/);
  });

  test('redirects are followed by default; follow_redirects: false returns the 3xx', async () => {
    const followed = await ok({ url: `${target.url}/redirect` });
    assert.deepEqual(followed.output.body, { ok: true });

    const kept = await ok({ url: `${target.url}/redirect`, follow_redirects: false });
    assert.equal(kept.output.status, 302);
    assert.equal(kept.output.headers.location, '/multi');
  });

  test('a request slower than its timeout fails with a retryable Timeout', async () => {
    const error = failure(await request({ url: `${target.url}/slow`, timeout: '200ms' }));
    assert.equal(error.type, 'Timeout');
    assert.equal(error.nonRetryable, false);
    assert.match(error.message, /timed out after 200 ms/);
  });

  test('Retry-After in seconds on a 429 sets the delay of the next attempt', async () => {
    const result = await ok({ url: `${target.url}/limited` }, 3);
    assert.equal(result.attempt, 2);
    const [first, second] = arrivals.get('/limited') ?? [];
    // The retry policy asks for 100 ms; the server asked for 1 s.
    assert.ok(second! - first! >= 950, `retried after ${second! - first!} ms`);
  });

  test('Retry-After as an HTTP date on a 503 sets the delay of the next attempt', async () => {
    const result = await ok({ url: `${target.url}/maintenance` }, 3);
    assert.equal(result.attempt, 2);
    const [first, second] = arrivals.get('/maintenance') ?? [];
    // The date has whole seconds, so "2 s from now" is between 1 and 2 s away.
    assert.ok(second! - first! >= 900, `retried after ${second! - first!} ms`);
  });

  test('a body over max_response_bytes fails non-retryably with ResponseTooLarge', async () => {
    const declared = failure(await request({ url: `${target.url}/big`, max_response_bytes: 100 }, 3));
    assert.equal(declared.type, 'ResponseTooLarge');
    assert.equal(declared.nonRetryable, true);
    assert.equal(target.count('/big'), 1);

    const streamed = failure(await request({ url: `${target.url}/stream`, max_response_bytes: 250 }, 3));
    assert.equal(streamed.type, 'ResponseTooLarge');
    assert.equal(target.count('/stream'), 1);
    assert.equal((await ok({ url: `${target.url}/stream`, max_response_bytes: 500 })).output.body.length, 500);

    const byDefault = failure(await request({ url: `${target.url}/huge` }, 3));
    assert.equal(byDefault.type, 'ResponseTooLarge');
    assert.match(byDefault.message, /exceeds the cap of 10485760 bytes/);
  });

  test('in a definition: the output of a form POST feeds a later node', async () => {
    const handle = await worker.start({
      id: 'http-form-flow',
      nodes: [
        {
          id: 'post',
          type: 'task',
          connector: 'http',
          action: 'request',
          output: 'posted',
          inputs: { method: 'POST', url: `${target.url}/echo`, form: { q: 'weft' } },
        },
        { id: 'pick', type: 'set', assign: { sent: 'nodes.post.output.body.body' } },
      ],
      edges: [{ from: 'post', to: 'pick' }],
    });
    const result = (await handle.result()) as Record<string, any>;
    assert.equal(result.sent, 'q=weft');
  });
});
