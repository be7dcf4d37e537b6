/** Definition size limits: each one at its boundary (accepted) and one past it (refused with a pointer). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFINITION_LIMITS, utf8Length } from '../../interpreter/definition-limits.js';
import { validateDefinition, type Problem } from '../../interpreter/validate-definition.js';

const setNode = (i: number) => ({ id: `n${i}`, type: 'set', assign: { [`v${i}`]: '1' } });

/** `n` set nodes in a chain: n - 1 edges. */
function chain(n: number, extra: Record<string, unknown> = {}) {
  const nodes = Array.from({ length: n }, (_, i) => setNode(i));
  const edges = nodes.slice(1).map((node, i) => ({ from: `n${i}`, to: node.id }));
  return { id: 'limits', nodes, edges, ...extra };
}

/** Two nodes and `n` guarded edges between them (parallel edges are allowed). */
function edges(n: number) {
  return {
    id: 'limits',
    nodes: [setNode(0), setNode(1)],
    edges: Array.from({ length: n }, (_, i) => ({ from: 'n0', to: 'n1', when: `${i} >= 0` })),
  };
}

function variables(n: number) {
  return chain(1, { variables: Array.from({ length: n }, (_, i) => ({ name: `v_${i}`, type: 'number' })) });
}

/** A valid expression of exactly `length` characters: a string literal. */
function expressionOf(length: number): string {
  return `"${'a'.repeat(length - 2)}"`;
}

/** A valid definition of exactly `bytes` bytes of JSON, padded with literal task inputs ("é" is two bytes). */
function padded(bytes: number) {
  const pad: string[] = [];
  const make = () => ({
    id: 'limits',
    nodes: [{ id: 'a', type: 'task', connector: 'http', action: 'request', inputs: { url: 'https://x.test', pad } }],
  });
  const size = () => utf8Length(JSON.stringify(make()));
  // Each chunk adds 50,000 bytes, two quotes and a comma.
  while (size() + 50_003 < bytes) pad.push('é'.repeat(25_000));
  pad.push('a'.repeat(bytes - size() - (pad.length > 0 ? 3 : 2)));
  return make();
}

function problemsOf(raw: unknown): Problem[] {
  const result = validateDefinition(raw);
  return result.ok ? [] : result.problems;
}

const cases: Array<{ name: string; at: unknown; over: unknown; path: string; message: RegExp }> = [
  {
    name: 'nodes',
    at: chain(DEFINITION_LIMITS.nodes),
    over: chain(DEFINITION_LIMITS.nodes + 1),
    path: '/nodes',
    message: /^at most 500 nodes \(found 501\)$/,
  },
  {
    name: 'edges',
    at: edges(DEFINITION_LIMITS.edges),
    over: edges(DEFINITION_LIMITS.edges + 1),
    path: '/edges',
    message: /^at most 2,000 edges \(found 2,001\)$/,
  },
  {
    name: 'variables',
    at: variables(DEFINITION_LIMITS.variables),
    over: variables(DEFINITION_LIMITS.variables + 1),
    path: '/variables',
    message: /^at most 500 variables \(found 501\)$/,
  },
  {
    name: 'an expression',
    at: chain(1, { nodes: [{ id: 'a', type: 'set', assign: { x: expressionOf(DEFINITION_LIMITS.expressionChars) } }] }),
    over: chain(1, {
      nodes: [{ id: 'a', type: 'set', assign: { x: expressionOf(DEFINITION_LIMITS.expressionChars + 1) } }],
    }),
    path: '/nodes/0/assign/x',
    message: /^an expression has at most 10,000 characters \(found 10,001\)$/,
  },
  {
    name: 'an expression inside a template',
    at: chain(1, {
      nodes: [
        {
          id: 'a',
          type: 'task',
          connector: 'http',
          action: 'request',
          inputs: { url: `https://x.test/{{${expressionOf(DEFINITION_LIMITS.expressionChars)}}}` },
        },
      ],
    }),
    over: chain(1, {
      nodes: [
        {
          id: 'a',
          type: 'task',
          connector: 'http',
          action: 'request',
          inputs: { url: `https://x.test/{{${expressionOf(DEFINITION_LIMITS.expressionChars + 1)}}}` },
        },
      ],
    }),
    path: '/nodes/0/inputs/url',
    message: /^an expression has at most 10,000 characters \(found 10,001\)$/,
  },
  {
    name: 'a string (a long prompt template)',
    at: chain(1, {
      nodes: [{ id: 'a', type: 'ai', model: 'm', prompt_template: 'p'.repeat(DEFINITION_LIMITS.stringChars) }],
    }),
    over: chain(1, {
      nodes: [{ id: 'a', type: 'ai', model: 'm', prompt_template: 'p'.repeat(DEFINITION_LIMITS.stringChars + 1) }],
    }),
    path: '/nodes/0/prompt_template',
    message: /^a string has at most 100,000 characters \(found 100,001\)$/,
  },
];

describe('definition limits', () => {
  for (const { name, at, over, path, message } of cases) {
    test(`${name}: accepted at the limit, refused one past it`, () => {
      assert.deepEqual(problemsOf(at), []);
      const problems = problemsOf(over);
      assert.equal(problems.length, 1, JSON.stringify(problems));
      assert.equal(problems[0]?.path, path);
      assert.match(problems[0]?.message ?? '', message);
    });
  }

  test('the whole definition: accepted at 1,000,000 bytes of JSON, refused at 1,000,001', () => {
    const exact = padded(DEFINITION_LIMITS.definitionBytes);
    assert.equal(utf8Length(JSON.stringify(exact)), DEFINITION_LIMITS.definitionBytes);
    assert.deepEqual(problemsOf(exact), []);

    const over = padded(DEFINITION_LIMITS.definitionBytes + 1);
    assert.equal(utf8Length(JSON.stringify(over)), DEFINITION_LIMITS.definitionBytes + 1);
    assert.deepEqual(problemsOf(over), [
      { path: '', message: 'the definition is at most 1,000,000 bytes of JSON (found 1,000,001)' },
    ]);
  });

  test('limits are checked before the rest: a definition over one gets only those problems', () => {
    const definition = chain(DEFINITION_LIMITS.nodes + 1, { id: 'Not An Id' });
    assert.deepEqual(problemsOf(definition), [{ path: '/nodes', message: 'at most 500 nodes (found 501)' }]);
  });

  test('utf8Length counts bytes as UTF-8 does', () => {
    for (const text of ['', 'abc', 'é', '€', '😀', 'a😀é€', '\ud800', 'x\udc00y']) {
      assert.equal(utf8Length(text), Buffer.byteLength(text, 'utf8'), JSON.stringify(text));
    }
  });
});
