/**
 * `GET /v1/runs` filtered by version and by a start-time window, over HTTP on a real gateway and
 * Temporal visibility: the filters are clauses of the visibility query, so paging over a filtered
 * listing stays correct; bad values answer 400 naming the parameter. The window is built from the
 * runs' own `started_at`, never from sleeps; visibility is eventually consistent, so reads poll.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { literal, visibilityQuery } from '../../src/gateway/run-listing.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { unique } from '../support/temporal.js';
import { until } from '../support/poll.js';

let stack: TestStack;

before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

async function eventually<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value: T | undefined;
  return until(
    () => `visibility to show ${what} within 30 s: ${JSON.stringify(value)}`,
    async () => {
      value = await read();
      return done(value) ? value : undefined;
    },
    30_000,
    250,
  );
}

const ids = (body: any) => (body.items as any[]).map((i) => i.run_id as string).sort();

/** Every run of a listing, page by page (`page_size=1`), so paging over filters is exercised. */
async function allPages(query: string): Promise<string[]> {
  const seen: string[] = [];
  let token: string | undefined;
  for (let page = 0; page < 20; page++) {
    const response = await stack.call('GET', `/v1/runs?${query}&page_size=1${token ? `&page_token=${token}` : ''}`);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    seen.push(...ids(response.body));
    token = response.body.next_page_token;
    if (token === undefined) return seen.sort();
  }
  throw new Error('the listing never ended');
}

function definition(id: string, greeting: string) {
  return {
    id,
    nodes: [
      { id: 'greet', type: 'set', assign: { greeting: `'${greeting}'` } },
      { id: 'done', type: 'end', status: 'completed' },
    ],
    edges: [{ from: 'greet', to: 'done' }],
  };
}

