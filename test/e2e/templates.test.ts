/**
 * The template API through a real gateway, on each definition store: store, list, read,
 * instantiate and delete a tenant's template; every problem of a bad template or bad values
 * named with its JSON Pointer; values never becoming code; the built-in library read-only;
 * instantiate with `submit` answering as `POST /v1/definitions` (four-eyes included); roles,
 * tenants and the audit log.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { Template } from '../../src/templates/template-schema.js';
import { bearer, createKey, putTenant } from '../support/access.js';
import { pluck, startTestStack, STORES, type TestStack } from '../support/gateway.js';
import { unique } from '../support/temporal.js';

/** A small template: a greeting with a typed parameter of each kind. */
function greeting(id: string): Record<string, unknown> {
  return {
    id,
    name: 'Greeting',
    description: 'says hello',
    parameters: [
      { name: 'greeting', type: 'string', default: 'Hello', max_length: 20, description: 'the word' },
      { name: 'times', type: 'integer', default: 1, minimum: 1, maximum: 5 },
      { name: 'loud', type: 'boolean', default: false },
      { name: 'tone', type: 'enum', values: ['warm', 'dry'], default: 'warm' },
      { name: 'extra', type: 'json', required: false },
      { name: 'who', type: 'string', example: 'Ada' },
    ],
    definition: {
      name: 'Greeting',
      variables: [
        { name: 'greeting', type: 'string', default: { $param: 'greeting' } },
        { name: 'who', type: 'string', default: { $param: 'who' } },
        { name: 'times', type: 'number', default: { $param: 'times' } },
        { name: 'loud', type: 'boolean', default: { $param: 'loud' } },
        { name: 'tone', type: 'string', default: { $param: 'tone' } },
        { name: 'extra', type: 'any', default: { $param: 'extra' } },
        { name: 'message', type: 'string' },
      ],
      nodes: [
        {
          id: 'say',
          type: 'set',
          assign: { message: "$join([1..vars.times].($$.vars.greeting & ', ' & $$.vars.who), ' ')" },
        },
      ],
    },
  };
}

