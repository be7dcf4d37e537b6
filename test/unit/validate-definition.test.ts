/** Submit-time validation as a table: a definition fragment and the problems it must produce. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDuration } from '../../interpreter/duration.js';
import { resolveRunInput } from '../../interpreter/run-input.js';
import { validateDefinition } from '../../interpreter/validate-definition.js';

const catalog = { http: ['request'] };
const task = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'task',
  connector: 'http',
  action: 'request',
  inputs: { url: 'http://x.test' },
  ...extra,
});

const cases: Array<{ name: string; definition: Record<string, unknown>; problems: Array<[string, RegExp]> }> = [
  {
    name: 'a valid sequence',
    definition: { id: 'ok', nodes: [task('a'), task('b')], edges: [{ from: 'a', to: 'b' }] },
    problems: [],
  },
  { name: 'not an object', definition: { id: 'x', nodes: 'no' }, problems: [['/nodes', /array/]] },
  { name: 'no nodes', definition: { id: 'x', nodes: [] }, problems: [['/nodes', /at least one node/]] },
  {
    name: 'bad definition id',
    definition: { id: 'Has Spaces', nodes: [task('a')] },
    problems: [['/id', /\^\[a-z0-9\]/]],
  },
  {
    name: 'unknown node type',
    definition: { id: 'x', nodes: [{ id: 'a', type: 'teleport' }] },
    problems: [['/nodes/0/type', /.+/]],
  },
  {
    name: 'unknown field',
    definition: { id: 'x', nodes: [task('a', { colour: 'red' })] },
    problems: [['/nodes/0', /colour/]],
  },
  {
    name: 'duplicate ids and dangling edges',
    definition: { id: 'x', nodes: [task('a'), task('a')], edges: [{ from: 'a', to: 'zz' }] },
    problems: [
      ['/nodes/1/id', /duplicate node id "a"/],
      ['/edges/0/to', /unknown node "zz"/],
    ],
  },
  {
    name: 'unknown connector and action',
    definition: { id: 'x', nodes: [task('a', { connector: 'ftp' }), task('b', { action: 'fly' })] },
    problems: [
      ['/nodes/0/connector', /unknown connector "ftp"; available: http/],
      ['/nodes/1/action', /no action "fly"; available: request/],
    ],
  },
  {
    name: 'bad durations',
    definition: { id: 'x', nodes: [task('a', { timeout: 'soon', retry_policy: { initial_interval: '5 parsecs' } })] },
    problems: [
      ['/nodes/0/timeout', /expected a duration/],
      ['/nodes/0/retry_policy/initial_interval', /expected a duration/],
    ],
  },
  {
    name: 'JSONata syntax errors point at the field',
    definition: {
      id: 'x',
      nodes: [
        task('a', { inputs: { url: 'http://x/{{ vars.( }}' } }),
        { id: 'b', type: 'condition', expression: 'a ==' },
      ],
      edges: [{ from: 'a', to: 'b', when: ')(' }],
    },
    problems: [
      ['/nodes/0/inputs/url', /JSONata/],
      ['/nodes/1/expression', /JSONata/],
      ['/edges/0/when', /JSONata/],
    ],
  },
  {
    name: 'a cycle without any "when"',
    definition: {
      id: 'x',
      nodes: [task('s'), task('a'), task('b')],
      edges: [
        { from: 's', to: 'a' },
        { from: 'a', to: 'b' },
        { from: 'b', to: 'a' },
      ],
    },
    problems: [['/edges', /cycle a -> b has no edge with "when"/]],
  },
  {
    name: 'unreachable nodes',
    definition: {
      id: 'x',
      nodes: [task('s'), task('a'), task('b')],
      edges: [
        { from: 'a', to: 'b', when: 'true' },
        { from: 'b', to: 'a' },
      ],
    },
    problems: [
      ['/nodes/1', /unreachable/],
      ['/nodes/2', /unreachable/],
    ],
  },
  {
    name: 'a join with one incoming edge, a wait with both duration and until, a map with two bodies',
    definition: {
      id: 'x',
      nodes: [
        task('a'),
        { id: 'j', type: 'join' },
        { id: 'w', type: 'wait', duration: '1s', until: '"2030-01-01"' },
        {
          id: 'm',
          type: 'map',
          items: '[1,2]',
          task: { connector: 'http', action: 'request' },
          subworkflow: { definition: 'child' },
        },
      ],
      edges: [{ from: 'a', to: 'j' }],
    },
    problems: [
      ['/nodes/1', /at least two incoming edges, has 1/],
      ['/nodes/2', /exactly one of "duration" or "until"/],
      ['/nodes/3', /exactly one body field/],
    ],
  },
  {
    name: 'references to undeclared variables and unknown nodes, at the field that makes them',
    definition: {
      id: 'x',
      variables: [{ name: 'declared', type: 'number' }],
      nodes: [
        task('a', { output: 'a_out', inputs: { url: 'http://x/{{ vars.typo }}', q: '{{ vars.a_out }}' } }),
        { id: 'b', type: 'set', assign: { total: 'vars.declared + vars.total + nodes.a.output + nodes.ghost.output' } },
      ],
      edges: [{ from: 'a', to: 'b', when: 'vars.missing' }],
    },
    problems: [
      ['/nodes/0/inputs/url', /"vars\.typo": no variable "typo"/],
      ['/nodes/1/assign/total', /there is no node "ghost"/],
      ['/edges/0/when', /no variable "missing"/],
    ],
  },
  {
    name: 'goto without a valid target',
    definition: { id: 'x', nodes: [task('a')], error_handlers: [{ id: 'h', action: 'goto', target: 'nowhere' }] },
    problems: [['/error_handlers/0/target', /existing node/]],
  },
];

describe('validateDefinition', () => {
  for (const row of cases) {
    test(row.name, () => {
      const result = validateDefinition(row.definition, catalog);
      const problems = result.ok ? [] : result.problems;
      assert.equal(problems.length, row.problems.length, JSON.stringify(problems, null, 1));
      for (const [path, message] of row.problems) {
        const found = problems.find((p) => p.path === path);
        assert.ok(found, `no problem at ${path}: ${JSON.stringify(problems)}`);
        assert.match(found.message, message);
      }
    });
  }
});

describe('durations', () => {
  const table: Array<[unknown, number | undefined]> = [
    [250, 250],
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1.5s', 1_500],
    ['-1s', undefined],
    ['5 parsecs', undefined],
    [-3, undefined],
    [null, undefined],
  ];
  for (const [value, ms] of table)
    test(`${JSON.stringify(value)} → ${ms}`, () => assert.equal(parseDuration(value), ms));
});

describe('run input', () => {
  const definition = {
    variables: [
      { name: 'sku', type: 'string' as const, required: true },
      { name: 'qty', type: 'number' as const, default: 1 },
      { name: 'tags', type: 'array' as const },
      { name: 'meta', type: 'object' as const },
      { name: 'anything', type: 'any' as const },
    ],
  };
  test('applies defaults and nulls', () => {
    assert.deepEqual(resolveRunInput(definition, { sku: 'A', anything: [1] }), {
      ok: true,
      variables: { sku: 'A', qty: 1, tags: null, meta: null, anything: [1] },
    });
  });
  test('rejects unknown keys, missing required values and wrong types, each by path', () => {
    const result = resolveRunInput(definition, { qty: '2', tags: {}, meta: [], extra: 1 });
    assert.equal(result.ok, false);
    const paths = result.ok ? [] : result.problems.map((p) => p.path).sort();
    assert.deepEqual(paths, ['/input/extra', '/input/meta', '/input/qty', '/input/sku', '/input/tags']);
  });
  test('rejects a non-object input', () => {
    assert.equal(resolveRunInput(definition, [1]).ok, false);
  });
});
