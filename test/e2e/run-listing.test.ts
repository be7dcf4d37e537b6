/**
 * `GET /v1/runs` over HTTP, through Temporal visibility: filters by definition and status,
 * pages with `next_page_token`, and refuses bad query parameters naming them. Visibility is
 * eventually consistent, so the test polls (bounded) until the runs it started are listed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { visibilityQuery } from '../../src/gateway/run-listing.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { unique } from '../support/temporal.js';
import { until } from '../support/poll.js';

let stack: TestStack;
let target: HttpTarget;
const hanging: ServerResponse[] = [];

before(async () => {
  // Calls to /hang are answered only when the test is done, so one run stays running.
  target = await startHttpTarget({ '/hang': (_req, res) => void hanging.push(res) });
  stack = await startTestStack();
});
after(async () => {
  for (const res of hanging) json(res, 200, {});
  await stack?.close();
  await target?.close();
});

/** One definition whose runs complete, fail or keep running, as their input says. */
function router(id: string) {
  return {
    id,
    variables: [
      { name: 'outcome', type: 'string', required: true },
      { name: 'done', type: 'boolean', default: false },
    ],
    nodes: [
      { id: 'start', type: 'set', assign: { done: 'false' } },
      { id: 'hang', type: 'task', connector: 'http', action: 'request', inputs: { url: `${target.url}/hang` } },
      { id: 'ok', type: 'end', status: 'completed' },
      { id: 'broken', type: 'end', status: 'failed', message: 'asked to fail' },
    ],
    edges: [
      { from: 'start', to: 'hang', when: "vars.outcome = 'running'" },
      { from: 'start', to: 'broken', when: "vars.outcome = 'failed'" },
      { from: 'start', to: 'ok', default: true },
    ],
  };
}

async function eventually<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value: T | undefined;
  return until(
    () => `visibility to show ${what} within 20 s: ${JSON.stringify(value)}`,
    async () => {
      value = await read();
      return done(value) ? value : undefined;
    },
    20_000,
    250,
  );
}

/** A token that passes the gateway's own check but carries garbage for Temporal. */
function forged(definitionId: string): string {
  const fingerprint = createHash('sha256')
    .update(visibilityQuery({ definition_id: definitionId }))
    .digest()
    .subarray(0, 8);
  return Buffer.concat([fingerprint, Buffer.from('not a temporal page token')]).toString('base64url');
}

const ids = (body: any) => (body.items as any[]).map((i) => i.run_id as string).sort();

