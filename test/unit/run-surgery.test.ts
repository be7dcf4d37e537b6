/**
 * Run surgery without Temporal: the compatibility check of a run's state with another version
 * (a table), what a rerun refuses and resets, moving a state between versions, and a skip of a
 * running node (its work cancelled, the run going on with the given output).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyControl, checkControl } from '../../interpreter/control.js';
import type { Definition } from '../../interpreter/definition-schema.js';
import {
  moveToVersion,
  reopenedState,
  rerunRefusal,
  resetForRerun,
  versionProblems,
} from '../../interpreter/run-surgery.js';
import type { RunState } from '../../interpreter/run-state.js';
import { validateDefinition } from '../../interpreter/validate-definition.js';
import { httpTask as http, simulate } from '../support/simulate.js';

const ok = (output: unknown = null) => ({ output });
const by = { by: 'op' };

function parsed(raw: Record<string, unknown>, version: string): Definition & { version: string } {
  const validated = validateDefinition(raw);
  if (!validated.ok) throw new Error(JSON.stringify(validated.problems));
  return { ...validated.definition, version };
}

/** v1: a → calc → b, with a declared string, a secret and an undeclared output. */
const v1 = {
  id: 'surgery',
  variables: [
    { name: 'code', type: 'string', default: 'abc' },
    { name: 'token', type: 'string', default: 'x', secret: true },
  ],
  nodes: [http('a', { output: 'reply' }), http('calc'), http('b')],
  edges: [
    { from: 'a', to: 'calc' },
    { from: 'calc', to: 'b' },
  ],
};

async function failedAtCalc(): Promise<RunState> {
  const sim = await simulate(v1, { a: ok({ n: 1 }), calc: { error: { type: 'HttpError', message: 'boom' } }, b: ok() });
  assert.equal(sim.state.status, 'failed');
  const reopened = reopenedState(sim.state, 'run-1', 'retry', 'op', sim.clock());
  assert.ok('state' in reopened);
  return reopened.state;
}

