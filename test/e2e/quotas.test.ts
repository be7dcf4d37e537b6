/**
 * Per-tenant quotas end to end, through a real gateway and worker on the suite's Temporal
 * server: what a definition shows is refused at `/validate`, submit and start with pointers
 * naming the quota; what only the run knows (items from an expression, an `until` date, work
 * in flight) fails the node with QuotaExceeded; a map's concurrency is bounded; concurrent runs
 * are refused with 429; a tenant's own quotas (set only by admins of the default tenant) replace
 * the `WEFT_QUOTA_*` defaults; every connector call carries `max_response_bytes`; and `/metrics`
 * shows the refusals and the limits.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { bearer, createKey, putTenant } from '../support/access.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { connectClient, unique } from '../support/temporal.js';
import { until } from '../support/poll.js';

const ENV = {
  WEFT_QUOTA_MAP_ITEMS: '100',
  WEFT_QUOTA_MAP_CONCURRENCY: '5',
  WEFT_QUOTA_INFLIGHT: '8',
  WEFT_QUOTA_TIMER_HORIZON: '1h',
  WEFT_QUOTA_NODE_VISITS: '5000',
  WEFT_QUOTA_RESPONSE_BYTES: '4096',
};

/** Polls until `check` returns a value (not undefined), or fails after `ms`. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  return until(what, check, ms, 100);
}

describe('tenant quotas', () => {
  let stack: TestStack;
  let target: HttpTarget;
  let rootKey: string;
  let root: Record<string, string>;
  /** Requests to /hold in flight now, and the most seen at once. */
  let holding = 0;
  let mostHeld = 0;
  const held: Array<() => void> = [];

  before(async () => {
    stack = await startTestStack({ env: ENV });
    rootKey = await createKey(stack, 'root', ['admin']);
    root = bearer(rootKey);
    target = await startHttpTarget({
      '/ok': (_req, res) => json(res, 200, { ok: true }),
      '/map-item': (_req, res) => json(res, 200, { ok: true }),
      '/branch': (_req, res) => json(res, 200, { ok: true }),
      '/child-item': (_req, res) => json(res, 200, { ok: true }),
      // Each request is held until six are in flight at once (more than map_concurrency allows:
      // all are let go, and the test sees the excess) or, failing that, until the test's next
      // check releases it.
      '/hold': (_req, res: ServerResponse) => {
        holding++;
        mostHeld = Math.max(mostHeld, holding);
        held.push(() => {
          holding--;
          json(res, 200, { ok: true });
        });
        if (holding >= 6) for (const release of held.splice(0)) release();
      },
    });
  });
  after(async () => {
    for (const release of held.splice(0)) release();
    await target?.close();
    await stack?.close();
  });

  const submit = async (definition: unknown, headers = root) =>
    stack.call('POST', '/v1/definitions', definition, headers);
  const start = async (id: string, input: Record<string, unknown> = {}, headers = root) =>
    stack.call('POST', `/v1/definitions/${id}/runs`, { input }, headers);
  const outcome = (runId: string, headers = root) =>
    eventually(`the outcome of ${runId}`, async () => {
      const response = await stack.call('GET', `/v1/runs/${runId}/result`, undefined, headers);
      return response.body?.status === 'running' ? undefined : response.body;
    });
  const task = (path: string) => ({ connector: 'http', action: 'request', inputs: { url: `${target.url}${path}` } });

  test('static quotas are refused at /validate and submit with pointers naming the quota', async () => {
    const definition = {
      id: unique('greedy'),
      options: { max_node_visits: 1_000_000_000 },
      nodes: [
        { id: 'each', type: 'map', items: '[1..100000]', max_concurrency: 1000, task: task('/ok') },
        { id: 'nap', type: 'wait', duration: '36500d' },
        { id: 'hear', type: 'event', event_type: 'x', correlation_key: '1', timeout: '2h' },
        { id: 'ask', type: 'approval', timeout: 7_200_000 },
        { id: 'list', type: 'map', items: JSON.stringify(Array.from({ length: 101 }, (_, i) => i)), task: task('/ok') },
      ],
      edges: [
        { from: 'each', to: 'nap' },
        { from: 'nap', to: 'hear' },
        { from: 'hear', to: 'ask' },
        { from: 'ask', to: 'list' },
      ],
    };
    const expected = [
      {
        path: '/options/max_node_visits',
        message: 'quota "node_visits" exceeded: at most 5,000 visits per node (found 1,000,000,000)',
      },
      {
        path: '/nodes/0/max_concurrency',
        message: 'quota "map_concurrency" exceeded: at most 5 items at once (found 1,000)',
      },
      { path: '/nodes/0/items', message: 'quota "map_items" exceeded: at most 100 items per map (found 100,000)' },
      { path: '/nodes/1/duration', message: 'quota "timer_horizon" exceeded: at most 1h (found 36,500d)' },
      { path: '/nodes/2/timeout', message: 'quota "timer_horizon" exceeded: at most 1h (found 2h)' },
      { path: '/nodes/3/timeout', message: 'quota "timer_horizon" exceeded: at most 1h (found 2h)' },
      { path: '/nodes/4/items', message: 'quota "map_items" exceeded: at most 100 items per map (found 101)' },
    ];
    for (const path of ['/v1/definitions/validate', '/v1/definitions']) {
      const response = await stack.call('POST', path, definition, root);
      assert.equal(response.status, 400, `${path}: ${JSON.stringify(response.body)}`);
      assert.equal(response.body.error.code, 'validation_failed');
      assert.deepEqual(response.body.error.details, expected, path);
    }
    const listed = await stack.call('GET', '/v1/definitions', undefined, root);
    assert.ok(!listed.body.items.some((d: { id: string }) => d.id === definition.id), 'nothing was stored');

    // Within the quotas, the same shape is accepted.
    const fits = await stack.call(
      'POST',
      '/v1/definitions/validate',
      {
        id: 'fits',
        options: { max_node_visits: 5000 },
        nodes: [
          { id: 'each', type: 'map', items: '[1..100]', max_concurrency: 5, task: task('/ok') },
          { id: 'nap', type: 'wait', duration: '1h' },
        ],
        edges: [{ from: 'each', to: 'nap' }],
      },
      root,
    );
    assert.equal(fits.status, 200, JSON.stringify(fits.body));
  });

  test('a definition whose JSON and state_bytes together pass 1,900,000 bytes is refused at submit', async () => {
    // 900 KB of literal inputs (a definition may have 1,000,000) with the default state_bytes (1 MiB).
    const definition = {
      id: unique('heavy'),
      nodes: [
        {
          id: 'a',
          type: 'task',
          ...task('/ok'),
          inputs: {
            url: `${target.url}/ok`,
            method: 'POST',
            body: { pad: Array.from({ length: 18 }, () => 'p'.repeat(50_000)) },
          },
        },
      ],
    };
    for (const path of ['/v1/definitions/validate', '/v1/definitions']) {
      const response = await stack.call('POST', path, definition, root);
      assert.equal(response.status, 400, `${path}: ${JSON.stringify(response.body).slice(0, 300)}`);
      assert.equal(response.body.error.code, 'validation_failed');
      assert.equal(response.body.error.details.length, 1, JSON.stringify(response.body.error.details));
      assert.equal(response.body.error.details[0].path, '');
      assert.match(
        response.body.error.details[0].message,
        /^the definition \([\d,]+ bytes of JSON\) and its runs' state \(quota "state_bytes", 1,048,576 bytes\) are carried together by continue-as-new: at most 1,900,000 bytes together/,
      );
    }
  });

  test('a 1,000-item map from an expression fails at run time with QuotaExceeded, before any call', async () => {
    const id = unique('thousand');
    const submitted = await submit({
      id,
      variables: [{ name: 'n', type: 'number', required: true }],
      nodes: [{ id: 'each', type: 'map', items: '[1..vars.n]', task: task('/map-item') }],
    });
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    const run = await start(id, { n: 1000 });
    assert.equal(run.status, 201, JSON.stringify(run.body));
    const result = await outcome(run.body.run_id);
    assert.equal(result.status, 'failed', JSON.stringify(result));
    assert.equal(result.error.type, 'QuotaExceeded');
    assert.equal(result.error.node, 'each');
    assert.match(result.error.message, /quota "map_items" exceeded: at most 100 items per map \(found 1,000\)/);
    assert.equal(target.count('/map-item'), 0);

    // At the quota the map runs.
    const fits = await start(id, { n: 100 });
    assert.equal((await outcome(fits.body.run_id)).status, 'completed');
    assert.equal(target.count('/map-item'), 100);
  });

  test("a child run keeps its parent's quotas", async () => {
    const child = unique('child');
    const parent = unique('parent');
    const items = {
      id: child,
      variables: [{ name: 'n', type: 'number', required: true }],
      nodes: [{ id: 'each', type: 'map', items: '[1..vars.n]', task: task('/child-item') }],
    };
    assert.equal((await submit(items)).status, 201);
    assert.equal(
      (
        await submit({
          id: parent,
          nodes: [{ id: 'sub', type: 'subworkflow', definition: child, inputs: { n: 1000 } }],
        })
      ).status,
      201,
    );
    const result = await outcome((await start(parent)).body.run_id);
    assert.equal(result.status, 'failed', JSON.stringify(result));
    assert.equal(result.error.type, 'QuotaExceeded');
    assert.equal(result.error.node, 'sub');
    assert.match(result.error.message, /quota "map_items" exceeded/);
    assert.equal(target.count('/child-item'), 0);
  });

  test('a map without max_concurrency runs at most map_concurrency items at once', async () => {
    const id = unique('bounded');
    assert.equal(
      (await submit({ id, nodes: [{ id: 'each', type: 'map', items: '[1..20]', task: task('/hold') }] })).status,
      201,
    );
    const run = await start(id);
    assert.equal(run.status, 201, JSON.stringify(run.body));
    let done: { status: string } | undefined;
    while (!done && mostHeld <= 5) {
      // Release what is held once five are in flight (or the run is done), then look again.
      await eventually('five held requests or the end of the run', async () => {
        if (holding >= 5 || mostHeld > 5) return true;
        const response = await stack.call('GET', `/v1/runs/${run.body.run_id}/result`, undefined, root);
        if (response.body?.status !== 'running') done = response.body;
        return done ? true : undefined;
      });
      for (const release of held.splice(0)) release();
    }
    assert.equal(mostHeld, 5, `at most 5 map items in flight at once, saw ${mostHeld}`);
    assert.equal(done?.status, 'completed', JSON.stringify(done));
    assert.equal(target.count('/hold'), 20);
  });

  test('an until date beyond timer_horizon fails the wait at run time', async () => {
    const id = unique('far-until');
    assert.equal(
      (
        await submit({
          id,
          variables: [{ name: 'at', type: 'string', required: true }],
          nodes: [{ id: 'nap', type: 'wait', until: 'vars.at' }],
        })
      ).status,
      201,
    );
    const far = new Date(Date.now() + 10 * 365 * 86_400_000).toISOString();
    const result = await outcome((await start(id, { at: far })).body.run_id);
    assert.equal(result.status, 'failed', JSON.stringify(result));
    assert.equal(result.error.type, 'QuotaExceeded');
    assert.equal(result.error.node, 'nap');
    assert.match(result.error.message, /quota "timer_horizon" exceeded: at most 1h ahead/);

    // Within the horizon the wait is set, and ends.
    const near = await start(id, { at: new Date(Date.now() + 1_000).toISOString() });
    assert.equal((await outcome(near.body.run_id)).status, 'completed');
  });

  test('a fan-out wider than inflight fails the branch over the quota', async () => {
    const id = unique('wide');
    const branches = Array.from({ length: 10 }, (_, i) => `b${i}`);
    assert.equal(
      (
        await submit({
          id,
          nodes: [
            { id: 'go', type: 'set', assign: { x: '1' } },
            ...branches.map((b) => ({ id: b, type: 'task', ...task('/branch') })),
            { id: 'done', type: 'join' },
          ],
          edges: [...branches.map((to) => ({ from: 'go', to })), ...branches.map((from) => ({ from, to: 'done' }))],
        })
      ).status,
      201,
    );
    const result = await outcome((await start(id)).body.run_id);
    assert.equal(result.status, 'failed', JSON.stringify(result));
    assert.equal(result.error.type, 'QuotaExceeded');
    assert.equal(result.error.node, 'b8');
    assert.match(
      result.error.message,
      /quota "inflight" exceeded: at most 8 activities or child runs in flight per run \(found 8 already in flight\)/,
    );
  });

  test('every connector call carries max_response_bytes from the quota', async () => {
    const id = unique('capped');
    assert.equal((await submit({ id, nodes: [{ id: 'get', type: 'task', ...task('/ok') }] })).status, 201);
    const run = await start(id);
    assert.equal((await outcome(run.body.run_id)).status, 'completed');
    const { client, connection } = await connectClient();
    try {
      const history = await client.workflow.getHandle(run.body.run_id).fetchHistory();
      const scheduled = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes);
      assert.equal(scheduled.length, 1);
      const payload = scheduled[0]?.activityTaskScheduledEventAttributes?.input?.payloads?.[0];
      const call = JSON.parse(Buffer.from(payload?.data ?? new Uint8Array()).toString()) as Record<string, unknown>;
      assert.equal(call.max_response_bytes, 4096);
    } finally {
      await connection.close();
    }
  });

  test("a tenant's own quotas replace the defaults; only admins of the default tenant set them", async () => {
    const tenant = unique('quota');
    await putTenant(stack, rootKey, tenant);
    const own = bearer(await createKey(stack, `${tenant}-admin`, ['admin'], { adminKey: rootKey, tenant }));

    const refused = await stack.call('PUT', `/v1/tenants/${tenant}`, { quotas: { map_items: 100_000 } }, own);
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.match(refused.body.error.message, /only admins of the default tenant set a tenant's quotas/);

    const unknown = await stack.call('PUT', `/v1/tenants/${tenant}`, { quotas: { map_itemz: 5 } }, root);
    assert.equal(unknown.status, 400);
    assert.match(JSON.stringify(unknown.body.error.details), /\/quotas/);
    const bad = await stack.call(
      'PUT',
      `/v1/tenants/${tenant}`,
      { quotas: { map_items: 0, timer_horizon: 'soon' } },
      root,
    );
    assert.equal(bad.status, 400);
    assert.deepEqual(
      bad.body.error.details.map((d: { path: string }) => d.path),
      ['/quotas/map_items', '/quotas/timer_horizon'],
    );

    const set = await stack.call(
      'PUT',
      `/v1/tenants/${tenant}`,
      { quotas: { map_items: 5, timer_horizon: '2d' } },
      root,
    );
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual(set.body.quotas, { map_items: 5, timer_horizon: 172_800_000 });
    assert.equal(set.body.effective_quotas.map_items, 5);
    assert.equal(set.body.effective_quotas.map_concurrency, 5, 'the rest from WEFT_QUOTA_*');
    const read = await stack.call('GET', `/v1/tenants/${tenant}`, undefined, own);
    assert.deepEqual(read.body.quotas, { map_items: 5, timer_horizon: 172_800_000 });

    const definition = {
      id: 'ten',
      nodes: [
        { id: 'each', type: 'map', items: '[1..10]', task: task('/ok') },
        { id: 'nap', type: 'wait', duration: '1d' },
      ],
      edges: [{ from: 'each', to: 'nap' }],
    };
    // The tenant's map_items (5) refuses 10 items; its timer_horizon (2d) allows a day, which the default (1h) does not.
    const theirs = await submit(definition, own);
    assert.equal(theirs.status, 400);
    assert.deepEqual(theirs.body.error.details, [
      { path: '/nodes/0/items', message: 'quota "map_items" exceeded: at most 5 items per map (found 10)' },
    ]);
    const ours = await stack.call('POST', '/v1/definitions/validate', definition, root);
    assert.deepEqual(ours.body.error.details, [
      { path: '/nodes/1/duration', message: 'quota "timer_horizon" exceeded: at most 1h (found 1d)' },
    ]);

    // `{}` goes back to the defaults.
    const cleared = await stack.call('PUT', `/v1/tenants/${tenant}`, { quotas: {} }, root);
    assert.equal(cleared.body.quotas, undefined);
    assert.equal(cleared.body.effective_quotas.map_items, 100);
  });

  test('a stored definition over a lowered quota is refused at start', async () => {
    const tenant = unique('lowered');
    await putTenant(stack, rootKey, tenant);
    const own = bearer(await createKey(stack, `${tenant}-editor`, ['editor'], { adminKey: rootKey, tenant }));
    const definition = {
      id: 'visits',
      options: { max_node_visits: 4000 },
      nodes: [{ id: 'a', type: 'set', assign: { x: '1' } }],
    };
    assert.equal((await submit(definition, own)).status, 201);
    await stack.call('PUT', `/v1/tenants/${tenant}`, { quotas: { node_visits: 2000 } }, root);
    const refused = await start('visits', {}, own);
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.deepEqual(refused.body.error.details, [
      {
        path: '/options/max_node_visits',
        message: 'quota "node_visits" exceeded: at most 2,000 visits per node (found 4,000)',
      },
    ]);
  });

  test('concurrent_runs: a start beyond the running runs allowed answers 429 naming the quota', async () => {
    const tenant = unique('busy');
    await putTenant(stack, rootKey, tenant);
    await stack.call('PUT', `/v1/tenants/${tenant}`, { quotas: { concurrent_runs: 2 } }, root);
    const own = bearer(await createKey(stack, `${tenant}-operator`, ['editor'], { adminKey: rootKey, tenant }));
    const definition = {
      id: 'waits',
      nodes: [{ id: 'hear', type: 'event', event_type: 'go', correlation_key: '1' }],
    };
    assert.equal((await submit(definition, own)).status, 201);
    const runs: string[] = [];
    for (let i = 0; i < 2; i++) {
      const started = await stack.call('POST', '/v1/definitions/waits/runs', { run_id: `w${i}` }, own);
      assert.equal(started.status, 201, JSON.stringify(started.body));
      runs.push(started.body.run_id as string);
    }
    // Visibility counts runs a moment after they start.
    await eventually('both runs listed as running', async () => {
      const listed = await stack.call('GET', '/v1/runs?status=running', undefined, own);
      return listed.body?.items?.length === 2 ? true : undefined;
    });
    const refused = await start('waits', {}, own);
    assert.equal(refused.status, 429, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'rate_limited');
    assert.match(
      refused.body.error.message,
      new RegExp(
        `quota "concurrent_runs" exceeded: at most 2 running runs for tenant "${tenant}" \\(found 2 running\\)`,
      ),
    );
    // Repeating the start of a run that exists starts nothing: the idempotent answer, not a refusal.
    const repeated = await stack.call('POST', '/v1/definitions/waits/runs', { run_id: 'w0' }, own);
    assert.equal(repeated.status, 200, JSON.stringify(repeated.body));
    assert.equal(repeated.body.run_id, 'w0');
    // Another tenant (the default one) is not affected.
    const elsewhere = unique('free');
    assert.equal((await submit({ ...definition, id: elsewhere })).status, 201);
    const free = await start(elsewhere);
    assert.equal(free.status, 201, JSON.stringify(free.body));

    for (const run of [...runs]) {
      const cancelled = await stack.call('POST', `/v1/runs/${run}/cancel`, {}, own);
      assert.equal(cancelled.status, 202, JSON.stringify(cancelled.body));
    }
    await stack.call('POST', `/v1/runs/${free.body.run_id}/cancel`, {}, root);
    await eventually('the runs to close', async () => {
      const listed = await stack.call('GET', '/v1/runs?status=running', undefined, own);
      return listed.body?.items?.length === 0 ? true : undefined;
    });
    const again = await start('waits', {}, own);
    assert.equal(again.status, 201, JSON.stringify(again.body));
    await stack.call('POST', `/v1/runs/${again.body.run_id}/cancel`, {}, own);
  });

  test('backpressure: concurrent starts beyond concurrent_runs get 429 with Retry-After and start nothing', async (t) => {
    const tenant = unique('backlog');
    await putTenant(stack, rootKey, tenant);
    await stack.call('PUT', `/v1/tenants/${tenant}`, { quotas: { concurrent_runs: 3 } }, root);
    const own = bearer(await createKey(stack, `${tenant}-operator`, ['editor'], { adminKey: rootKey, tenant }));
    const definition = {
      id: 'piles-up',
      nodes: [{ id: 'hear', type: 'event', event_type: 'go', correlation_key: '1' }],
    };
    assert.equal((await submit(definition, own)).status, 201);
    const post = async () => {
      const response = await fetch(`${stack.gateway.url}/v1/definitions/piles-up/runs`, {
        method: 'POST',
        headers: { ...own, 'content-type': 'application/json' },
        body: '{}',
      });
      return {
        status: response.status,
        retryAfter: response.headers.get('retry-after'),
        body: (await response.json()) as any,
      };
    };
    // Ten at once against a limit of three: the gateway's own concurrent starts never overshoot.
    const answers = await Promise.all(Array.from({ length: 10 }, post));
    const started = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status !== 201);
    assert.equal(started.length, 3, JSON.stringify(answers.map((a) => a.status)));
    for (const answer of refused) {
      assert.equal(answer.status, 429, JSON.stringify(answer.body));
      assert.equal(answer.body.error.code, 'rate_limited');
      assert.match(answer.body.error.message, /quota "concurrent_runs" exceeded: at most 3 running runs/);
      assert.equal(answer.retryAfter, '5');
    }
    // Nothing was started for a refused request: Temporal has exactly the three.
    const { client, connection } = await connectClient();
    t.after(() => connection.close());
    const count = async (status: string) =>
      (
        await client.workflow.count(
          `WeftTenant = '${tenant}' AND WorkflowType = 'interpret' AND ExecutionStatus = '${status}'`,
        )
      ).count;
    await eventually('the three runs counted', async () => ((await count('Running')) === 3 ? true : undefined));
    const all = (await client.workflow.count(`WeftTenant = '${tenant}' AND WorkflowType = 'interpret'`)).count;
    assert.equal(all, 3);
    // The backlog as the gateway last estimated it, per tenant.
    const text = await (await fetch(`${stack.gateway.url}/metrics`, { headers: root })).text();
    const open = text.split('\n').find((l) => l.startsWith(`weft_admission_open_runs{tenant="${tenant}"} `));
    assert.ok(open !== undefined && Number(open.split(' ')[1]) >= 3, open ?? text.slice(0, 500));
    // Once the runs are over, starts are admitted again.
    for (const run of started) {
      const cancelled = await stack.call('POST', `/v1/runs/${run.body.run_id}/cancel`, {}, own);
      assert.equal(cancelled.status, 202, JSON.stringify(cancelled.body));
    }
    await eventually('the runs to close', async () => ((await count('Running')) === 0 ? true : undefined));
    const again = await post();
    assert.equal(again.status, 201, JSON.stringify(again.body));
    await stack.call('POST', `/v1/runs/${again.body.run_id}/cancel`, {}, own);
  });

  test('/metrics shows quota refusals and the limits in force', async () => {
    const response = await fetch(`${stack.gateway.url}/metrics`, { headers: root });
    const text = await response.text();
    assert.equal(response.status, 200, text.slice(0, 300));
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    for (const at of ['validate', 'submit'])
      for (const quota of ['node_visits', 'map_concurrency', 'map_items', 'timer_horizon'])
        assert.ok(
          (value(`weft_quota_refusals_total{tenant="default",quota="${quota}",at="${at}"}`) ?? 0) >= 1,
          `${quota} at ${at}`,
        );
    assert.ok(
      text
        .split('\n')
        .some((l) =>
          /^weft_quota_refusals_total\{tenant="busy-[0-9a-f]+",quota="concurrent_runs",at="start"\} 1$/.test(l),
        ),
      'the concurrent_runs refusal',
    );
    assert.ok(
      text
        .split('\n')
        .some((l) =>
          /^weft_quota_refusals_total\{tenant="lowered-[0-9a-f]+",quota="node_visits",at="start"\} 1$/.test(l),
        ),
      'the refusal at start',
    );
    assert.equal(value('weft_quota_limit{tenant="*",quota="map_items"}'), 100);
    assert.equal(value('weft_quota_limit{tenant="*",quota="timer_horizon"}'), 3_600_000);
    assert.equal(value('weft_quota_limit{tenant="*",quota="concurrent_runs"}'), 1000);
    assert.ok(
      text.split('\n').some((l) => /^weft_quota_limit\{tenant="busy-[0-9a-f]+",quota="concurrent_runs"\} 2$/.test(l)),
      "the busy tenant's own limit",
    );
  });
});

