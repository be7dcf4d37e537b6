/**
 * Secret tainting (interpreter/taint.ts) in the state view: anything derived from a secret
 * variable is masked, not only the secret's exact value: `$uppercase(vars.pw)`, copies through
 * other variables and node outputs, dynamic reads of the context, error messages and results.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { viewRunState } from '../../interpreter/run-state.js';
import { taintOf } from '../../interpreter/taint.js';
import { validateDefinition } from '../../interpreter/validate-definition.js';
import { httpTask as http, simulate } from '../support/simulate.js';

const SECRET = 'hunter2-secret';
const ids = { workflow_id: 'w', instance_id: 'r' };

async function view(raw: any, answers: Record<string, any> = {}, input: Record<string, unknown> = { pw: SECRET }) {
  const sim = await simulate(raw, answers, input);
  const validated = validateDefinition(raw);
  assert.ok(validated.ok);
  return { view: viewRunState(validated.definition, sim.state, ids), sim, definition: validated.definition };
}

const pw = { name: 'pw', type: 'string', secret: true };
const noSecretLeft = (value: unknown, ...derived: string[]) => {
  const text = JSON.stringify(value);
  for (const d of [SECRET, SECRET.toUpperCase(), ...derived]) assert.ok(!text.includes(d), `"${d}" in ${text}`);
};

describe('secret tainting', () => {
  test('$uppercase(vars.pw) and everything computed from it are masked', async () => {
    const { view: v } = await view({
      id: 'derived',
      variables: [
        pw,
        { name: 'shout', type: 'string' },
        { name: 'len', type: 'number' },
        { name: 'plain', type: 'string' },
      ],
      nodes: [
        { id: 'upper', type: 'set', assign: { shout: '$uppercase(vars.pw)', plain: '"hello"' } },
        { id: 'count', type: 'set', assign: { len: '$length(vars.shout)' } },
      ],
      edges: [{ from: 'upper', to: 'count' }],
    });
    assert.equal(v.variables.pw, '***');
    assert.equal(v.variables.shout, '***');
    assert.equal(v.variables.len, '***');
    assert.equal(v.variables.plain, 'hello', 'an untainted assignment of the same node stays readable');
    assert.equal(v.result && (v.result as any).shout, '***');
    assert.equal((v.result as any).plain, 'hello');
    noSecretLeft(v);
  });

  test('node outputs built from a secret, and nodes reading them, are masked', async () => {
    const { view: v } = await view(
      {
        id: 'outputs',
        variables: [pw],
        nodes: [
          http('login', { inputs: { url: 'http://x.test', body: { p: '{{ $lowercase(vars.pw) & "!" }}' } } }),
          { id: 'copy', type: 'set', assign: { token: 'nodes.login.output.token' } },
        ],
        edges: [{ from: 'login', to: 'copy' }],
      },
      { login: { output: { token: 'derived-from-secret' } } },
    );
    assert.equal(v.nodes.login?.output, '***');
    assert.equal(v.variables.token, '***');
    noSecretLeft(v, 'derived-from-secret');
  });

  // `$` alone as data is refused at submit (it is the whole context); `$$.vars` is how to read it all.
  test('reads the analysis cannot name ($$.vars, $lookup(vars, …), vars.*) are tainted while a secret exists', () => {
    const validated = validateDefinition({
      id: 'dynamic',
      variables: [pw],
      nodes: [
        { id: 'a', type: 'set', assign: { x: '$lookup(vars, "p" & "w")' } },
        { id: 'b', type: 'set', assign: { y: '$string($$.vars)' } },
        { id: 'c', type: 'set', assign: { z: '$join(vars.*, ",")' } },
        { id: 'd', type: 'set', assign: { w: '"constant"' } },
      ],
      edges: [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
        { from: 'c', to: 'd' },
      ],
    });
    assert.ok(validated.ok);
    const taint = taintOf(validated.definition);
    assert.deepEqual([...taint.vars].sort(), ['pw', 'x', 'y', 'z']);
    assert.deepEqual([...taint.nodes].sort(), ['a', 'b', 'c']);
  });

  test('error messages of tainted nodes and the run error are masked', async () => {
    const { view: v } = await view({
      id: 'errors',
      variables: [pw],
      nodes: [{ id: 'boom', type: 'set', assign: { x: '$error("bad: " & $uppercase(vars.pw))' } }],
    });
    assert.equal(v.status, 'failed');
    assert.equal(v.nodes.boom?.error?.message, '***');
    assert.equal(v.error?.message, '***');
    assert.equal(v.error?.type, 'ExpressionError');
    noSecretLeft(v);
  });

  test('an end node whose result is derived from a secret gives a masked result', async () => {
    const { view: v } = await view({
      id: 'end',
      variables: [pw],
      nodes: [{ id: 'done', type: 'end', result: '{ "p": $substring(vars.pw, 1) }' }],
    });
    assert.equal(v.result, '***');
    noSecretLeft(v, SECRET.slice(1));
  });

  test('definitions without secrets are unchanged', async () => {
    const { view: v } = await view(
      {
        id: 'plain',
        variables: [{ name: 'name', type: 'string' }],
        nodes: [{ id: 'greet', type: 'set', assign: { hello: '"hi " & $uppercase(vars.name)' } }],
      },
      {},
      { name: 'ada' },
    );
    assert.equal(v.variables.hello, 'hi ADA');
    assert.deepEqual(v.result, { name: 'ada', hello: 'hi ADA' });
  });
});