describe('versionProblems: can the state of a run failed at "calc" go on under v2?', () => {
  const cases: Array<{
    name: string;
    v2: Record<string, unknown>;
    named?: Array<{ node: string; path: string }>;
    problems: Array<{ path: string; message: string }>;
  }> = [
    {
      name: 'the same graph with another config',
      v2: { ...v1, nodes: [http('a', { output: 'reply' }), http('calc', { timeout: '5s' }), http('b')] },
      problems: [],
    },
    {
      name: 'a new node after the failed one',
      v2: {
        ...v1,
        nodes: [...v1.nodes, http('c')],
        edges: [...v1.edges, { from: 'b', to: 'c' }],
      },
      problems: [],
    },
    {
      name: 'the failed node removed',
      v2: { ...v1, nodes: [http('a', { output: 'reply' }), http('b')], edges: [{ from: 'a', to: 'b' }] },
      problems: [{ path: '/version', message: 'version 2 has no node "calc"' }],
    },
    {
      name: 'the named node removed: the problem names the field that named it',
      v2: { ...v1, nodes: [http('a', { output: 'reply' }), http('b')], edges: [{ from: 'a', to: 'b' }] },
      named: [{ node: 'calc', path: '/node' }],
      problems: [{ path: '/node', message: 'version 2 has no node "calc"' }],
    },
    {
      name: "a variable's declared type changed",
      v2: { ...v1, variables: [{ name: 'code', type: 'number', default: 1 }, v1.variables[1]] },
      problems: [
        {
          path: '/version',
          message: `variable "code" is declared string in the run's version and number in version 2 (variables/0)`,
        },
      ],
    },
    {
      name: 'a secret variable no longer secret',
      v2: { ...v1, variables: [v1.variables[0], { name: 'token', type: 'string', default: 'x' }] },
      problems: [
        {
          path: '/version',
          message: `variable "token" is secret in the run's version and not in version 2: its value would be shown`,
        },
      ],
    },
    {
      name: 'an undeclared output declared with a type its value does not have',
      v2: { ...v1, variables: [...v1.variables, { name: 'reply', type: 'number' }] },
      problems: [{ path: '/version', message: 'variable "reply" holds an object; version 2 declares it number' }],
    },
    {
      name: 'a new required variable without a default',
      v2: { ...v1, variables: [...v1.variables, { name: 'region', type: 'string', required: true }] },
      problems: [
        {
          path: '/version',
          message: 'version 2 requires variable "region", which the run does not have (give it in "variables")',
        },
      ],
    },
    {
      name: 'a new optional variable',
      v2: { ...v1, variables: [...v1.variables, { name: 'region', type: 'string' }] },
      problems: [],
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const state = await failedAtCalc();
      const named = c.named ?? [{ node: 'calc', path: '/version' }];
      const problems = versionProblems(
        parsed(v1, '1'),
        parsed(c.v2, '2'),
        state,
        named,
        new Set(named.map((n) => n.node)),
      );
      assert.deepEqual(problems, c.problems);
    });
  }

  test('a running node removed or changed in type, and a join holding an arrival along a removed edge', async () => {
    const fork = {
      id: 'fork',
      nodes: [http('start'), http('left'), http('right'), { id: 'j', type: 'join' }, http('after')],
      edges: [
        { from: 'start', to: 'left' },
        { from: 'start', to: 'right' },
        { from: 'left', to: 'j' },
        { from: 'right', to: 'j' },
        { from: 'j', to: 'after' },
      ],
    };
    const sim = await simulate(fork, { start: ok(), left: ok('L'), right: 'hold', after: ok() });
    assert.equal(sim.state.nodes.right?.status, 'running');
    const removed = {
      ...fork,
      nodes: [http('start'), http('left'), http('mid'), { id: 'j', type: 'join' }, http('after')],
      edges: [
        { from: 'start', to: 'left' },
        { from: 'start', to: 'mid' },
        { from: 'mid', to: 'j' },
        { from: 'start', to: 'j' },
        { from: 'j', to: 'after' },
      ],
    };
    assert.deepEqual(versionProblems(parsed(fork, '1'), parsed(removed, '2'), sim.state, []), [
      { path: '/version', message: 'node "right" is running in the run and version 2 has no node "right"' },
      {
        path: '/version',
        message: 'node "j" holds an arrival along the edge left → j, which version 2 does not have',
      },
      {
        path: '/version',
        message:
          'node "j" waits for its incoming branches and version 2 adds the edge start → j from a node that already ran (completed): that arrival would never come',
      },
    ]);
    const retyped = {
      ...fork,
      nodes: fork.nodes.map((n) => (n.id === 'right' ? { id: 'right', type: 'wait', duration: '1s' } : n)),
    };
    assert.deepEqual(versionProblems(parsed(fork, '1'), parsed(retyped, '2'), sim.state, []), [
      {
        path: '/version',
        message: 'node "right" is running in the run as a task node; in version 2 it is a wait node',
      },
    ]);
    // The same change is fine when the node runs again anyway (a rerun from it).
    assert.deepEqual(versionProblems(parsed(fork, '1'), parsed(retyped, '2'), sim.state, [], new Set(['right'])), []);
  });
});