describe('run listing', () => {
  const started = new Map<string, any>();
  let id: string;

  test('lists the runs of a definition with their status, and filters by status', async () => {
    id = unique('listed');
    assert.equal((await stack.call('POST', '/v1/definitions', router(id))).status, 201);
    const other = unique('unlisted');
    await stack.call('POST', '/v1/definitions', router(other));
    await stack.call('POST', `/v1/definitions/${other}/runs`, { input: { outcome: 'completed' } });

    for (const outcome of ['completed', 'completed', 'failed', 'running']) {
      const run = await stack.call('POST', `/v1/definitions/${id}/runs`, { input: { outcome } });
      assert.equal(run.status, 201, JSON.stringify(run.body));
      started.set(run.body.run_id, { ...run.body, outcome });
    }
    for (const [runId, run] of started) {
      if (run.outcome === 'running') continue;
      const result = await stack.call('GET', `/v1/runs/${runId}/result?wait=true`);
      assert.equal(result.body.status, run.outcome, JSON.stringify(result.body));
    }

    const expected = (status: string) =>
      [...started.values()]
        .filter((r) => r.outcome === status)
        .map((r) => r.run_id as string)
        .sort();
    const all = await eventually(
      'all four runs with their final status',
      () => stack.call('GET', `/v1/runs?definition_id=${id}`),
      (r) =>
        r.status === 200 &&
        r.body.items.length === 4 &&
        (r.body.items as any[]).filter((i) => i.closed_at).length === 3,
    );
    assert.deepEqual(ids(all.body), [...started.keys()].sort());
    assert.equal(all.body.next_page_token, undefined);
    for (const item of all.body.items) {
      const run = started.get(item.run_id);
      assert.deepEqual(
        Object.keys(item).sort(),
        [
          'definition_id',
          'definition_version',
          'instance_id',
          'run_id',
          'started_at',
          'status',
          ...(run.outcome === 'running' ? [] : ['closed_at']),
        ].sort(),
      );
      assert.equal(item.instance_id, run.instance_id);
      assert.equal(item.definition_id, id);
      assert.equal(item.definition_version, '1');
      assert.equal(item.status, run.outcome);
      assert.ok(!Number.isNaN(Date.parse(item.started_at)));
      if (item.closed_at) assert.ok(Date.parse(item.closed_at) >= Date.parse(item.started_at));
    }

    for (const status of ['completed', 'failed', 'running', 'cancelled']) {
      const filtered = await eventually(
        `the ${status} runs`,
        () => stack.call('GET', `/v1/runs?definition_id=${id}&status=${status}`),
        (r) => r.status === 200 && r.body.items.length === expected(status).length,
      );
      assert.deepEqual(ids(filtered.body), expected(status), status);
      assert.ok((filtered.body.items as any[]).every((i) => i.status === status));
    }

    // Without a definition filter, weft runs of any definition are listed.
    const any = await stack.call('GET', '/v1/runs?page_size=5');
    assert.equal(any.status, 200);
    assert.ok(any.body.items.length > 0 && any.body.items.length <= 5);
  });

  test('pages with next_page_token until every run was listed once', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    for (let page = 0; page < 10; page++) {
      const query = `definition_id=${id}&page_size=1${token ? `&page_token=${token}` : ''}`;
      const response = await stack.call('GET', `/v1/runs?${query}`);
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.ok(response.body.items.length <= 1);
      seen.push(...ids(response.body));
      token = response.body.next_page_token;
      if (token === undefined) break;
      assert.match(token, /^[A-Za-z0-9_-]+$/);
    }
    assert.equal(token, undefined, 'the listing never ended');
    assert.deepEqual(seen.sort(), [...started.keys()].sort());
  });

  test('bad query parameters answer 400 naming the parameter', async () => {
    const first = await stack.call('GET', `/v1/runs?definition_id=${id}&page_size=1`);
    const token = first.body.next_page_token as string;
    assert.ok(token);
    const cases: Array<[string, string]> = [
      ['status=sleeping', '/query/status'],
      ['status=running&status=failed', '/query/status'],
      ['page_size=0', '/query/page_size'],
      ['page_size=1001', '/query/page_size'],
      ['page_size=ten', '/query/page_size'],
      ['definition_id=Not%20An%20Id', '/query/definition_id'],
      ["definition_id=x'%20OR%20'1'='1", '/query/definition_id'],
      ['page_token=not*base64', '/query/page_token'],
      ['page_token=AAAAAAAAAAAAAAAAAAAA', '/query/page_token'],
      // A real token, but of another listing (different filters).
      [`status=completed&page_token=${token}`, '/query/page_token'],
      // Right listing, but bytes Temporal cannot use (a forged or expired token).
      [`definition_id=${id}&page_token=${forged(id)}`, '/query/page_token'],
    ];
    for (const [query, path] of cases) {
      const response = await stack.call('GET', `/v1/runs?${query}`);
      assert.equal(response.status, 400, `${query}: ${JSON.stringify(response.body)}`);
      assert.equal(response.body.error.code, 'validation_failed');
      assert.ok(
        (response.body.error.details as any[]).some((d) => d.path === path),
        `${query}: ${JSON.stringify(response.body.error.details)}`,
      );
    }
    const unknown = await stack.call('GET', '/v1/runs?stauts=running');
    assert.equal(unknown.status, 400);
    assert.match(JSON.stringify(unknown.body.error.details), /stauts/);
  });
});