describe('WEFT_QUOTA_* configuration', () => {
  test('defaults apply when unset; a bad value is refused naming the variable', () => {
    const base = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
    assert.equal(loadConfig(base).quotas.map_items, 10_000);
    assert.equal(loadConfig({ ...base, WEFT_QUOTA_TIMER_HORIZON: '30d' }).quotas.timer_horizon, 30 * 86_400_000);
    assert.throws(
      () => loadConfig({ ...base, WEFT_QUOTA_MAP_ITEMS: 'lots' }),
      /WEFT_QUOTA_MAP_ITEMS: expected a whole number/,
    );
    assert.throws(() => loadConfig({ ...base, WEFT_QUOTA_INFLIGHT: '0' }), /WEFT_QUOTA_INFLIGHT: expected at least 1/);
    assert.throws(
      () => loadConfig({ ...base, WEFT_QUOTA_TIMER_HORIZON: 'forever' }),
      /WEFT_QUOTA_TIMER_HORIZON: expected a duration/,
    );
    assert.throws(
      () => loadConfig({ ...base, WEFT_QUOTA_MAP_ITEMS: '1000000' }),
      /WEFT_QUOTA_MAP_ITEMS: expected at most 100,000/,
    );
  });
});

describe('tenant quotas on the PostgreSQL store', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ worker: false, store: 'postgres' });
  });
  after(async () => {
    await stack?.close();
  });

  test("a tenant's quotas are stored, read back and enforced", async () => {
    const rootKey = await createKey(stack, 'root', ['admin']);
    const tenant = unique('pg');
    await putTenant(stack, rootKey, tenant);
    const set = await stack.call('PUT', `/v1/tenants/${tenant}`, { quotas: { map_items: 3 } }, bearer(rootKey));
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const read = await stack.call('GET', `/v1/tenants/${tenant}`, undefined, bearer(rootKey));
    assert.deepEqual(read.body.quotas, { map_items: 3 });
    const editor = bearer(await createKey(stack, `${tenant}-editor`, ['editor'], { adminKey: rootKey, tenant }));
    const refused = await stack.call(
      'POST',
      '/v1/definitions',
      {
        id: 'four',
        nodes: [
          {
            id: 'each',
            type: 'map',
            items: '[1,2,3,4]',
            task: { connector: 'http', action: 'request', inputs: { url: 'http://x' } },
          },
        ],
      },
      editor,
    );
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.deepEqual(refused.body.error.details, [
      { path: '/nodes/0/items', message: 'quota "map_items" exceeded: at most 3 items per map (found 4)' },
    ]);
  });
});