describe('a paused run on another version', () => {
  const pausing = { ...v1, options: { on_failure: 'pause' } };
  test("is refused while work runs outside what the action repeats, and by the state's problems", async () => {
    const fork = {
      id: 'fork',
      options: { on_failure: 'pause' },
      nodes: [http('start'), http('bad'), http('slow')],
      edges: [
        { from: 'start', to: 'bad' },
        { from: 'start', to: 'slow' },
      ],
    };
    const sim = await simulate(fork, {
      start: ok(),
      bad: { error: { type: 'HttpError', message: 'x' } },
      slow: 'hold',
    });
    assert.equal(sim.state.status, 'paused');
    const v2 = parsed({ ...fork, nodes: [http('start'), http('bad', { timeout: '5s' }), http('slow')] }, '2');
    assert.equal(
      checkControl(sim.program, sim.state, { type: 'retry', definition: v2, ...by }),
      'node(s) slow still run: a paused run moves to another version only once nothing runs outside what the action repeats; wait for them to finish',
    );
    // The same version is no move at all: the retry is stepped as usual.
    assert.equal(
      checkControl(sim.program, sim.state, { type: 'retry', definition: parsed(fork, '1'), ...by }),
      undefined,
    );
  });

  test("names the state's problems, and is left to the workflow once accepted", async () => {
    const sim = await simulate(pausing, {
      a: ok({ n: 1 }),
      calc: { error: { type: 'HttpError', message: 'boom' } },
      b: ok(),
    });
    assert.equal(sim.state.status, 'paused');
    const without = parsed(
      { ...pausing, nodes: [http('a', { output: 'reply' }), http('b')], edges: [{ from: 'a', to: 'b' }] },
      '2',
    );
    assert.equal(
      checkControl(sim.program, sim.state, { type: 'retry', definition: without, ...by }),
      `version 2 cannot take the run's state: version 2 has no node "calc"`,
    );
    const fixed = parsed(
      { ...pausing, nodes: [http('a', { output: 'reply' }), http('calc', { timeout: '5s' }), http('b')] },
      '2',
    );
    const action = { type: 'retry' as const, definition: fixed, ...by };
    assert.equal(checkControl(sim.program, sim.state, action), undefined);
    assert.deepEqual(await applyControl(sim.program, sim.state, action, sim.clock()), []);
    assert.equal(sim.state.status, 'paused');
    assert.equal(
      checkControl(sim.program, sim.state, { type: 'rerun', from: 'zz', definition: fixed, ...by }),
      'no node "zz"',
    );
  });
});

describe('moveToVersion', () => {
  test("drops records of nodes the version lacks and moves a join's arrivals to their edge's new index", async () => {
    const fork = {
      id: 'fork',
      nodes: [http('start'), http('left'), http('right'), http('gone'), { id: 'j', type: 'join' }],
      edges: [
        { from: 'start', to: 'gone' },
        { from: 'start', to: 'left' },
        { from: 'start', to: 'right' },
        { from: 'left', to: 'j' },
        { from: 'right', to: 'j' },
      ],
    };
    const sim = await simulate(fork, { start: ok(), gone: ok(), left: ok('L'), right: 'hold' });
    assert.deepEqual(sim.state.tokens.j, { 3: ['live'] });
    const v2 = parsed(
      {
        ...fork,
        nodes: fork.nodes.filter((n) => n.id !== 'gone'),
        edges: fork.edges.filter((e) => e.to !== 'gone'),
      },
      '2',
    );
    assert.deepEqual(versionProblems(parsed(fork, '1'), v2, sim.state, []), []);
    moveToVersion(parsed(fork, '1'), v2, sim.state);
    assert.equal(sim.state.nodes.gone, undefined);
    assert.deepEqual(sim.state.tokens.j, { 2: ['live'] });
    assert.equal(sim.state.run.definition_version, '2');
  });
});

