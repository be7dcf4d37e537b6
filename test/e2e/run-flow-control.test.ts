/**
 * Run-level flow control over HTTP against the real dev server: `options.max_concurrent_runs`
 * keyed by the input (runs of one key strictly one after another, two keys side by side, queued
 * runs shown with their place in line), `on_limit: "skip"` (a start past the limit is refused with
 * 409 and nothing starts) and `priority` (queued priority-5 work overtakes queued priority-1 work).
 * A local HTTP server holds every call until the test lets it go, and tracks what is in flight.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { unique } from '../support/temporal.js';
import { until } from '../support/poll.js';
import { orderDefinition } from '../support/definitions.js';

let stack: TestStack;
let target: HttpTarget;
/** Calls the server holds, with the order (run) they came from. */
const held: { order: string; res: ServerResponse }[] = [];
const inFlight = new Map<string, number>();
const maxInFlight = new Map<string, number>();
/** The orders in the sequence their calls arrived. */
const arrivals: string[] = [];

before(async () => {
  target = await startHttpTarget({
    '/work': (req, res) => {
      const order = req.query.order ?? '';
      const now = (inFlight.get(order) ?? 0) + 1;
      inFlight.set(order, now);
      maxInFlight.set(order, Math.max(now, maxInFlight.get(order) ?? 0));
      arrivals.push(order);
      held.push({ order, res });
    },
  });
  stack = await startTestStack();
});
after(async () => {
  for (const { res } of held) res.destroy();
  await stack?.close();
  await target?.close();
});

function release(order: string): void {
  const i = held.findIndex((h) => h.order === order);
  assert.ok(i >= 0, `a held call of ${order}`);
  const { res } = held.splice(i, 1)[0] as { res: ServerResponse };
  inFlight.set(order, (inFlight.get(order) ?? 1) - 1);
  json(res, 200, { order });
}

const definition = (id: string, options: Record<string, unknown>) => orderDefinition(id, `${target.url}/work`, options);

async function submit(body: unknown): Promise<void> {
  const submitted = await stack.call('POST', '/v1/definitions', body);
  assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
}

async function start(id: string, order: string, more: Record<string, unknown> = {}) {
  return stack.call('POST', `/v1/definitions/${id}/runs`, { input: { order_id: order }, ...more });
}

async function completed(runId: string): Promise<void> {
  const result = await stack.call('GET', `/v1/runs/${runId}/result?wait=true`);
  assert.equal(result.body.status, 'completed', JSON.stringify(result.body));
}

const heldOf = (order: string) => held.filter((h) => h.order === order).length;
/** Waits until the server's held calls satisfy `holds`. */
const whenHeld = (what: string, holds: () => boolean) => until(what, () => Promise.resolve(holds() ? true : undefined));

test('max_concurrent_runs keyed by input.order_id: one run per key at a time, two keys side by side', async () => {
  const id = unique('runs-keyed');
  await submit(definition(id, { max_concurrent_runs: 1, concurrency_key: 'input.order_id' }));
  const a = `${id}-A`;
  const b = `${id}-B`;
  const runsA: string[] = [];
  for (let i = 0; i < 3; i++) {
    const started = await start(id, a);
    assert.equal(started.status, 201, JSON.stringify(started.body));
    runsA.push(started.body.run_id as string);
  }
  const runB = (await start(id, b)).body.run_id as string;
  // Two keys overlap: a call of A and one of B are held at once.
  await whenHeld('a call of each key in flight', () => heldOf(a) === 1 && heldOf(b) === 1);
  // The other runs of A queue before their first node, with their key and place in line.
  const queued = await Promise.all(
    runsA.map((run) =>
      until(`the state of ${run}`, async () => {
        const state = (await stack.call('GET', `/v1/runs/${run}`)).body;
        return state.queued === undefined || state.queued.position !== undefined ? state : undefined;
      }),
    ),
  );
  const positions = queued.map((s) => s.queued?.position ?? 0).sort();
  assert.deepEqual(positions, [0, 1, 2], JSON.stringify(queued));
  for (const state of queued.filter((s) => s.queued)) {
    assert.equal(state.queued.key, a);
    assert.equal(state.queued.for, 'options.max_concurrent_runs');
    assert.equal(state.status, 'running');
    assert.deepEqual(state.active_nodes, []);
  }
  release(b);
  for (let n = 1; n <= 3; n++) {
    await whenHeld(`call ${n} of A`, () => heldOf(a) === 1);
    release(a);
  }
  for (const run of [...runsA, runB]) await completed(run);
  assert.equal(maxInFlight.get(a), 1, 'runs of one key never overlapped');
  assert.equal(arrivals.filter((o) => o === a).length, 3);
  // Every permit was given back: a new run of A starts at once.
  const again = (await start(id, a)).body.run_id as string;
  await whenHeld('the next run of A calls', () => heldOf(a) === 1);
  release(a);
  await completed(again);
});

