/**
 * Hostile expressions on a real worker: definitions that pass submit-time validation but whose
 * expressions explode at run time must fail their node with ExpressionError, and the worker
 * must go on to complete an ordinary run started after them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError, type Client, type Connection } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { RunStateView } from '../../interpreter/run-state.js';
import type { RunningWorker } from '../../src/worker/create-worker.js';
import { startRun } from '../support/runs.js';
import { connectClient, startTestWorker, unique } from '../support/temporal.js';

let worker: RunningWorker;
let client: Client;
let connection: Connection;
const taskQueue = unique('hostile-it');

before(async () => {
  worker = await startTestWorker(taskQueue);
  ({ client, connection } = await connectClient());
});

after(async () => {
  await worker?.shutdown();
  await connection?.close();
});

/** Validated like the gateway does, so every definition here is one a user could submit. */
const start = (raw: Record<string, unknown>) => startRun(client, taskQueue, raw);

const setNode = (id: string, expression: string) => ({
  id,
  nodes: [{ id: 'boom', type: 'set', assign: { x: expression } }],
});

/** A chain of objects that doubles in size at every level, sharing its halves. */
const doubling = `($v0 := {"x": [1..1000]}; ${Array.from({ length: 30 }, (_, i) => `$v${i + 1} := {"p": $v${i}, "q": $v${i}}`).join('; ')}; $string($v30))`;

const hostile: Array<{ definition: Record<string, unknown>; node: string; message: RegExp }> = [
  { definition: setNode('huge-range', '$count([1..10000000])'), node: 'boom', message: /sequence length/ },
  {
    definition: setNode('deep-recursion', '($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000))'),
    node: 'boom',
    message: /stack overflow/i,
  },
  {
    definition: setNode('endless-loop', '($f := function($x){ $f($x) }; $f(1))'),
    node: 'boom',
    message: /evaluation steps/,
  },
  {
    definition: setNode('long-regex-input', '$contains($pad("", 20000, "a"), /a+b/)'),
    node: 'boom',
    message: /at most 10000 are matched/,
  },
  {
    definition: setNode('repeated-regex', '[1..200].$contains($pad("", 9000, "a"), /a+b/)'),
    node: 'boom',
    message: /evaluation steps/,
  },
  { definition: setNode('giant-pad', '$length($pad("", 1e9, "x"))'), node: 'boom', message: /larger than/ },
  { definition: setNode('shared-parts', doubling), node: 'boom', message: /evaluation steps/ },
  {
    definition: {
      id: 'hostile-condition',
      nodes: [
        { id: 'start', type: 'set', assign: { s: '$pad("", 5000, "ab")' } },
        { id: 'check', type: 'condition', expression: '$contains(vars.s & vars.s & vars.s, /(ab)+c/)' },
      ],
      edges: [{ from: 'start', to: 'check' }],
    },
    node: 'check',
    message: /at most 10000 are matched/,
  },
  {
    definition: {
      id: 'hostile-template',
      nodes: [
        {
          id: 'call',
          type: 'task',
          connector: 'http',
          action: 'request',
          inputs: { url: 'http://127.0.0.1:9/never', query: { q: '{{ $join([1..100000].$string(), ",") }}' } },
        },
      ],
    },
    node: 'call',
    message: /evaluation steps/,
  },
];

describe('hostile expressions on a worker', () => {
  test('each fails its node with ExpressionError, and the same worker then completes an ordinary run', async () => {
    const handles = await Promise.all(hostile.map((row) => start(row.definition)));
    await Promise.all(
      hostile.map(async (row, i) => {
        const handle = handles[i];
        assert.ok(handle);
        const err = await handle.result().then(
          () => assert.fail(`${String(row.definition.id)}: expected the run to fail`),
          (e: unknown) => e,
        );
        assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, String(err));
        assert.equal(err.cause.type, 'ExpressionError', `${String(row.definition.id)}: ${err.cause.message}`);
        assert.match(err.cause.message, row.message);
        const state = await handle.query<RunStateView>('state');
        assert.equal(state.error?.node, row.node);
        assert.equal(state.nodes[row.node]?.status, 'failed');
      }),
    );

    const healthy = await start({
      id: 'healthy-after-hostile',
      nodes: [
        {
          id: 'work',
          type: 'set',
          assign: {
            total: '$sum([1..100])',
            words: '$split("a , b,c", /\\s*,\\s*/)',
            sorted: '$sort([3, 1, 2])',
            unique: '$distinct([1, 2, 1])',
            stamp: '$toMillis("25/12/2024", "[D]/[M]/[Y]")',
            kept: '{"__proto__": {"polluted": true}}',
          },
        },
      ],
    });
    assert.deepEqual(await healthy.result(), {
      total: 5050,
      words: ['a', 'b', 'c'],
      sorted: [1, 2, 3],
      unique: [1, 2],
      stamp: Date.UTC(2024, 11, 25),
      kept: JSON.parse('{"__proto__": {"polluted": true}}') as unknown,
    });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