describe('rerun', () => {
  const chain = {
    id: 'chain',
    nodes: [http('a'), http('b'), http('c'), http('d')],
    edges: [
      { from: 'a', to: 'b' },
      { from: 'b', to: 'c' },
      { from: 'c', to: 'd' },
    ],
  };

  test('of a completed run repeats exactly the nodes from "from" on, keeping the others', async () => {
    const sim = await simulate(chain, { a: ok('A'), b: ok('B'), c: ok('C'), d: ok('D') });
    const reopened = reopenedState(sim.state, 'run-1', 'rerun', 'op', sim.clock());
    assert.ok('state' in reopened);
    const { state } = reopened;
    assert.equal(state.run.rerun_of, 'run-1');
    assert.equal(rerunRefusal(sim.program, state, 'c'), undefined);
    const before = sim.calls.length;
    const commands = await applyControl(sim.program, state, { type: 'rerun', from: 'c', ...by }, sim.clock());
    assert.deepEqual(
      commands.map((c) => ('node' in c ? c.node : c.type)),
      ['c'],
    );
    assert.equal(state.nodes.a?.output, 'A');
    assert.equal(state.nodes.b?.output, 'B');
    assert.equal(state.nodes.c?.status, 'running');
    assert.equal(state.nodes.d?.status, 'pending');
    assert.equal(state.nodes.d?.output, undefined);
    assert.equal(sim.calls.length, before);
  });

  test('variables only the repeated nodes wrote go back to their start value; others keep theirs', async () => {
    const counting = {
      id: 'counting',
      variables: [
        { name: 'count', type: 'number', default: 0 },
        { name: 'seen', type: 'number', default: 0 },
      ],
      nodes: [
        { id: 'first', type: 'set', assign: { seen: 'vars.seen + 1' } },
        http('a', { output: 'answer' }),
        { id: 'bump', type: 'set', assign: { count: 'vars.count + 1', seen: 'vars.seen + 1' } },
      ],
      edges: [
        { from: 'first', to: 'a' },
        { from: 'a', to: 'bump' },
      ],
    };
    const sim = await simulate(counting, { a: ok('A') });
    assert.deepEqual(sim.state.vars, { count: 1, seen: 2, answer: 'A' });
    const reopened = reopenedState(sim.state, 'run-1', 'rerun', 'op', sim.clock());
    assert.ok('state' in reopened);
    const { state } = reopened;
    const commands = await applyControl(sim.program, state, { type: 'rerun', from: 'a', ...by }, sim.clock());
    assert.deepEqual(
      commands.map((c) => ('node' in c ? c.node : c.type)),
      ['a'],
    );
    // `answer` and `count` were written by repeated nodes only; `seen` by `first` too.
    assert.deepEqual(state.vars, { count: 0, seen: 2 });
    const last = state.lineage?.count?.entries.at(-1);
    assert.deepEqual([last?.source, last?.by], ['operator', 'op']);
  });

  test('refusals: unknown node, running run, a failure or a cut-off node outside what it repeats, bad variables', async () => {
    const running = await simulate(chain, { a: ok(), b: 'hold', c: ok(), d: ok() });
    assert.equal(rerunRefusal(running.program, running.state, 'zz'), 'no node "zz"');
    assert.equal(
      checkControl(running.program, running.state, { type: 'rerun', from: 'a', ...by }),
      'the run is running: a rerun repeats nodes of a paused or closed run; pause it first',
    );

    const failed = await simulate(
      { ...chain, options: { on_failure: 'pause' } },
      {
        a: ok(),
        b: { error: { type: 'HttpError', message: 'x' } },
        c: ok(),
        d: ok(),
      },
    );
    assert.equal(failed.state.status, 'paused');
    assert.equal(
      rerunRefusal(failed.program, failed.state, 'c'),
      'node(s) b failed and a rerun from "c" does not repeat them: retry or skip them, or rerun from a node before them',
    );
    assert.equal(rerunRefusal(failed.program, failed.state, 'b'), undefined);
    assert.equal(
      checkControl(failed.program, failed.state, { type: 'rerun', from: 'b', variables: { nope: 1 }, ...by }),
      'unknown variable "nope"',
    );

    // A cancelled run: the node in flight at the cancel was cut off.
    const cancelled = await simulate(chain, { a: ok(), b: 'hold', c: ok(), d: ok() });
    await applyControl(cancelled.program, cancelled.state, { type: 'cancel', ...by }, cancelled.clock());
    const reopened = reopenedState(cancelled.state, 'run-2', 'rerun', 'op', cancelled.clock());
    assert.ok('state' in reopened);
    assert.equal(
      rerunRefusal(cancelled.program, reopened.state, 'c'),
      'node(s) b (cancelled) did not finish before the run closed and a rerun from "c" does not repeat them; rerun from a node before them',
    );
    assert.equal(rerunRefusal(cancelled.program, reopened.state, 'b'), undefined);
  });

  test('of a paused run cancels what it repeats that is still in flight', async () => {
    const sim = await simulate(
      {
        id: 'par',
        nodes: [http('a'), http('b'), http('side')],
        edges: [
          { from: 'a', to: 'b' },
          { from: 'a', to: 'side' },
        ],
      },
      { a: ok(), b: 'hold', side: 'hold' },
    );
    await applyControl(sim.program, sim.state, { type: 'pause', ...by }, sim.clock());
    const execOfB = Object.entries(sim.state.inflight).find(([, e]) => e.node === 'b')?.[0];
    const cancelled = resetForRerun(sim.program, sim.state, 'b', { by: 'op', now: sim.clock() });
    assert.deepEqual(cancelled, [execOfB]);
    assert.ok(Object.values(sim.state.inflight).some((e) => e.node === 'side'));
    assert.equal(sim.state.nodes.b?.status, 'pending');
  });
});