test('on_limit "skip" refuses a start while the limit is reached, with 409 naming the option and the key', async () => {
  const id = unique('runs-skip');
  await submit(definition(id, { max_concurrent_runs: 1, concurrency_key: 'input.order_id', on_limit: 'skip' }));
  const order = `${id}-X`;
  const first = await start(id, order);
  assert.equal(first.status, 201, JSON.stringify(first.body));
  await whenHeld('the first call', () => heldOf(order) === 1);
  const refused = await start(id, order, { run_id: `${id}-refused` });
  assert.equal(refused.status, 409, JSON.stringify(refused.body));
  assert.equal(refused.body.error.code, 'conflict');
  assert.match(refused.body.error.message, /options\.max_concurrent_runs/);
  assert.match(refused.body.error.message, new RegExp(order));
  assert.equal(refused.body.error.details[0].path, '/options/max_concurrent_runs');
  // Nothing started under that run id.
  const none = await stack.call('GET', `/v1/runs/${id}-refused`);
  assert.equal(none.status, 404, JSON.stringify(none.body));
  // Another key is not limited by this one.
  const other = await start(id, `${id}-Y`);
  assert.equal(other.status, 201, JSON.stringify(other.body));
  await whenHeld('the other key calls', () => heldOf(`${id}-Y`) === 1);
  release(`${id}-Y`);
  // A repeated start of the running run answers as the first did (idempotent), not 409.
  release(order);
  await completed(first.body.run_id);
  await completed(other.body.run_id);
  // Once the first run ended its permit is free again.
  const next = await start(id, order);
  assert.equal(next.status, 201, JSON.stringify(next.body));
  await whenHeld('the next call', () => heldOf(order) === 1);
  release(order);
  await completed(next.body.run_id);
});

test('priority: a queued priority-5 run overtakes queued priority-1 runs', async () => {
  const id = unique('runs-priority');
  await submit(definition(id, { max_concurrent_runs: 1, priority: 1 }));
  const blocker = await start(id, `${id}-blocker`);
  assert.equal(blocker.status, 201, JSON.stringify(blocker.body));
  await whenHeld('the blocker call', () => heldOf(`${id}-blocker`) === 1);
  // One after the other into the line: FIFO is by arrival at the limiter.
  const low: string[] = [];
  for (const n of [1, 2]) {
    const run = (await start(id, `${id}-low${n}`)).body.run_id as string;
    low.push(run);
    await until(`low${n} queued`, async () => {
      const state = (await stack.call('GET', `/v1/runs/${run}`)).body;
      return state.queued?.position === n ? true : undefined;
    });
  }
  const high = (await start(id, `${id}-high`, { priority: 5 })).body.run_id as string;
  await until('the high run queued first', async () => {
    const state = (await stack.call('GET', `/v1/runs/${high}`)).body;
    return state.queued?.position === 1 ? true : undefined;
  });
  release(`${id}-blocker`);
  for (const order of [`${id}-high`, `${id}-low1`, `${id}-low2`]) {
    await whenHeld(`the call of ${order}`, () => held.length === 1);
    assert.equal(held[0]?.order, order, `${order} is next (arrivals: ${arrivals.join(', ')})`);
    release(order);
  }
  for (const run of [blocker.body.run_id as string, high, ...low]) await completed(run);
});