describe('run listing filters', () => {
  const id = unique('versioned');
  /** The runs in the order they started, each closed before the next started. */
  const runs: Array<{ run_id: string; version: string; started_at: string }> = [];
  const byId = (runId: string) => runs.find((r) => r.run_id === runId)!;

  test('filters by version of the definition', async () => {
    const v1 = await stack.call('POST', '/v1/definitions', definition(id, 'one'));
    assert.equal(v1.status, 201, JSON.stringify(v1.body));
    const v2 = await stack.call('POST', '/v1/definitions', definition(id, 'two'));
    assert.equal(v2.status, 201, JSON.stringify(v2.body));
    assert.equal(v2.body.version, '2');
    // Another definition's version 1 must not show up in this definition's version filter.
    const other = unique('other');
    await stack.call('POST', '/v1/definitions', definition(other, 'other'));
    const otherRun = await stack.call('POST', `/v1/definitions/${other}/runs`, {});
    assert.equal(otherRun.status, 201);

    for (const version of ['1', '2', '1', '2']) {
      const run = await stack.call('POST', `/v1/definitions/${id}/runs`, { version });
      assert.equal(run.status, 201, JSON.stringify(run.body));
      assert.equal(run.body.definition_version, version);
      const result = await stack.call('GET', `/v1/runs/${run.body.run_id}/result?wait=true`);
      assert.equal(result.body.status, 'completed', JSON.stringify(result.body));
      runs.push({ run_id: run.body.run_id, version, started_at: '' });
    }

    const all = await eventually(
      'the four runs',
      () => stack.call('GET', `/v1/runs?definition_id=${id}`),
      (r) => r.status === 200 && r.body.items.length === 4,
    );
    for (const item of all.body.items) byId(item.run_id).started_at = item.started_at;

    for (const version of ['1', '2']) {
      const expected = runs.filter((r) => r.version === version).map((r) => r.run_id);
      const listed = await eventually(
        `the runs of version ${version}`,
        () => stack.call('GET', `/v1/runs?definition_id=${id}&version=${version}`),
        (r) => r.status === 200 && r.body.items.length === expected.length,
      );
      assert.deepEqual(ids(listed.body), expected.sort());
      assert.ok((listed.body.items as any[]).every((i) => i.definition_version === version && i.definition_id === id));
      assert.deepEqual(await allPages(`definition_id=${id}&version=${version}`), expected.sort());
    }
    const none = await stack.call('GET', `/v1/runs?definition_id=${id}&version=3`);
    assert.equal(none.status, 200);
    assert.deepEqual(none.body.items, []);
  });

  test('a start-time window includes the runs started in it and excludes the others', async () => {
    assert.equal(runs.length, 4);
    const times = runs.map((r) => Date.parse(r.started_at));
    for (let i = 1; i < times.length; i++) {
      assert.ok(times[i]! > times[i - 1]!, `runs started in order: ${JSON.stringify(runs)}`);
    }
    const [a, b, c, d] = runs as [any, any, any, any];
    const window = (query: string) => `definition_id=${id}&${query}`;
    const cases: Array<[string, string[]]> = [
      // started_after is inclusive: a run started exactly then is listed.
      [`started_after=${b.started_at}`, [b.run_id, c.run_id, d.run_id]],
      // started_before is exclusive.
      [`started_before=${b.started_at}`, [a.run_id]],
      [`started_after=${b.started_at}&started_before=${d.started_at}`, [b.run_id, c.run_id]],
      [`started_after=${a.started_at}&started_before=${d.started_at}&version=1`, [a.run_id, c.run_id]],
      [`started_after=${b.started_at}&started_before=${d.started_at}&version=2`, [b.run_id]],
      // An empty window, and one after every run.
      [`started_after=${b.started_at}&started_before=${b.started_at}`, []],
      [`started_after=${new Date(times[3]! + 1).toISOString()}`, []],
    ];
    for (const [query, expected] of cases) {
      const listed = await stack.call('GET', `/v1/runs?${window(query)}`);
      assert.equal(listed.status, 200, `${query}: ${JSON.stringify(listed.body)}`);
      assert.deepEqual(ids(listed.body), [...expected].sort(), query);
      // Paging one run at a time over the same filters lists the same runs, each once.
      assert.deepEqual(await allPages(window(query)), [...expected].sort(), `${query}, paged`);
    }

    // The same instant written with an offset (its "+" percent-encoded) is the same filter.
    const instant = new Date(times[2]!);
    const pad = (n: number) => String(n).padStart(2, '0');
    const shifted = new Date(instant.getTime() + 90 * 60_000);
    const withOffset =
      `${shifted.getUTCFullYear()}-${pad(shifted.getUTCMonth() + 1)}-${pad(shifted.getUTCDate())}` +
      `T${pad(shifted.getUTCHours())}:${pad(shifted.getUTCMinutes())}:${pad(shifted.getUTCSeconds())}` +
      `.${String(shifted.getUTCMilliseconds()).padStart(3, '0')}+01:30`;
    assert.equal(new Date(withOffset).toISOString(), c.started_at);
    const offset = await stack.call('GET', `/v1/runs?${window(`started_after=${encodeURIComponent(withOffset)}`)}`);
    assert.equal(offset.status, 200, JSON.stringify(offset.body));
    assert.deepEqual(ids(offset.body), [c.run_id, d.run_id].sort());
  });

  test('bad filter values answer 400 naming the parameter and what was expected', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['version=2', '/query/version', /definition_id/],
      [`definition_id=${id}&version=two`, '/query/version', /version such as "3"/],
      [`definition_id=${id}&version=0`, '/query/version', /version such as "3"/],
      [`definition_id=${id}&version=1'%20OR%20'1'='1`, '/query/version', /version such as "3"/],
      [`definition_id=${id}&version=1&version=2`, '/query/version', /version/],
      ['started_after=yesterday', '/query/started_after', /RFC 3339/],
      ['started_after=2026-12-02', '/query/started_after', /RFC 3339/],
      // No time zone: which instant is meant is unknown.
      ['started_before=2026-12-02T14:00:00', '/query/started_before', /RFC 3339/],
      ['started_before=2026-13-02T14:00:00Z', '/query/started_before', /RFC 3339/],
      ["started_after=2026-12-02T14:00:00Z'%20OR%20'1'='1", '/query/started_after', /RFC 3339/],
      [
        'started_after=2026-12-02T15:00:00Z&started_before=2026-12-02T14:00:00Z',
        '/query/started_after',
        /started_before/,
      ],
    ];
    for (const [query, path, message] of cases) {
      const response = await stack.call('GET', `/v1/runs?${query}`);
      assert.equal(response.status, 400, `${query}: ${JSON.stringify(response.body)}`);
      assert.equal(response.body.error.code, 'validation_failed');
      const detail = (response.body.error.details as any[]).find((d) => d.path === path);
      assert.ok(detail, `${query}: ${JSON.stringify(response.body.error.details)}`);
      assert.match(detail.message, message, query);
    }
  });

  test('filter values are quoted literals of the visibility query; a quote can never reach it', () => {
    assert.equal(
      visibilityQuery({ definition_id: 'a.b', version: '12', started_after: '2026-12-02T14:00:00.000Z' }),
      "WorkflowType = 'interpret' AND WeftDefinitionId = 'a.b' AND WeftDefinitionVersion = '12' AND " +
        "StartTime >= '2026-12-02T14:00:00.000Z' AND ExecutionStatus != 'ContinuedAsNew'",
    );
    for (const bad of ["1' OR '1'='1", 'a\\', 'x y', "it's"]) {
      assert.throws(() => literal(bad), /not a safe visibility query literal/);
      assert.throws(() => visibilityQuery({ version: bad }), /not a safe visibility query literal/);
    }
  });
});
