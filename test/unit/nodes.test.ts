/** Semantics of join, wait, event, approval, subworkflow, map and the error handlers, without Temporal. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyControl, checkControl, deliverEvent } from '../../interpreter/control.js';
import { reopenedState } from '../../interpreter/run-surgery.js';
import { handleEvent } from '../../interpreter/engine.js';
import { httpTask as http, simulate } from '../support/simulate.js';

const ok = (output: unknown = null) => ({ output });

describe('join', () => {
  const diamond = (mode: string, extra: Record<string, unknown> = {}) => ({
    id: 'diamond',
    variables: [{ name: 'go_b', type: 'boolean', default: true }],
    nodes: [http('start'), http('a'), http('b'), http('c'), { id: 'j', type: 'join', mode, ...extra }, http('after')],
    edges: [
      { from: 'start', to: 'a' },
      { from: 'start', to: 'b', when: 'vars.go_b' },
      { from: 'start', to: 'c' },
      { from: 'a', to: 'j' },
      { from: 'b', to: 'j' },
      { from: 'c', to: 'j' },
      { from: 'j', to: 'after' },
    ],
  });
  const answers = { start: ok(), a: ok('A'), b: ok('B'), c: ok('C'), after: ok() };

  test('"all" waits for every branch and outputs them by node', async () => {
    const sim = await simulate(diamond('all'), answers);
    assert.equal(sim.closing?.type, 'complete');
    assert.deepEqual(sim.state.nodes.j?.output, { a: 'A', b: 'B', c: 'C' });
    assert.deepEqual(
      sim.calls.map((c) => c.node),
      ['start', 'a', 'b', 'c', 'after'],
    );
    assert.equal(sim.state.nodes.after?.visits, 1);
  });

  test('a branch not taken does not hang "all" (dead-path elimination)', async () => {
    const sim = await simulate(diamond('all'), answers, { go_b: false });
    assert.equal(sim.closing?.type, 'complete');
    assert.equal(sim.state.nodes.b?.status, 'skipped');
    assert.deepEqual(sim.state.nodes.j?.output, { a: 'A', c: 'C' });
    assert.equal(sim.state.nodes.after?.status, 'completed');
  });

  test('"any" fires on the first arrival, once', async () => {
    const sim = await simulate(diamond('any'), answers);
    assert.deepEqual(sim.state.nodes.j?.output, { a: 'A' });
    assert.equal(sim.state.nodes.j?.visits, 1);
    assert.equal(sim.state.nodes.after?.visits, 1);
    assert.equal(sim.closing?.type, 'complete');
  });

  test('"n" fires on the n-th arrival', async () => {
    const sim = await simulate(diamond('n', { n: 2 }), answers);
    assert.deepEqual(sim.state.nodes.j?.output, { a: 'A', b: 'B' });
    assert.equal(sim.state.nodes.after?.visits, 1);
  });

  test('a join all of whose branches are dead is skipped, and so is what follows', async () => {
    const sim = await simulate(
      {
        id: 'dead',
        nodes: [
          { id: 'c', type: 'condition', expression: 'false' },
          http('a'),
          http('b'),
          { id: 'j', type: 'join' },
          http('after'),
        ],
        edges: [
          { from: 'c', to: 'a', when: 'nodes.c.output' },
          { from: 'c', to: 'b', when: 'nodes.c.output' },
          { from: 'a', to: 'j' },
          { from: 'b', to: 'j' },
          { from: 'j', to: 'after' },
        ],
      },
      {},
    );
    assert.equal(sim.closing?.type, 'complete');
    assert.deepEqual(
      ['a', 'b', 'j', 'after'].map((n) => sim.state.nodes[n]?.status),
      ['skipped', 'skipped', 'skipped', 'skipped'],
    );
  });

  test('a 100-branch fan-out joins', async () => {
    const branches = Array.from({ length: 100 }, (_, i) => `b${i}`);
    const sim = await simulate(
      {
        id: 'fan',
        nodes: [http('start'), ...branches.map((b) => http(b)), { id: 'j', type: 'join' }],
        edges: [...branches.map((b) => ({ from: 'start', to: b })), ...branches.map((b) => ({ from: b, to: 'j' }))],
      },
      { start: ok(), ...Object.fromEntries(branches.map((b, i) => [b, ok(i)])) },
    );
    assert.equal(sim.closing?.type, 'complete');
    assert.equal(Object.keys(sim.state.nodes.j?.output as object).length, 100);
  });
});

describe('wait', () => {
  test('a duration becomes a timer with an absolute deadline', async () => {
    const sim = await simulate({ id: 'w', nodes: [{ id: 'w', type: 'wait', duration: '90s' }] }, { w: 'hold' });
    const timer = sim.pending[0];
    assert.equal(timer?.type, 'start_timer');
    assert.equal(timer?.type === 'start_timer' && timer.deadline, '2026-01-01T00:01:30.000Z');
    assert.equal(sim.state.nodes.w?.status, 'waiting');
  });
  test('"until" takes an ISO time from an expression, and an invalid one fails the node', async () => {
    const sim = await simulate({ id: 'w', nodes: [{ id: 'w', type: 'wait', until: '"2030-05-01T10:00:00Z"' }] }, {});
    assert.equal(sim.closing?.type, 'complete');
    assert.deepEqual(sim.state.nodes.w?.output, { waited_until: '2030-05-01T10:00:00.000Z' });
    const bad = await simulate({ id: 'w', nodes: [{ id: 'w', type: 'wait', until: '"next tuesday"' }] }, {});
    assert.equal(bad.state.error?.type, 'ExpressionError');
  });
});

describe('event', () => {
  const definition = {
    id: 'ev',
    variables: [{ name: 'order', type: 'string', default: 'o-1' }],
    nodes: [
      {
        id: 'paid',
        type: 'event',
        event_type: 'payment.settled',
        correlation_key: 'vars.order',
        filters: 'event.payload.amount > 0',
        timeout: '1h',
      },
      { id: 'late', type: 'set', assign: { late: 'error.type' } },
    ],
    edges: [{ from: 'paid', to: 'late', on: 'error' }],
  };

  test('a matching event completes the node; wrong keys, types and filters are not consumed', async () => {
    const sim = await simulate(definition, { paid: 'hold' });
    assert.equal(sim.state.nodes.paid?.status, 'waiting');
    const send = (event: Parameters<typeof deliverEvent>[2]) =>
      deliverEvent(sim.program, sim.state, event, sim.clock());
    assert.equal(
      (await send({ event_type: 'payment.settled', correlation_key: 'o-2', payload: { amount: 5 } })).status,
      'buffered',
    );
    assert.equal((await send({ event_type: 'other', correlation_key: 'o-1', payload: {} })).status, 'ignored');
    assert.equal(
      (await send({ event_type: 'payment.settled', correlation_key: 'o-1', payload: { amount: 0 } })).status,
      'buffered',
    );
    const hit = await send({
      event_type: 'payment.settled',
      correlation_key: 'o-1',
      payload: { amount: 9 },
      event_id: 'e1',
    });
    assert.equal(hit.status, 'delivered');
    assert.deepEqual(
      hit.commands.map((c) => c.type),
      ['cancel', 'complete'],
    );
    assert.deepEqual(sim.state.nodes.paid?.output, { amount: 9 });
  });

  test('an event that arrives before the node waits is buffered and consumed later', async () => {
    const sim = await simulate(
      {
        ...definition,
        nodes: [http('first'), ...definition.nodes],
        edges: [{ from: 'first', to: 'paid' }, ...definition.edges],
      },
      { first: 'hold', paid: 'hold' },
    );
    const early = await deliverEvent(
      sim.program,
      sim.state,
      { event_type: 'payment.settled', correlation_key: 'o-1', payload: { amount: 1 } },
      sim.clock(),
    );
    assert.equal(early.status, 'buffered');
    const first = sim.pending.shift();
    assert.ok(first);
    const { handleEvent } = await import('../../interpreter/engine.js');
    const commands = await handleEvent(
      sim.program,
      sim.state,
      { type: 'activity_completed', exec: first.exec, output: null, attempts: 1 },
      sim.clock(),
    );
    assert.deepEqual(
      commands.map((c) => c.type),
      ['complete'],
    );
    assert.equal(sim.state.nodes.paid?.status, 'completed');
  });

  test('a timeout fails the node with Timeout, and an error edge catches it; duplicates are refused', async () => {
    const sim = await simulate(definition, {});
    assert.equal(sim.closing?.type, 'complete');
    assert.equal(sim.state.vars.late, 'Timeout');
    const dup = await simulate(definition, { paid: 'hold' });
    const event = { event_type: 'payment.settled', correlation_key: 'o-2', payload: { amount: 1 }, event_id: 'same' };
    assert.equal((await deliverEvent(dup.program, dup.state, event, dup.clock())).status, 'buffered');
    assert.equal((await deliverEvent(dup.program, dup.state, event, dup.clock())).status, 'duplicate');
  });
});

describe('approval', () => {
  const definition = (extra: Record<string, unknown> = {}) => ({
    id: 'ap',
    nodes: [{ id: 'ok', type: 'approval', approvers: ['ann', 'bob'], ...extra }, http('ship')],
    edges: [{ from: 'ok', to: 'ship' }],
  });

  test('an approver approves; others are refused; the decision is the output', async () => {
    const sim = await simulate(definition(), { ok: 'hold', ship: ok('shipped') });
    assert.equal(sim.state.nodes.ok?.status, 'waiting');
    assert.match(
      checkControl(sim.program, sim.state, { type: 'approve', by: 'eve', node: 'ok', approved: true }) ?? '',
      /not an approver/,
    );
    await sim.feed(
      await applyControl(
        sim.program,
        sim.state,
        { type: 'approve', by: 'ann', node: 'ok', approved: true, comment: 'fine' },
        sim.clock(),
      ),
    );
    assert.deepEqual(sim.state.nodes.ok?.output, { approved: true, by: 'ann', comment: 'fine' });
    assert.equal(sim.closing?.type, 'complete');
    assert.ok(sim.state.history.some((h) => h.node === 'ok' && h.by === 'ann'));
  });

  test('a rejection fails the node with Rejected; a timeout follows on_timeout', async () => {
    const sim = await simulate(definition(), { ok: 'hold' });
    await sim.feed(
      await applyControl(
        sim.program,
        sim.state,
        { type: 'approve', by: 'bob', node: 'ok', approved: false },
        sim.clock(),
      ),
    );
    assert.equal(sim.state.error?.type, 'Rejected');
    const approveOnTimeout = await simulate(definition({ timeout: '1d', on_timeout: 'approve' }), { ship: ok() });
    assert.equal(approveOnTimeout.closing?.type, 'complete');
    assert.equal((approveOnTimeout.state.nodes.ok?.output as { by: string }).by, 'timeout');
    const rejectOnTimeout = await simulate(definition({ timeout: '1d' }), {});
    assert.equal(rejectOnTimeout.state.error?.type, 'Rejected');
  });
});

describe('approval by role, quorum and self-approval', () => {
  const gate = (extra: Record<string, unknown>) => ({
    id: 'gated',
    nodes: [{ id: 'ok', type: 'approval', ...extra }, http('ship')],
    edges: [{ from: 'ok', to: 'ship' }],
  });
  const decide = (by: string, approved: boolean, roles?: string[]) => ({
    type: 'approve' as const,
    by,
    node: 'ok',
    approved,
    ...(roles ? { roles } : {}),
  });

  test('a listed role is met by a caller holding it; a caller without it is refused', async () => {
    const sim = await simulate(gate({ approvers: ['approver', 'jwt:ann'] }), { ship: ok() });
    assert.match(
      checkControl(sim.program, sim.state, decide('key:vic', true, ['viewer'])) ?? '',
      /"key:vic" is not an approver of node "ok" \(approvers: role "approver" or caller "jwt:ann"; its roles: viewer\)/,
    );
    assert.equal(checkControl(sim.program, sim.state, decide('jwt:ann', true)), undefined);
    await sim.feed(
      await applyControl(sim.program, sim.state, decide('key:zed', true, ['viewer', 'approver']), sim.clock()),
    );
    assert.deepEqual(sim.state.nodes.ok?.output, { approved: true, by: 'key:zed', comment: null });
    assert.equal(sim.closing?.type, 'complete');
  });

  test('a quorum needs that many distinct approvers; the same caller twice is refused', async () => {
    const sim = await simulate(gate({ approvers: ['approver'], quorum: 2 }), { ship: ok() });
    await sim.feed(await applyControl(sim.program, sim.state, decide('key:a', true, ['approver']), sim.clock()));
    assert.equal(sim.state.nodes.ok?.status, 'waiting');
    assert.ok(sim.state.history.some((h) => h.node === 'ok' && h.by === 'key:a' && h.note === 'approved (1 of 2)'));
    assert.equal(
      checkControl(sim.program, sim.state, decide('key:a', true, ['approver'])),
      '"key:a" has already approved node "ok": it needs 2 distinct approvers (1 so far)',
    );
    assert.deepEqual(await applyControl(sim.program, sim.state, decide('key:a', true, ['approver']), sim.clock()), []);
    assert.equal(sim.state.nodes.ok?.status, 'waiting');
    await sim.feed(await applyControl(sim.program, sim.state, decide('key:b', true, ['approver']), sim.clock()));
    assert.equal(sim.closing?.type, 'complete');
    assert.deepEqual(sim.state.nodes.ok?.output, {
      approved: true,
      by: 'key:b',
      comment: null,
      approvals: [
        { by: 'key:a', comment: null },
        { by: 'key:b', comment: null },
      ],
    });
  });

  test('one rejection rejects, whatever approvals came before', async () => {
    const sim = await simulate(gate({ quorum: 3 }), {});
    await sim.feed(await applyControl(sim.program, sim.state, decide('key:a', true), sim.clock()));
    await sim.feed(await applyControl(sim.program, sim.state, decide('key:b', false), sim.clock()));
    assert.equal(sim.closing?.type, 'fail');
    assert.equal(sim.state.error?.type, 'Rejected');
    assert.equal(sim.state.error?.message, 'rejected by key:b');
  });

  test('a quorum not reached before the timeout says how far it got', async () => {
    const sim = await simulate(gate({ quorum: 2, timeout: '1h' }), { ok: 'hold' });
    await sim.feed(await applyControl(sim.program, sim.state, decide('key:a', true), sim.clock()));
    const timer = sim.pending.find((c) => c.type === 'start_timer');
    assert.ok(timer);
    await sim.feed(await handleEvent(sim.program, sim.state, { type: 'timer_fired', exec: timer.exec }, sim.clock()));
    assert.equal(sim.closing?.type, 'fail');
    assert.equal(sim.state.error?.message, '1 of the 2 approvals needed before the timeout');
  });

  test("forbid_self_approval refuses the approval of the run's starter, not that of others", async () => {
    const sim = await simulate(gate({ approvers: ['approver'], forbid_self_approval: true }), { ship: ok() });
    sim.state.run.started_by = 'key:starter';
    assert.equal(
      checkControl(sim.program, sim.state, decide('key:starter', true, ['approver'])),
      '"key:starter" started this run and node "ok" forbids self-approval (forbid_self_approval): another approver must decide',
    );
    assert.equal(checkControl(sim.program, sim.state, decide('key:starter', false, ['approver'])), undefined);
    await sim.feed(await applyControl(sim.program, sim.state, decide('key:other', true, ['approver']), sim.clock()));
    assert.equal(sim.closing?.type, 'complete');
  });
});

describe('map and subworkflow', () => {
  test('map runs its body per item with item/index in scope, bounded, results in item order', async () => {
    let peak = 0;
    const sim = await simulate(
      {
        id: 'm',
        variables: [{ name: 'ids', type: 'array', default: [5, 6, 7, 8, 9] }],
        nodes: [
          {
            id: 'each',
            type: 'map',
            output: 'results',
            items: 'vars.ids',
            max_concurrency: 2,
            task: { connector: 'http', action: 'request', inputs: { url: 'http://x.test/{{ item }}?i={{ index }}' } },
          },
        ],
      },
      {
        each: (call, _nth, _command, state) => {
          peak = Math.max(peak, Object.values(state.inflight).filter((e) => e.kind === 'work').length);
          return ok((call as { params: { url: string } }).params.url);
        },
      },
    );
    assert.deepEqual(sim.state.vars.results, [
      'http://x.test/5?i=0',
      'http://x.test/6?i=1',
      'http://x.test/7?i=2',
      'http://x.test/8?i=3',
      'http://x.test/9?i=4',
    ]);
    assert.equal(peak, 2, 'two items at a time');
  });

  test('a failing item fails the map node and cancels the rest', async () => {
    const sim = await simulate(
      {
        id: 'm',
        nodes: [
          {
            id: 'each',
            type: 'map',
            items: '[1,2,3]',
            task: { connector: 'http', action: 'request', inputs: { url: 'http://x.test/{{ item }}' } },
          },
        ],
      },
      { each: (_c, nth) => (nth === 1 ? { error: { type: 'HttpError', message: 'boom' } } : 'hold') },
    );
    assert.equal(sim.state.error?.type, 'HttpError');
    assert.match(sim.state.error?.message ?? '', /item 0/);
    assert.equal(sim.cancelled.length, 2);
  });

  test('a subworkflow node starts a child with rendered inputs; its result is the output', async () => {
    const sim = await simulate(
      {
        id: 'parent',
        variables: [{ name: 'n', type: 'number', default: 4 }],
        nodes: [
          {
            id: 'kid',
            type: 'subworkflow',
            definition: 'child-def',
            output: 'child',
            inputs: { x: '{{ vars.n * 2 }}' },
          },
        ],
      },
      { kid: (call) => ok({ got: (call as { input: { x: number } }).input.x }) },
    );
    assert.deepEqual(sim.calls[0]?.call, { definition: 'child-def', input: { x: 8 } });
    assert.deepEqual(sim.state.vars.child, { got: 8 });
  });
});

describe('error handlers and operators', () => {
  test('compensate runs compensations of completed nodes in reverse completion order, then fails', async () => {
    const withComp = (id: string) =>
      http(id, { compensation: { connector: 'http', action: 'request', inputs: { url: `http://x.test/undo-${id}` } } });
    const sim = await simulate(
      {
        id: 'saga',
        nodes: [withComp('reserve'), http('log'), withComp('charge'), http('ship')],
        edges: [
          { from: 'reserve', to: 'log' },
          { from: 'log', to: 'charge' },
          { from: 'charge', to: 'ship' },
        ],
        error_handlers: [{ id: 'h', action: 'compensate' }],
      },
      {
        reserve: (_c, nth) => (nth === 1 ? ok() : ok('undone')),
        log: ok(),
        charge: (_c, nth) => (nth === 1 ? ok() : ok('undone')),
        ship: { error: { type: 'HttpError', message: 'no courier' } },
      },
    );
    assert.deepEqual(
      sim.calls.map((c) => `${c.node}:${(c.call as { params: { url: string } }).params.url.split('/').pop()}`),
      ['reserve:reserve', 'log:log', 'charge:charge', 'ship:ship', 'charge:undo-charge', 'reserve:undo-reserve'],
    );
    assert.deepEqual(sim.closing, { type: 'fail', error: { type: 'HttpError', message: 'no courier', node: 'ship' } });
    // Even with its history cut short (bounded), a compensated run says why it cannot be retried.
    sim.state.history = [];
    assert.deepEqual(reopenedState(sim.state, 'saga-1', 'retry', 'op', sim.clock()), {
      refused:
        'the run was compensated after node "ship" failed: its completed steps were undone, so it cannot go on from where it failed; start a new run instead',
    });
  });

  test('retry runs the node again after a delay under the handler policy, once', async () => {
    const sim = await simulate(
      {
        id: 'retry',
        nodes: [http('flaky', { output: 'out' })],
        error_handlers: [{ id: 'again', action: 'retry', retry_policy: { max_attempts: 9, initial_interval: '5s' } }],
      },
      { flaky: (_c, nth) => (nth === 1 ? { error: { type: 'HttpError', message: 'x' } } : ok('second time')) },
    );
    assert.equal(sim.state.vars.out, 'second time');
    const second = sim.calls[1];
    assert.ok(second);
    const always = await simulate(
      { id: 'retry2', nodes: [http('bad')], error_handlers: [{ id: 'again', action: 'retry' }] },
      { bad: { error: { type: 'HttpError', message: 'x' } } },
    );
    assert.equal(always.calls.length, 2);
    assert.equal(always.state.error?.type, 'HttpError');
  });

  test('on_failure "pause" parks the run; retry and skip resume it; resume alone is refused', async () => {
    const definition = {
      id: 'p',
      options: { on_failure: 'pause' },
      nodes: [http('a', { output: 'a_out' }), http('b')],
      edges: [{ from: 'a', to: 'b' }],
    };
    const sim = await simulate(definition, {
      a: (_c, nth) => (nth === 1 ? { error: { type: 'HttpError', message: 'x' } } : ok('fixed')),
      b: ok(),
    });
    assert.equal(sim.state.status, 'paused');
    assert.equal(sim.closing, undefined);
    assert.match(checkControl(sim.program, sim.state, { type: 'resume', by: 'op' }) ?? '', /retry or skip/);
    await sim.feed(await applyControl(sim.program, sim.state, { type: 'retry', by: 'op' }, sim.clock()));
    assert.equal(sim.state.vars.a_out, 'fixed');
    assert.equal(sim.state.status, 'completed');

    const skipped = await simulate(definition, { a: { error: { type: 'HttpError', message: 'x' } }, b: ok() });
    await skipped.feed(
      await applyControl(
        skipped.program,
        skipped.state,
        { type: 'skip', by: 'op', node: 'a', output: 'manual' },
        skipped.clock(),
      ),
    );
    assert.equal(skipped.state.vars.a_out, 'manual');
    assert.equal(skipped.state.nodes.a?.status, 'skipped');
    assert.equal(skipped.closing?.type, 'complete');
  });

  test('pause holds new nodes while in-flight work finishes; resume continues; cancel closes', async () => {
    const sim = await simulate(
      { id: 'pr', nodes: [http('a'), http('b')], edges: [{ from: 'a', to: 'b' }] },
      { a: 'hold', b: ok() },
    );
    await applyControl(sim.program, sim.state, { type: 'pause', by: 'op', reason: 'maintenance' }, sim.clock());
    const a = sim.pending.shift();
    assert.ok(a);
    const { handleEvent } = await import('../../interpreter/engine.js');
    await sim.feed(
      await handleEvent(
        sim.program,
        sim.state,
        { type: 'activity_completed', exec: a.exec, output: 1, attempts: 1 },
        sim.clock(),
      ),
    );
    assert.equal(sim.state.nodes.b?.status, 'pending');
    assert.equal(sim.state.status, 'paused');
    await sim.feed(await applyControl(sim.program, sim.state, { type: 'resume', by: 'op' }, sim.clock()));
    assert.equal(sim.closing?.type, 'complete');

    const cancel = await simulate({ id: 'c', nodes: [http('a')] }, { a: 'hold' });
    const commands = await applyControl(
      cancel.program,
      cancel.state,
      { type: 'cancel', by: 'op', reason: 'no longer needed' },
      cancel.clock(),
    );
    assert.deepEqual(
      commands.map((c) => c.type),
      ['cancel', 'fail'],
    );
    assert.equal(cancel.state.status, 'cancelled');
    assert.equal(checkControl(cancel.program, cancel.state, { type: 'pause', by: 'op' }), 'the run is cancelled');
  });

  test('cancel marks every node that was pending, running or waiting as cancelled', async () => {
    const sim = await simulate(
      {
        id: 'cancelled',
        nodes: [
          http('done'),
          http('busy'),
          { id: 'ask', type: 'approval' },
          { id: 'nap', type: 'wait', duration: '1h' },
          http('later'),
        ],
        edges: [
          { from: 'done', to: 'ask' },
          { from: 'ask', to: 'later' },
        ],
      },
      { done: ok(), busy: 'hold', nap: 'hold' },
    );
    assert.deepEqual(Object.fromEntries(Object.entries(sim.state.nodes).map(([id, n]) => [id, n.status])), {
      done: 'completed',
      busy: 'running',
      ask: 'waiting',
      nap: 'waiting',
      later: 'pending',
    });
    await sim.feed(await applyControl(sim.program, sim.state, { type: 'cancel', by: 'op' }, sim.clock()));
    assert.equal(sim.state.status, 'cancelled');
    assert.deepEqual(Object.fromEntries(Object.entries(sim.state.nodes).map(([id, n]) => [id, n.status])), {
      done: 'completed',
      busy: 'cancelled',
      ask: 'cancelled',
      nap: 'cancelled',
      later: 'cancelled',
    });
    assert.ok(
      sim.state.history.some((h) => h.node === 'ask' && h.from === 'waiting' && h.to === 'cancelled' && h.by === 'op'),
    );
  });

  test('set variables checks declared types; skip of a pending node uses the given output', async () => {
    const sim = await simulate(
      {
        id: 'sv',
        variables: [{ name: 'limit', type: 'number', default: 1 }],
        nodes: [http('a'), http('b', { output: 'b_out' })],
        edges: [{ from: 'a', to: 'b' }],
      },
      { a: 'hold', b: ok('ran') },
    );
    assert.match(
      checkControl(sim.program, sim.state, { type: 'set_variables', by: 'op', variables: { limit: 'x' } }) ?? '',
      /expected number/,
    );
    assert.match(
      checkControl(sim.program, sim.state, { type: 'set_variables', by: 'op', variables: { nope: 1 } }) ?? '',
      /unknown variable/,
    );
    await applyControl(
      sim.program,
      sim.state,
      { type: 'set_variables', by: 'op', variables: { limit: 5 } },
      sim.clock(),
    );
    await applyControl(sim.program, sim.state, { type: 'skip', by: 'op', node: 'b', output: 'given' }, sim.clock());
    sim.pending.length = 0;
    const { handleEvent } = await import('../../interpreter/engine.js');
    const a = sim.calls[0];
    assert.ok(a);
    await sim.feed(
      await handleEvent(
        sim.program,
        sim.state,
        { type: 'activity_completed', exec: 'a#1', output: null, attempts: 1 },
        sim.clock(),
      ),
    );
    assert.equal(sim.state.vars.limit, 5);
    assert.equal(sim.state.vars.b_out, 'given');
    assert.equal(sim.calls.length, 1);
    assert.equal(sim.closing?.type, 'complete');
  });
});