test('debounce: a burst of 5 starts of one key becomes one run with the last input', async () => {
  const id = unique('runs-debounce');
  await submit({
    id,
    variables: [
      { name: 'order_id', type: 'string', required: true },
      { name: 'n', type: 'number', default: 0 },
    ],
    nodes: [
      {
        id: 'call',
        type: 'task',
        connector: 'http',
        action: 'request',
        inputs: { url: `${target.url}/work?order={{input.order_id}}-{{input.n}}`, timeout: '300s' },
      },
    ],
    // A generous window: the starts of the burst must come within it even on a loaded machine.
    options: { debounce: '10s', concurrency_key: 'input.order_id' },
  });
  const order = `${id}-D`;
  const answers = [];
  for (let n = 1; n <= 5; n++) {
    const answer = await stack.call('POST', `/v1/definitions/${id}/runs`, { input: { order_id: order, n } });
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    answers.push(answer.body);
  }
  // Another key is a burst of its own.
  const other = await stack.call('POST', `/v1/definitions/${id}/runs`, { input: { order_id: `${id}-E`, n: 9 } });
  assert.equal(other.status, 202, JSON.stringify(other.body));
  const runId = answers[0].run_id as string;
  for (const [i, answer] of answers.entries()) {
    assert.equal(answer.accepted, true);
    assert.equal(answer.debounced, true);
    assert.equal(answer.run_id, runId, 'every start of the burst names the same run');
    assert.equal(answer.starts, i + 1);
    assert.ok(Date.parse(answer.starts_after) > 0);
  }
  assert.notEqual(other.body.run_id, runId);
  await whenHeld('the debounced calls', () => heldOf(`${order}-5`) === 1 && heldOf(`${id}-E-9`) === 1);
  release(`${order}-5`);
  release(`${id}-E-9`);
  await completed(runId);
  await completed(other.body.run_id);
  const state = (await stack.call('GET', `/v1/runs/${runId}`)).body;
  assert.equal(state.variables.n, 5, JSON.stringify(state.variables));
  assert.equal(arrivals.filter((o) => o.startsWith(`${order}-`)).length, 1, `one run: ${arrivals.join(', ')}`);
  // A caller-chosen run_id cannot name a burst's run.
  const named = await stack.call('POST', `/v1/definitions/${id}/runs`, {
    input: { order_id: order },
    run_id: `${id}-x`,
  });
  assert.equal(named.status, 400, JSON.stringify(named.body));
  assert.equal(named.body.error.details[0].path, '/run_id');
});

test("a run cancelled while queued gives its place up, and its cancel is the operator's", async () => {
  const id = unique('runs-cancel');
  await submit(definition(id, { max_concurrent_runs: 1 }));
  const first = (await start(id, `${id}-1`)).body.run_id as string;
  await whenHeld('the first call', () => heldOf(`${id}-1`) === 1);
  const queued = (await start(id, `${id}-2`)).body.run_id as string;
  await until('the second run queued', async () => {
    const state = (await stack.call('GET', `/v1/runs/${queued}`)).body;
    return state.queued?.position === 1 ? true : undefined;
  });
  const last = (await start(id, `${id}-3`)).body.run_id as string;
  const cancel = await stack.call('POST', `/v1/runs/${queued}/cancel`, { reason: 'not needed' });
  assert.equal(cancel.status, 202, JSON.stringify(cancel.body));
  const result = await stack.call('GET', `/v1/runs/${queued}/result?wait=true`);
  assert.equal(result.body.status, 'cancelled', JSON.stringify(result.body));
  const state = (await stack.call('GET', `/v1/runs/${queued}`)).body;
  assert.equal(state.queued, undefined);
  assert.ok(
    state.history.some((t: { to: string; by?: string }) => t.to === 'cancelled' && t.by === 'local-dev'),
    JSON.stringify(state.history),
  );
  release(`${id}-1`);
  await whenHeld('the third run calls', () => heldOf(`${id}-3`) === 1);
  assert.equal(heldOf(`${id}-2`), 0, 'the cancelled run never called');
  release(`${id}-3`);
  await completed(first);
  await completed(last);
});