for (const store of STORES) {
  describe(`templates (${store} store)`, () => {
    let stack: TestStack;
    const id = unique('greet').toLowerCase();

    before(async () => {
      stack = await startTestStack({ store });
    });
    after(async () => {
      await stack?.close();
    });

    test('a template is stored, listed beside the starter library, read, and instantiated with typed values', async () => {
      const created = await stack.call('POST', '/v1/templates', greeting(id));
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.deepEqual(created.body, { id, created: true });
      const again = await stack.call('POST', '/v1/templates', greeting(id));
      assert.deepEqual([again.status, again.body], [200, { id, created: false }], 'identical content stores nothing');
      const changed = await stack.call('POST', '/v1/templates', { ...greeting(id), name: 'Other' });
      assert.equal(changed.status, 409, JSON.stringify(changed.body));
      assert.match(changed.body.error.message, /immutable/);

      const listed = await stack.call('GET', '/v1/templates');
      assert.equal(listed.status, 200);
      const ids = pluck(listed.body.items, 'id') as string[];
      assert.ok(ids.includes(id) && ids.includes('order-saga') && ids.length >= 9, JSON.stringify(ids));
      const mine = listed.body.items.find((t: { id: string }) => t.id === id);
      assert.equal(mine.builtin, false);
      assert.equal(mine.created_by, 'local-dev');
      assert.equal(mine.definition, undefined, 'the list carries no definitions');
      assert.equal(mine.parameters.length, 6);
      const saga = listed.body.items.find((t: { id: string }) => t.id === 'order-saga');
      assert.equal(saga.builtin, true);

      const read = await stack.call('GET', `/v1/templates/${id}`);
      assert.equal(read.status, 200);
      assert.deepEqual(read.body.definition, greeting(id).definition);

      const made = await stack.call('POST', `/v1/templates/${id}/instantiate`, {
        id: `${id}-def`,
        parameters: { who: 'Ada', times: 2, extra: { any: ['json'] } },
      });
      assert.equal(made.status, 200, JSON.stringify(made.body));
      assert.equal(made.body.id, `${id}-def`);
      assert.deepEqual(
        made.body.variables.map((v: { name: string; default?: unknown }) => [v.name, v.default]),
        [
          ['greeting', 'Hello'],
          ['who', 'Ada'],
          ['times', 2],
          ['loud', false],
          ['tone', 'warm'],
          ['extra', { any: ['json'] }],
          ['message', undefined],
        ],
      );
      const notStored = await stack.call('GET', `/v1/definitions/${id}-def`);
      assert.equal(notStored.status, 404, 'without submit nothing is stored');

      const submitted = await stack.call('POST', `/v1/templates/${id}/instantiate`, {
        id: `${id}-def`,
        parameters: { who: 'Ada', times: 2, extra: { any: ['json'] } },
        submit: true,
      });
      assert.deepEqual([submitted.status, submitted.body], [201, { id: `${id}-def`, version: '1', created: true }]);
      const same = await stack.call('POST', `/v1/templates/${id}/instantiate`, {
        id: `${id}-def`,
        parameters: { who: 'Ada', times: 2, extra: { any: ['json'] } },
        submit: true,
      });
      assert.deepEqual([same.status, same.body.created], [200, false], 'identical to the latest version');
      const run = await stack.call('POST', `/v1/definitions/${id}-def/runs`, {});
      assert.equal(run.status, 201, JSON.stringify(run.body));
      const result = await stack.call('GET', `/v1/runs/${run.body.run_id}/result?wait=true`);
      assert.equal(result.body.result.message, 'Hello, Ada Hello, Ada');
      const history = await stack.call('GET', `/v1/definitions/${id}-def/history`);
      assert.deepEqual(pluck(history.body.items, 'action'), ['submitted', 'activated']);
    });

    test('bad values are refused at /parameters/<name>; values never become expressions or templates', async () => {
      const cases: Array<[Record<string, unknown>, string[], RegExp]> = [
        [{ nobody: 1 }, ['/parameters/nobody', '/parameters/who'], /unknown parameter "nobody"/],
        [{ who: 'Ada', times: 1.5 }, ['/parameters/times'], /whole number/],
        [{ who: 'Ada', times: 9 }, ['/parameters/times'], /at most 5/],
        [{ who: 'Ada', loud: 'yes' }, ['/parameters/loud'], /true or false/],
        [{ who: 'Ada', tone: 'cold' }, ['/parameters/tone'], /one of "warm", "dry"/],
        [{ who: 'Ada', greeting: 'x'.repeat(21) }, ['/parameters/greeting'], /at most 20 characters/],
        [{ who: "{{ $eval('1') }}" }, ['/parameters/who'], /holds "\{\{"/],
        [{ who: 'Ada', extra: { nested: ['{{ vars.secret }}'] } }, ['/parameters/extra'], /holds "\{\{"/],
      ];
      for (const [parameters, paths, message] of cases) {
        const response = await stack.call('POST', `/v1/templates/${id}/instantiate`, { id: 'x', parameters });
        assert.equal(response.status, 400, JSON.stringify(response.body));
        assert.equal(response.body.error.code, 'validation_failed');
        assert.deepEqual(pluck(response.body.error.details, 'path'), paths, JSON.stringify(parameters));
        assert.match((pluck(response.body.error.details, 'message') as string[]).join('\n'), message);
      }
      const missing = await stack.call('POST', `/v1/templates/${id}/instantiate`, { id: 'x' });
      assert.deepEqual(pluck(missing.body.error.details, 'path'), ['/parameters/who']);
      assert.match(missing.body.error.details[0].message, /required/);
      const body = await stack.call('POST', `/v1/templates/${id}/instantiate`, { id: 'Bad Id', submits: true });
      assert.deepEqual(pluck(body.body.error.details, 'path').sort(), ['', '/id']);
    });

    test('a value that makes the definition invalid is blamed on its parameter', async () => {
      const template = {
        id: `${id}-wait`,
        name: 'Wait',
        parameters: [{ name: 'pause', type: 'string', default: '1s' }],
        definition: { nodes: [{ id: 'nap', type: 'wait', duration: { $param: 'pause' } }] },
      };
      assert.equal((await stack.call('POST', '/v1/templates', template)).status, 201);
      const response = await stack.call('POST', `/v1/templates/${id}-wait/instantiate`, {
        id: 'x',
        parameters: { pause: 'soon' },
      });
      assert.equal(response.status, 400, JSON.stringify(response.body));
      assert.deepEqual(pluck(response.body.error.details, 'path'), ['/parameters/pause']);
      assert.match(response.body.error.details[0].message, /\/nodes\/0\/duration/);
    });

    test('a bad template is refused with every problem and its pointer', async () => {
      const bad = {
        id: `${id}-bad`,
        name: 'Bad',
        parameters: [
          { name: 'n', type: 'number', default: 'three' },
          { name: 'n', type: 'integer', default: 1 },
          { name: 'unused', type: 'boolean' },
          { name: 'cond', type: 'string', default: 'true' },
          { name: 'free', type: 'string' },
          { name: 'weird', type: 'date' },
        ],
        definition: {
          id: 'fixed',
          nodes: [
            { id: 'a', type: 'set', assign: { x: { $param: 'n' } } },
            { id: 'b', type: 'set', assign: { x: '1' } },
          ],
          edges: [
            { from: 'a', to: 'b', when: { $param: 'cond' } },
            { from: 'b', to: { $param: 'nobody' } },
            { from: 'b', to: { $param: 'free', also: 1 } },
          ],
        },
      };
      const response = await stack.call('POST', '/v1/templates', bad);
      assert.equal(response.status, 400);
      // The schema first: a parameter of an unknown type and a default of the wrong type.
      assert.deepEqual(pluck(response.body.error.details, 'path').sort(), [
        '/parameters/0/default',
        '/parameters/5/type',
      ]);
      bad.parameters = bad.parameters.filter((p) => p.type !== 'date');
      bad.parameters[0] = { name: 'n', type: 'number', default: 3 };
      const second = await stack.call('POST', '/v1/templates', bad);
      assert.equal(second.status, 400);
      assert.deepEqual(pluck(second.body.error.details, 'path').sort(), [
        '/definition/edges/0/when',
        '/definition/edges/1/to',
        '/definition/edges/2/to',
        '/definition/id',
        '/parameters/1/name',
        '/parameters/2',
        '/parameters/4',
        '/parameters/4',
      ]);
      assert.match(JSON.stringify(second.body.error.details), /an expression cannot be a parameter/);
      // A definition that is invalid with the defaults: the validation of POST /v1/definitions, under /definition.
      const invalid = await stack.call('POST', '/v1/templates', {
        id: `${id}-invalid`,
        name: 'Invalid',
        parameters: [{ name: 'url', type: 'string', default: 'http://example.com' }],
        definition: {
          nodes: [{ id: 'a', type: 'task', connector: 'http', action: 'request', inputs: { url: { $param: 'url' } } }],
          edges: [{ from: 'a', to: 'nowhere' }],
        },
      });
      assert.equal(invalid.status, 400);
      assert.deepEqual(pluck(invalid.body.error.details, 'path'), ['/definition/edges/0/to']);
    });

    test('a JSON value that would bring expressions in (a whole node) is refused, at store and at instantiate', async () => {
      const template = (defaultNode: unknown) => ({
        id: `${id}-node`,
        name: 'Node',
        parameters: [{ name: 'step', type: 'json', default: defaultNode }],
        definition: { nodes: [{ $param: 'step' }] },
      });
      const refused = await stack.call('POST', '/v1/templates', template({ id: 'a', type: 'set', assign: { x: '1' } }));
      assert.equal(refused.status, 400, JSON.stringify(refused.body));
      assert.deepEqual(pluck(refused.body.error.details, 'path'), ['/parameters/0']);
      assert.match(
        refused.body.error.details[0].message,
        /would land at \/nodes\/0\/assign\/x, which is an expression/,
      );
      const stored = await stack.call('POST', '/v1/templates', template({ id: 'a', type: 'wait', duration: '1s' }));
      assert.equal(stored.status, 201, JSON.stringify(stored.body));
      const injected = await stack.call('POST', `/v1/templates/${id}-node/instantiate`, {
        id: 'x',
        parameters: { step: { id: 'a', type: 'wait', until: '$now()' } },
      });
      assert.equal(injected.status, 400);
      assert.deepEqual(pluck(injected.body.error.details, 'path'), ['/parameters/step']);
      assert.match(injected.body.error.details[0].message, /\/nodes\/0\/until, which is an expression/);
    });

    test("secret variables' defaults, and the parameters that fill them, are shown as *** (and stored as given)", async () => {
      const template = {
        id: `${id}-secret`,
        name: 'Secret',
        parameters: [
          { name: 'token', type: 'string', example: 'tok-example' },
          { name: 'plain', type: 'string', default: 'visible' },
        ],
        definition: {
          variables: [
            { name: 'token', type: 'string', secret: true, default: { $param: 'token' } },
            { name: 'pin', type: 'string', secret: true, default: 'pin-literal' },
            { name: 'plain', type: 'string', default: { $param: 'plain' } },
          ],
          nodes: [{ id: 'a', type: 'wait', duration: '1ms' }],
        },
      };
      assert.equal((await stack.call('POST', '/v1/templates', template)).status, 201);
      const read = await stack.call('GET', `/v1/templates/${id}-secret`);
      assert.doesNotMatch(JSON.stringify(read.body), /tok-example|pin-literal/);
      assert.deepEqual(pluck(read.body.parameters, 'example'), ['***', undefined]);
      assert.deepEqual(pluck(read.body.definition.variables, 'default'), [
        { $param: 'token' },
        '***',
        { $param: 'plain' },
      ]);
      const listed = await stack.call('GET', '/v1/templates');
      assert.doesNotMatch(JSON.stringify(listed.body), /tok-example/);
      const shown = await stack.call('POST', `/v1/templates/${id}-secret/instantiate`, {
        id: `${id}-secret-def`,
        parameters: { token: 'tok-real' },
      });
      assert.equal(shown.status, 200, JSON.stringify(shown.body));
      assert.deepEqual(pluck(shown.body.variables, 'default'), ['***', '***', 'visible']);
      const stored = await stack.call('POST', `/v1/templates/${id}-secret/instantiate`, {
        id: `${id}-secret-def`,
        parameters: { token: 'tok-real' },
        submit: true,
      });
      assert.equal(stored.status, 201);
      const masked = await stack.call('POST', '/v1/definitions', shown.body);
      assert.deepEqual([masked.status, masked.body.version], [201, '2'], 'the stored version holds the real values');
    });

    test('the starter library is read-only; templates are deleted; unknown ids are 404', async () => {
      const builtin = await stack.call('DELETE', '/v1/templates/order-saga');
      assert.equal(builtin.status, 409, JSON.stringify(builtin.body));
      assert.match(builtin.body.error.message, /built-in template and cannot be deleted/);
      const shadow = await stack.call('POST', '/v1/templates', { ...greeting('order-saga') });
      assert.equal(shadow.status, 409);
      const read = await stack.call('GET', '/v1/templates/order-saga');
      assert.equal(read.body.builtin, true);
      assert.equal((await stack.call('DELETE', `/v1/templates/${id}-wait`)).status, 204);
      assert.equal((await stack.call('DELETE', `/v1/templates/${id}-wait`)).status, 404);
      assert.equal((await stack.call('GET', `/v1/templates/${id}-wait`)).status, 404);
      assert.equal((await stack.call('GET', '/v1/templates/Not_An_Id')).status, 404);
      assert.equal((await stack.call('POST', '/v1/templates/nothing-here/instantiate', { id: 'x' })).status, 404);
    });
  });
}

