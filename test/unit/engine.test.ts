/** Graph semantics of the pure interpreter, as scenarios without Temporal. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { activityPlan, handleEvent, TASK_DEFAULTS } from '../../interpreter/engine.js';
import { TaskNode } from '../../interpreter/definition-schema.js';
import { viewRunState } from '../../interpreter/run-state.js';
import { validateDefinition } from '../../interpreter/validate-definition.js';
import { loopOnBranchDefinition } from '../support/definitions.js';
import { httpTask as http, simulate } from '../support/simulate.js';

const ok = (output: unknown = null) => ({ output });

describe('engine', () => {
  test('a sequence runs in edge order and the result is the final variables', async () => {
    const sim = await simulate(
      {
        id: 'seq',
        variables: [{ name: 'n', type: 'number', default: 1 }],
        nodes: [
          http('a', { output: 'a_out' }),
          { id: 'b', type: 'set', assign: { n: 'vars.n + vars.a_out.v' } },
          http('c'),
        ],
        edges: [
          { from: 'a', to: 'b' },
          { from: 'b', to: 'c' },
        ],
      },
      { a: { output: { v: 41 } }, c: { output: 'done' } },
    );
    assert.deepEqual(
      sim.calls.map((c) => c.node),
      ['a', 'c'],
    );
    assert.equal(sim.closing?.type, 'complete');
    assert.deepEqual(sim.state.result, { n: 42, a_out: { v: 41 } });
    assert.deepEqual(
      sim.state.history.filter((h) => h.node).map((h) => `${h.node}:${h.to}`),
      ['a:running', 'a:completed', 'b:completed', 'c:running', 'c:completed'],
    );
  });

  test('nodes without incoming edges start together (parallel split)', async () => {
    const sim = await simulate(
      {
        id: 'par',
        nodes: [http('a'), http('b'), { id: 'c', type: 'set', assign: { seen: 'true' } }],
        edges: [{ from: 'a', to: 'c' }],
      },
      { a: { output: 1 }, b: { output: 2 } },
    );
    assert.deepEqual(
      sim.calls.map((c) => c.node),
      ['a', 'b'],
    );
    assert.equal(sim.state.vars.seen, true);
    assert.equal(sim.closing?.type, 'complete');
  });

  const routing = [
    { amount: 500, expect: ['big'] },
    { amount: 50, expect: ['small'] },
    { amount: 0, expect: ['fallback'] },
  ];
  for (const row of routing) {
    test(`edges choose by "when", with a default when none holds (amount ${row.amount})`, async () => {
      const sim = await simulate(
        {
          id: 'route',
          variables: [{ name: 'amount', type: 'number' }],
          nodes: [
            { id: 'check', type: 'condition', expression: 'vars.amount' },
            http('big'),
            http('small'),
            http('fallback'),
          ],
          edges: [
            { from: 'check', to: 'big', when: 'nodes.check.output >= 100' },
            { from: 'check', to: 'small', when: 'nodes.check.output > 0 and nodes.check.output < 100' },
            { from: 'check', to: 'fallback', default: true },
          ],
        },
        { big: { output: 'B' }, small: { output: 'S' }, fallback: { output: 'F' } },
        { amount: row.amount },
      );
      assert.deepEqual(
        sim.calls.map((c) => c.node),
        row.expect,
      );
      assert.equal(sim.state.nodes.check?.output, row.amount);
    });
  }

  test('templates in inputs are rendered before the activity is asked for', async () => {
    const sim = await simulate(
      {
        id: 'tpl',
        variables: [{ name: 'who', type: 'string', default: 'Ada' }],
        nodes: [
          http('a', { output: 'a_out' }),
          http('b', { inputs: { url: 'http://x.test/{{ vars.a_out.id }}', body: '{{ {"who": vars.who} }}' } }),
        ],
        edges: [{ from: 'a', to: 'b' }],
      },
      { a: { output: { id: 7 } }, b: { output: null } },
    );
    assert.deepEqual((sim.calls[1]?.call as { params: unknown }).params, {
      url: 'http://x.test/7',
      body: { who: 'Ada' },
    });
  });

  test('a failure without an error path fails the run, naming the node', async () => {
    const sim = await simulate(
      { id: 'fail', nodes: [http('a'), http('b')], edges: [{ from: 'a', to: 'b' }] },
      {
        a: { error: { type: 'HttpError', message: 'GET answered 503' }, attempts: 3 },
      },
    );
    assert.deepEqual(sim.closing, {
      type: 'fail',
      error: { type: 'HttpError', message: 'GET answered 503', node: 'a' },
    });
    assert.equal(sim.state.nodes.a?.status, 'failed');
    assert.equal(sim.state.nodes.a?.attempts, 3);
    assert.equal(sim.state.nodes.b?.status, 'pending');
  });

  test('an on:error edge catches the failure and puts error in scope', async () => {
    const sim = await simulate(
      {
        id: 'catch',
        nodes: [http('a'), { id: 'handle', type: 'set', assign: { why: 'error.type & "/" & error.node' } }],
        edges: [{ from: 'a', to: 'handle', on: 'error' }],
      },
      { a: { error: { type: 'Timeout', message: 'slow' } } },
    );
    assert.equal(sim.closing?.type, 'complete');
    assert.equal(sim.state.vars.why, 'Timeout/a');
  });

  test('error handlers: continue sets the output to null and follows success edges; goto jumps', async () => {
    const cont = await simulate(
      {
        id: 'cont',
        nodes: [http('a', { output: 'a_out' }), { id: 'b', type: 'set', assign: { after: 'true' } }],
        edges: [{ from: 'a', to: 'b' }],
        error_handlers: [{ id: 'h', match: { error_type: 'HttpError' }, action: 'continue' }],
      },
      { a: { error: { type: 'HttpError', message: 'x' } } },
    );
    assert.equal(cont.state.vars.a_out, null);
    assert.equal(cont.state.vars.after, true);
    assert.equal(cont.state.nodes.a?.status, 'failed');

    const jump = await simulate(
      {
        id: 'jump',
        nodes: [http('a'), http('b'), { id: 'rescue', type: 'set', assign: { rescued: 'error.message' } }],
        edges: [
          { from: 'a', to: 'b' },
          { from: 'b', to: 'rescue', when: 'false' },
        ],
        error_handlers: [
          { id: 'other', match: { node: 'b' }, action: 'terminate' },
          { id: 'h', match: { node: ['a'] }, action: 'goto', target: 'rescue' },
        ],
      },
      { a: { error: { type: 'HttpError', message: 'gone' } } },
    );
    assert.equal(jump.state.vars.rescued, 'gone');
    assert.deepEqual(
      jump.calls.map((c) => c.node),
      ['a'],
    );
  });

  test('a loop with a guarded back edge runs until its condition fails', async () => {
    const sim = await simulate(
      {
        id: 'loop',
        variables: [{ name: 'i', type: 'number', default: 0 }],
        nodes: [
          { id: 'begin', type: 'set', assign: { i: '0' } },
          { id: 'inc', type: 'set', assign: { i: 'vars.i + 1' } },
          { id: 'again', type: 'condition', expression: 'vars.i < 25' },
        ],
        edges: [
          { from: 'begin', to: 'inc' },
          { from: 'inc', to: 'again' },
          { from: 'again', to: 'inc', when: 'nodes.again.output' },
        ],
      },
      {},
    );
    assert.equal(sim.state.vars.i, 25);
    assert.equal(sim.state.nodes.inc?.visits, 25);
  });

  // Found by the graph fuzzer: the loop's head waited for its back edge, which never arrives dead,
  // so what followed the loop stayed `pending` and the run completed without running it.
  test('a loop on a branch not taken dies as a whole, and what follows it runs', async () => {
    const loopOnBranch = (go: boolean) => loopOnBranchDefinition('dead-loop', go);
    const skipped = await simulate(loopOnBranch(false), {});
    assert.equal(skipped.closing?.type, 'complete');
    assert.equal(skipped.state.vars.done, true);
    assert.equal(skipped.state.vars.i, 0);
    for (const id of ['body', 'check']) assert.equal(skipped.state.nodes[id]?.status, 'skipped', id);
    for (const id of ['c', 'a', 'j', 'finish']) assert.equal(skipped.state.nodes[id]?.status, 'completed', id);
    for (const id of ['body', 'check']) assert.equal(skipped.state.tokens[id], undefined, `${id} holds no tokens`);

    // The loop on the branch taken still loops; the join waits for it as before.
    const taken = await simulate(loopOnBranch(true), {});
    assert.equal(taken.state.vars.i, 2);
    assert.equal(taken.state.nodes.body?.visits, 2);
    assert.equal(taken.state.nodes.a?.status, 'skipped');
    assert.equal(taken.state.nodes.finish?.status, 'completed');

    // A run recorded before the fix (the workflow's patched() answers false) keeps the old course.
    const old = await simulate(loopOnBranch(false), {}, {}, undefined, { deadLoops: () => false });
    assert.equal(old.state.nodes.body?.status, 'pending');
    assert.equal(old.state.nodes.finish?.status, 'pending');
  });

  test('a loop with two entries dies only when both arrived dead', async () => {
    const twoEntries = {
      id: 'two-entries',
      variables: [{ name: 'i', type: 'number', default: 0 }],
      nodes: [
        { id: 'c', type: 'condition', expression: 'false' },
        { id: 'x', type: 'set', assign: { x: '1' } },
        { id: 'head', type: 'set', assign: { i: 'vars.i + 1' } },
        { id: 'tail', type: 'set', assign: { t: 'vars.i' } },
        { id: 'after', type: 'set', assign: { after: 'true' } },
      ],
      edges: [
        { from: 'c', to: 'head', when: 'nodes.c.output = true' },
        { from: 'c', to: 'x', default: true },
        { from: 'x', to: 'tail' },
        { from: 'head', to: 'tail' },
        { from: 'tail', to: 'head', when: 'vars.i < 3' },
        { from: 'tail', to: 'after', default: true },
      ],
    };
    const sim = await simulate(twoEntries, {});
    // One entry (c→head) is dead, the other (x→tail) live: the loop runs from `tail`.
    assert.equal(sim.state.vars.i, 3);
    assert.equal(sim.state.nodes.after?.status, 'completed');
  });

  test('the visit guard fails a run that loops too often', async () => {
    const sim = await simulate(
      {
        id: 'guard',
        variables: [{ name: 'i', type: 'number', default: 0 }],
        options: { max_node_visits: 10 },
        nodes: [
          { id: 'begin', type: 'set', assign: { i: '0' } },
          { id: 'inc', type: 'set', assign: { i: 'vars.i + 1' } },
        ],
        edges: [
          { from: 'begin', to: 'inc' },
          { from: 'inc', to: 'inc', when: 'true' },
        ],
      },
      {},
    );
    assert.equal(sim.closing?.type, 'fail');
    assert.equal(sim.state.error?.type, 'MaxNodeVisitsExceeded');
    assert.equal(sim.state.vars.i, 10);
  });

  test('an end node closes the run with its result, or fails it', async () => {
    const done = await simulate(
      {
        id: 'end',
        nodes: [http('a', { output: 'x' }), { id: 'stop', type: 'end', result: '{"got": vars.x}' }],
        edges: [{ from: 'a', to: 'stop' }],
      },
      { a: { output: 5 } },
    );
    assert.deepEqual(done.closing, { type: 'complete', result: { got: 5 } });
    const failed = await simulate(
      { id: 'endf', nodes: [{ id: 'stop', type: 'end', status: 'failed', message: 'no stock' }] },
      {},
    );
    assert.deepEqual(failed.closing, { type: 'fail', error: { type: 'EndFailed', message: 'no stock', node: 'stop' } });
  });

  test('an end node cancels the work still in flight, and its node says cancelled', async () => {
    const sim = await simulate(
      {
        id: 'end-cuts',
        nodes: [http('slow'), http('quick'), { id: 'stop', type: 'end' }],
        edges: [{ from: 'quick', to: 'stop' }],
      },
      { slow: 'hold', quick: { output: 1 } },
    );
    assert.equal(sim.closing?.type, 'complete');
    assert.equal(sim.state.nodes.slow?.status, 'cancelled');
    assert.equal(sim.cancelled.length, 1);
    const last = sim.state.history.filter((t) => t.node === 'slow').at(-1);
    assert.match(last?.note ?? '', /the run completed before this node finished/);
  });

  test('an expression that fails at run time fails its node with ExpressionError', async () => {
    const sim = await simulate(
      { id: 'expr', nodes: [{ id: 'bad', type: 'set', assign: { x: '$number("abc")' } }] },
      {},
    );
    assert.equal(sim.closing?.type, 'fail');
    assert.equal(sim.state.error?.type, 'ExpressionError');
    assert.equal(sim.state.error?.node, 'bad');
  });

  test('the state view masks secrets and has the contract shape', async () => {
    const raw = {
      id: 'view',
      variables: [{ name: 'key', type: 'string', secret: true }],
      nodes: [http('a', { output: 'echo', inputs: { url: 'http://x.test', headers: { auth: '{{ vars.key }}' } } })],
    };
    const sim = await simulate(raw, { a: { output: { sent: 'Bearer abc123' } } }, { key: 'abc123' });
    const validated = validateDefinition(raw);
    assert.ok(validated.ok);
    const view = viewRunState(validated.definition, sim.state, { workflow_id: 'w', instance_id: 'r' });
    assert.equal(view.variables.key, '***');
    // Written by a node whose inputs use the secret: derived, so masked whole (taint.ts).
    assert.equal(view.variables.echo, '***');
    assert.doesNotMatch(JSON.stringify(view), /abc123/);
    assert.deepEqual(Object.keys(view).sort(), [
      'active_nodes',
      'cost',
      'current_node',
      'definition_id',
      'definition_version',
      'history',
      'instance_id',
      'nodes',
      'result',
      'status',
      'variables',
      'workflow_id',
    ]);
  });

  test('current_node is the most recently started node still active, null once none is', async () => {
    const raw = {
      id: 'current',
      nodes: [http('slow'), http('quick'), http('after_slow'), http('after_quick')],
      edges: [
        { from: 'slow', to: 'after_slow' },
        { from: 'quick', to: 'after_quick' },
      ],
    };
    const validated = validateDefinition(raw);
    assert.ok(validated.ok);
    const ids = { workflow_id: 'w', instance_id: 'r' };
    // quick starts after slow, and it and its successor complete while slow still runs.
    const sim = await simulate(raw, { slow: 'hold', quick: ok(), after_quick: ok(), after_slow: ok() });
    assert.equal(sim.state.nodes.after_quick?.status, 'completed');
    const view = viewRunState(validated.definition, sim.state, ids);
    assert.deepEqual(view.active_nodes, ['slow']);
    assert.equal(view.current_node, 'slow');
    const [held] = sim.pending;
    assert.ok(held);
    await sim.feed(
      await handleEvent(
        sim.program,
        sim.state,
        { type: 'activity_completed', exec: held.exec, output: null, attempts: 1 },
        sim.clock(),
      ),
    );
    assert.equal(sim.closing?.type, 'complete');
    assert.equal(viewRunState(validated.definition, sim.state, ids).current_node, null);
  });

  test('task defaults and retry policies map to activity plans', () => {
    const plain = activityPlan(TaskNode.parse(http('a')));
    assert.equal(plain.start_to_close_ms, TASK_DEFAULTS.timeout_ms);
    assert.equal(plain.retry.maximum_attempts, TASK_DEFAULTS.max_attempts);
    const tuned = activityPlan(
      TaskNode.parse(
        http('b', {
          name: 'Charge card',
          timeout: '10s',
          retry_policy: {
            max_attempts: 7,
            initial_interval: '250ms',
            backoff_coefficient: 3,
            max_interval: '1m',
            non_retryable_errors: ['HttpError'],
          },
        }),
      ),
    );
    assert.deepEqual(tuned, {
      start_to_close_ms: 10_000,
      retry: {
        maximum_attempts: 7,
        initial_interval_ms: 250,
        backoff_coefficient: 3,
        maximum_interval_ms: 60_000,
        non_retryable_error_types: ['HttpError'],
      },
      summary: 'b: Charge card',
    });
  });
});