test('a child run (subworkflow) honours on_limit "skip" itself: refused, it fails with RunLimitReached and calls nothing', async () => {
  const child = unique('runs-child');
  await submit(definition(child, { max_concurrent_runs: 1, concurrency_key: 'input.order_id', on_limit: 'skip' }));
  const parent = unique('runs-parent');
  await submit({
    id: parent,
    variables: [{ name: 'order_id', type: 'string', required: true }],
    nodes: [{ id: 'sub', type: 'subworkflow', definition: child, inputs: { order_id: '{{ input.order_id }}' } }],
  });
  const order = `${child}-K`;
  const holder = await start(child, order);
  assert.equal(holder.status, 201, JSON.stringify(holder.body));
  await whenHeld('the holder calls', () => heldOf(order) === 1);
  const refused = await start(parent, order);
  assert.equal(refused.status, 201, JSON.stringify(refused.body));
  const result = await stack.call('GET', `/v1/runs/${refused.body.run_id}/result?wait=true`);
  assert.equal(result.body.status, 'failed', JSON.stringify(result.body));
  assert.equal(result.body.error.type, 'RunLimitReached', JSON.stringify(result.body));
  assert.match(result.body.error.message, /options\.max_concurrent_runs/);
  assert.equal(heldOf(order), 1, 'the refused child called nothing');
  release(order);
  await completed(holder.body.run_id);
  // With the permit free, the same child runs.
  const admitted = await start(parent, order);
  await whenHeld('the admitted child calls', () => heldOf(order) === 1);
  release(order);
  await completed(admitted.body.run_id);
});

test('on_limit "skip" under concurrent starts: exactly as many starts as permits get through', async () => {
  const id = unique('runs-race');
  await submit(definition(id, { max_concurrent_runs: 2, concurrency_key: 'input.order_id', on_limit: 'skip' }));
  const order = `${id}-R`;
  const answers = await Promise.all(Array.from({ length: 6 }, () => start(id, order)));
  const statuses = answers.map((a) => a.status).sort();
  assert.deepEqual(statuses, [201, 201, 409, 409, 409, 409], JSON.stringify(answers.map((a) => a.body)));
  await whenHeld('the two admitted runs call', () => heldOf(order) === 2);
  // Both held calls are answered first: which run's call is held first is not known.
  release(order);
  release(order);
  for (const answer of answers.filter((a) => a.status === 201)) await completed(answer.body.run_id);
  assert.equal(maxInFlight.get(order), 2);
});

test('webhook starts are debounced too: each answers 202 naming the one run of the burst', async () => {
  const id = unique('runs-hook');
  await submit({
    ...orderDefinition(id, `${target.url}/work`, { debounce: '10s', concurrency_key: 'input.order_id' }),
    triggers: [{ type: 'webhook' }],
  });
  const order = `${id}-W`;
  const first = await stack.call('POST', `/v1/hooks/${id}`, { order_id: order });
  const second = await stack.call('POST', `/v1/hooks/${id}`, { order_id: order });
  for (const answer of [first, second]) {
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    assert.equal(answer.body.debounced, true);
  }
  assert.equal(second.body.run_id, first.body.run_id);
  assert.equal(second.body.starts, 2);
  await whenHeld('the burst run calls', () => heldOf(order) === 1);
  release(order);
  await completed(first.body.run_id);
  assert.equal(arrivals.filter((o) => o === order).length, 1);
});