describe('templates: roles, tenants, four-eyes and the audit log', () => {
  let stack: TestStack;
  let root: string;
  const tenant = unique('tpl-tenant');

  before(async () => {
    stack = await startTestStack({ worker: false });
    root = await createKey(stack, 'root', ['admin']);
    await putTenant(stack, root, tenant, { four_eyes: true });
  });
  after(async () => {
    await stack?.close();
  });

  test('the template language is served as JSON Schema, generated from the zod schema the route parses with', async () => {
    const served = await stack.call('GET', '/v1/schema/template.json', undefined, bearer(root));
    assert.equal(served.status, 200);
    const { $id, title, description, ...schema } = served.body;
    assert.deepEqual([$id, title], ['/v1/schema/template.json', 'weft template']);
    assert.match(description, /\$param/);
    assert.deepEqual(
      schema,
      JSON.parse(JSON.stringify(z.toJSONSchema(Template, { io: 'input', unrepresentable: 'any' }))),
    );
    assert.deepEqual(schema.required, ['id', 'name', 'definition']);
  });

  test("a viewer reads and cannot store; another tenant's template is 404; four-eyes holds for submit", async () => {
    const editor = bearer(await createKey(stack, 'ed', ['editor'], { adminKey: root, tenant }));
    const viewer = bearer(await createKey(stack, 'view', ['viewer'], { adminKey: root, tenant }));
    const created = await stack.call('POST', '/v1/templates', greeting('tenant-greet'), editor);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await stack.call('GET', '/v1/templates/tenant-greet', undefined, viewer)).status, 200);
    const refused = await stack.call('POST', '/v1/templates', greeting('viewer-greet'), viewer);
    assert.equal(refused.status, 403);
    const instantiateRefused = await stack.call('POST', '/v1/templates/tenant-greet/instantiate', { id: 'x' }, viewer);
    assert.equal(instantiateRefused.status, 403);

    const defaultAdmin = bearer(root);
    assert.equal((await stack.call('GET', '/v1/templates/tenant-greet', undefined, defaultAdmin)).status, 404);
    assert.equal((await stack.call('DELETE', '/v1/templates/tenant-greet', undefined, defaultAdmin)).status, 404);
    const listed = await stack.call('GET', '/v1/templates', undefined, defaultAdmin);
    assert.ok(!(pluck(listed.body.items, 'id') as string[]).includes('tenant-greet'));

    const submitted = await stack.call(
      'POST',
      '/v1/templates/tenant-greet/instantiate',
      { id: 'greeter', parameters: { who: 'Ada' }, submit: true },
      editor,
    );
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    assert.deepEqual(submitted.body, { id: 'greeter', version: '1', created: true, approval: 'pending' });
    const defs = await stack.call('GET', '/v1/definitions', undefined, editor);
    assert.deepEqual(defs.body.items, [{ id: 'greeter', latest_version: '1', active_version: null, name: 'Greeting' }]);

    assert.equal((await stack.call('DELETE', '/v1/templates/tenant-greet', undefined, editor)).status, 204);
    const audit = await stack.call('GET', '/v1/audit?limit=1000', undefined, editor);
    const entries = (audit.body.items as Array<{ action: string; target: string; status: number; actor: string }>)
      .filter((e) => e.action.startsWith('template.'))
      .map((e) => [e.action, e.target, e.status, e.actor])
      .reverse();
    assert.deepEqual(entries, [
      ['template.create', 'tenant-greet', 201, 'key:ed'],
      // Refused before its body was read: the target is not known.
      ['template.create', '', 403, 'key:view'],
      ['template.instantiate', 'tenant-greet', 403, 'key:view'],
      ['template.instantiate', 'tenant-greet', 201, 'key:ed'],
      ['template.delete', 'tenant-greet', 204, 'key:ed'],
    ]);
  });
});