describe('skip of a running node', () => {
  test('cancels its work and goes on with the given output', async () => {
    const sim = await simulate(
      {
        id: 'slow',
        nodes: [http('slow', { output: 'got' }), http('after')],
        edges: [{ from: 'slow', to: 'after' }],
      },
      { slow: 'hold', after: ok() },
    );
    assert.equal(sim.state.nodes.slow?.status, 'running');
    const exec = Object.keys(sim.state.inflight)[0];
    assert.equal(checkControl(sim.program, sim.state, { type: 'skip', node: 'slow', ...by }), undefined);
    const commands = await applyControl(
      sim.program,
      sim.state,
      { type: 'skip', node: 'slow', output: { manual: true }, ...by },
      sim.clock(),
    );
    assert.deepEqual(commands[0], { type: 'cancel', exec });
    await sim.feed(commands);
    assert.equal(sim.state.nodes.slow?.status, 'skipped');
    assert.deepEqual(sim.state.vars.got, { manual: true });
    assert.equal(sim.closing?.type, 'complete');
    assert.deepEqual(
      sim.calls.map((c) => c.node),
      ['slow', 'after'],
    );
  });

  test('of a running map cancels every item in flight', async () => {
    const sim = await simulate(
      {
        id: 'fan',
        nodes: [
          {
            id: 'each',
            type: 'map',
            items: '[1, 2, 3]',
            output: 'all',
            task: { connector: 'http', action: 'request', inputs: { url: 'http://example.test/{{ item }}' } },
          },
        ],
        edges: [],
      },
      { each: 'hold' },
    );
    assert.equal(sim.state.nodes.each?.status, 'running');
    const items = Object.entries(sim.state.inflight)
      .filter(([, e]) => e.kind === 'work')
      .map(([exec]) => exec);
    assert.equal(items.length, 3);
    const commands = await applyControl(
      sim.program,
      sim.state,
      { type: 'skip', node: 'each', output: [], ...by },
      sim.clock(),
    );
    assert.deepEqual(
      commands
        .filter((c) => c.type === 'cancel')
        .map((c) => (c as { exec: string }).exec)
        .sort(),
      items.sort(),
    );
    assert.deepEqual(sim.state.inflight, {});
    assert.equal(sim.state.nodes.each?.status, 'skipped');
  });

  test('is refused for a completed node', async () => {
    const sim = await simulate(
      { id: 'one', nodes: [http('a'), http('b')], edges: [{ from: 'a', to: 'b' }] },
      { a: ok(), b: 'hold' },
    );
    assert.equal(
      checkControl(sim.program, sim.state, { type: 'skip', node: 'a', ...by }),
      'node "a" is completed; only a pending, running, waiting or failed node can be skipped',
    );
  });
});
