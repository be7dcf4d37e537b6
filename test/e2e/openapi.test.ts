/**
 * The served OpenAPI document describes exactly the routes the express app registers (walked
 * from its router, so a new route without documentation fails here), every reference in it
 * resolves, and the definition schema is the zod schema's JSON Schema.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type express from 'express';
import { z } from 'zod';
import { WorkflowDefinition } from '../../interpreter/definition-schema.js';
import { AUDIT_ACTIONS } from '../../src/gateway/audit.js';
import { startTestStack, type TestStack } from '../support/gateway.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack({ worker: false });
});
after(async () => {
  await stack?.close();
});

interface RouterLayer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
}

/** "METHOD /path/{param}" for every route the app serves. */
function registeredRoutes(app: express.Express): string[] {
  const stackOf = (app as unknown as { router: { stack: RouterLayer[] } }).router.stack;
  return stackOf.flatMap((layer) => {
    if (!layer.route) return [];
    const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
    const methods = Object.keys(layer.route.methods).filter((m) => layer.route?.methods[m] && m !== '_all');
    return paths.flatMap((path) =>
      methods.map((m) => `${m.toUpperCase()} ${path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`),
    );
  });
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

function documentedRoutes(doc: any): string[] {
  return Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((k) => METHODS.includes(k))
      .map((m) => `${m.toUpperCase()} ${path}`),
  );
}

/** Every `$ref` in the document, with where it sits. */
function refs(value: unknown, at = ''): Array<{ at: string; ref: string }> {
  if (Array.isArray(value)) return value.flatMap((v, i) => refs(v, `${at}/${i}`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) =>
      k === '$ref' && typeof v === 'string' ? [{ at, ref: v }] : refs(v, `${at}/${k}`),
    );
  }
  return [];
}

function resolve(doc: any, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  return ref
    .slice(2)
    .split('/')
    .reduce<unknown>(
      (node, key) =>
        node === undefined || node === null
          ? undefined
          : (node as Record<string, unknown>)[key.replace(/~1/g, '/').replace(/~0/g, '~')],
      doc,
    );
}

describe('OpenAPI', () => {
  test('documents exactly the routes the app registers', async () => {
    const response = await stack.call('GET', '/v1/openapi.json');
    assert.equal(response.status, 200);
    const doc = response.body;
    assert.equal(doc.openapi, '3.1.0');
    const registered = registeredRoutes(stack.gateway.app).sort();
    assert.ok(registered.length >= 17, `router walk found only ${registered.length} routes`);
    assert.deepEqual(documentedRoutes(doc).sort(), registered);
  });

  test('every reference resolves and every operation documents its errors with the contract shape', async () => {
    const doc = (await stack.call('GET', '/v1/openapi.json')).body;
    for (const { at, ref } of refs(doc)) assert.notEqual(resolve(doc, ref), undefined, `${at}: ${ref}`);
    const errorSchema = doc.components.schemas.Error;
    assert.deepEqual(errorSchema.required, ['error']);
    assert.deepEqual(errorSchema.properties.error.required, ['code', 'message']);
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const [method, operation] of Object.entries<any>(item)) {
        const statuses = Object.keys(operation.responses);
        assert.ok(
          statuses.some((s) => s.startsWith('2')),
          `${method} ${path} has no success response`,
        );
        assert.ok(statuses.includes('503'), `${method} ${path} does not document 503`);
        for (const status of statuses.filter((s) => /^[45]/.test(s))) {
          const response: any = resolve(doc, operation.responses[status].$ref) ?? operation.responses[status];
          assert.equal(response.content['application/json'].schema.$ref, '#/components/schemas/Error');
        }
        if (['post', 'put', 'patch'].includes(method) && path !== '/v1/hooks/{definition_id}') {
          assert.ok(operation.requestBody, `${method} ${path} documents no request body`);
          assert.ok(statuses.includes('400'), `${method} ${path} does not document 400`);
        }
      }
    }
    const diff = doc.paths['/v1/definitions/{id}/versions/{a}/diff/{b}'].get.responses['200'];
    assert.equal(diff.content['application/json'].schema.$ref, '#/components/schemas/DefinitionDiff');
    assert.deepEqual(Object.keys(doc.components.schemas.DefinitionDiff.properties).sort(), [
      'edges',
      'fields',
      'from_version',
      'id',
      'identical',
      'nodes',
      'to_version',
    ]);
  });

  test('the definition schema is generated from the zod schema, alone and inside the document', async () => {
    const expected = z.toJSONSchema(WorkflowDefinition, { io: 'input', unrepresentable: 'any' }) as any;
    // The one addition: a definition may name its JSON Schema in "$schema" (accepted and ignored).
    expected.properties = {
      $schema: { type: 'string', description: 'the JSON Schema this file follows, for editors; ignored' },
      ...expected.properties,
    };
    const served = await stack.call('GET', '/v1/schema/definition.json');
    assert.equal(served.status, 200);
    const { $id, title, ...schema } = served.body;
    assert.equal($id, '/v1/schema/definition.json');
    assert.equal(typeof title, 'string');
    assert.deepEqual(schema, expected);

    const doc = (await stack.call('GET', '/v1/openapi.json')).body;
    const { $schema: _dialect, ...embedded } = expected;
    assert.deepEqual(doc.components.schemas.Definition, embedded);
    const bodyRef = doc.paths['/v1/definitions'].post.requestBody.content['application/json'].schema.$ref;
    assert.equal(bodyRef, '#/components/schemas/Definition');
  });

  test('the audit log documents every action it writes; approval and result fields are described', async () => {
    const doc = (await stack.call('GET', '/v1/openapi.json')).body;
    const described: string = doc.paths['/v1/audit'].get.responses['200'].description;
    for (const action of ['connection.create', 'connection.replace', 'connection.delete', 'connection.test'])
      assert.ok(AUDIT_ACTIONS.includes(action), action);
    for (const action of AUDIT_ACTIONS) assert.ok(described.includes(action), `${action} is not in: ${described}`);
    const schema = (await stack.call('GET', '/v1/schema/definition.json')).body;
    const text = JSON.stringify(schema);
    for (const description of [
      'Who may decide: roles',
      'Distinct approvals needed',
      'Refuses the approval of the caller',
    ])
      assert.ok(text.includes(description), description);
    assert.match(schema.properties.options.properties.result.description, /final variables/);
  });
});
