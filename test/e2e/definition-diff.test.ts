/**
 * `GET /v1/definitions/{id}/versions/{a}/diff/{b}` over HTTP: nodes by id and edges by
 * from + to + on, added / removed / changed, changed top-level fields, key order ignored.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pluck, startTestStack, type TestStack } from '../support/gateway.js';
import { unique } from '../support/temporal.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack({ worker: false });
});
after(async () => {
  await stack?.close();
});

const fetchNode = (url: string) => ({
  id: 'fetch',
  type: 'task',
  connector: 'http',
  action: 'request',
  inputs: { url },
});

function v1(id: string) {
  return {
    id,
    name: 'Diff me',
    variables: [{ name: 'x', type: 'number', default: 1 }],
    nodes: [
      fetchNode('http://127.0.0.1:9/one'),
      { id: 'b', type: 'set', assign: { x: 'vars.x + 1' } },
      { id: 'c', type: 'set', assign: { x: 'vars.x * 2' } },
    ],
    edges: [
      { from: 'fetch', to: 'b' },
      { from: 'b', to: 'c' },
    ],
  };
}

function v2(id: string) {
  return {
    id,
    name: 'Diff me, again',
    description: 'now with d',
    // Same variables with the keys in another order: not a change.
    variables: [{ default: 1, type: 'number', name: 'x' }],
    nodes: [
      fetchNode('http://127.0.0.1:9/two'),
      { id: 'c', type: 'set', assign: { x: 'vars.x * 2' } },
      { id: 'd', type: 'set', assign: { x: '0' } },
    ],
    edges: [
      { from: 'fetch', to: 'c' },
      { from: 'c', to: 'd', when: 'vars.x > 1' },
    ],
  };
}

function v3(id: string) {
  const next = v2(id);
  next.edges[1] = { from: 'c', to: 'd', when: 'vars.x > 2' };
  return { ...next, options: { max_node_visits: 10 } };
}

const diff = (id: string, a: string, b: string) => stack.call('GET', `/v1/definitions/${id}/versions/${a}/diff/${b}`);

describe('definition diff', () => {
  test('lists added, removed and changed nodes, edges and fields', async () => {
    const id = unique('diff');
    for (const make of [v1, v2, v3]) assert.equal((await stack.call('POST', '/v1/definitions', make(id))).status, 201);

    const forward = await diff(id, '1', '2');
    assert.equal(forward.status, 200, JSON.stringify(forward.body));
    const body = forward.body;
    assert.equal(body.id, id);
    assert.equal(body.from_version, '1');
    assert.equal(body.to_version, '2');
    assert.equal(body.identical, false);
    assert.deepEqual(pluck(body.fields, 'field'), ['name', 'description']);
    assert.deepEqual(body.fields[0], { field: 'name', before: 'Diff me', after: 'Diff me, again' });
    assert.deepEqual(body.fields[1], { field: 'description', after: 'now with d' });

    assert.deepEqual(pluck(body.nodes.added, 'id'), ['d']);
    assert.deepEqual(pluck(body.nodes.removed, 'id'), ['b']);
    assert.equal(body.nodes.changed.length, 1);
    assert.equal(body.nodes.changed[0].id, 'fetch');
    assert.deepEqual(body.nodes.changed[0].fields, ['inputs']);
    assert.equal(body.nodes.changed[0].before.inputs.url, 'http://127.0.0.1:9/one');
    assert.equal(body.nodes.changed[0].after.inputs.url, 'http://127.0.0.1:9/two');

    const edgeKey = (e: any) => `${e.from}->${e.to}:${e.on}`;
    assert.deepEqual((body.edges.added as unknown[]).map(edgeKey), ['fetch->c:success', 'c->d:success']);
    assert.deepEqual((body.edges.removed as unknown[]).map(edgeKey), ['fetch->b:success', 'b->c:success']);
    assert.deepEqual(body.edges.changed, []);

    // An edge keeps its identity (from + to + on) when only its condition changes.
    const edgeOnly = await diff(id, '2', '3');
    assert.deepEqual(edgeOnly.body.edges.added, []);
    assert.deepEqual(edgeOnly.body.edges.removed, []);
    assert.equal(edgeOnly.body.edges.changed.length, 1);
    const [changed] = edgeOnly.body.edges.changed;
    assert.deepEqual([changed.from, changed.to, changed.on, changed.fields], ['c', 'd', 'success', ['when']]);
    assert.equal(changed.before.when, 'vars.x > 1');
    assert.equal(changed.after.when, 'vars.x > 2');
    assert.deepEqual(pluck(edgeOnly.body.fields, 'field'), ['options']);
    assert.equal(edgeOnly.body.fields[0].after.max_node_visits, 10);
    assert.deepEqual(edgeOnly.body.nodes, { added: [], removed: [], changed: [] });

    // Backwards is the mirror image.
    const backward = await diff(id, '2', '1');
    assert.deepEqual(pluck(backward.body.nodes.added, 'id'), ['b']);
    assert.deepEqual((backward.body.edges.removed as unknown[]).map(edgeKey), ['fetch->c:success', 'c->d:success']);
    assert.deepEqual(backward.body.fields[1], { field: 'description', before: 'now with d' });

    const same = await diff(id, '3', '3');
    assert.equal(same.body.identical, true);
    assert.deepEqual(same.body.fields, []);
  });

  test('bad and missing versions answer 400 and 404 naming what is wrong', async () => {
    const id = unique('diff-errors');
    await stack.call('POST', '/v1/definitions', v1(id));

    const malformed = await diff(id, 'latest', '0');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.code, 'validation_failed');
    assert.deepEqual(pluck(malformed.body.error.details, 'path'), ['/path/a', '/path/b']);

    const missing = await diff(id, '1', '7');
    assert.equal(missing.status, 404);
    assert.match(missing.body.error.message, /version "7" of definition/);

    const unknown = await diff(unique('nothing'), '1', '2');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'not_found');
  });
});
