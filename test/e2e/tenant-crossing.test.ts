/**
 * Every route of the served OpenAPI document, called by tenant a's admin with tenant b's ids
 * and names (definition id and version, run id, approval node, key id, tenant id, hook, event
 * type, namespace), in the path, the query and the body. Nothing answers with b's data (b's
 * definitions, runs, keys and audit entries carry markers no answer to a may contain), and
 * afterwards b's definition, run, key, settings and audit log are as b left them.
 * b's named connection is neither found, replaced, tested, deleted nor accepted in a's definitions.
 * Ids holding '/' and another tenant's name (event_id, run_id) are refused with 400 naming the
 * field, so they never become a workflow id of another tenant. A task of tenant a naming b's
 * secret (`secret:<b>/NAME`, the secrets file's name for it) or a name only b and the default
 * tenant have never sends their values anywhere.
 * (Connector and egress crossings are tested with the connectors.)
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseCodecKeys } from '../../src/codec/aes-gcm-codec.js';
import { codecFromKeys } from '../../src/codec/data-converter.js';
import type { DefinitionStore } from '../../src/store/definition-store.js';
import { openDefinitionStore } from '../../src/store/open-store.js';
import { startWorker, type RunningWorker } from '../../src/worker/create-worker.js';
import { bearer, createKey, putTenant } from '../support/access.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { bounded, rawClient, type RawClient } from '../support/raw-http.js';
import { unique } from '../support/temporal.js';
import { until } from '../support/poll.js';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
const MARKER = `bmarker${randomBytes(6).toString('hex')}`;

describe('tenant crossing: every route with another tenant’s ids', () => {
  let stack: TestStack;
  let client: RawClient;
  const a = unique('tenant-a');
  const b = unique('tenant-b');
  const eventType = unique('b.event');
  const definitionId = `${MARKER}-def`;
  const runId = `${MARKER}-run`;
  const connectionName = `${MARKER}-conn`;
  let aAdmin: Record<string, string>;
  let bAdmin: Record<string, string>;
  let bKeyId: string;
  let routes: Array<{ method: string; template: string }>;
  let worker: RunningWorker;
  let definitions: DefinitionStore;
  /** Secret values of b and of the default tenant, by the secrets file's names; a has none. */
  const SECRET_NAME = 'API_TOKEN';
  const bSecret = `${MARKER}-b-secret`;
  const defaultSecret = `${MARKER}-default-secret`;
  const secretsDir = mkdtempSync(join(tmpdir(), 'weft-crossing-'));
  let target: HttpTarget;

  before(async () => {
    // Encrypted payloads, so the codec routes are served (and tried) too; the worker shares the keys.
    const codecKeys = `k1:${randomBytes(32).toString('base64')}`;
    stack = await startTestStack({
      worker: false,
      env: { WEFT_CODEC_KEYS: codecKeys, WEFT_CONNECTION_KEY: randomBytes(32).toString('base64') },
    });
    definitions = await openDefinitionStore(stack.config.databaseUrl);
    const secretsFile = join(secretsDir, 'secrets.json');
    writeFileSync(secretsFile, JSON.stringify({ [`${b}/${SECRET_NAME}`]: bSecret, [SECRET_NAME]: defaultSecret }));
    // Whatever a task sends, as the target saw it.
    target = await startHttpTarget({
      '/echo': (req, res) => json(res, 200, { seen: req.headers.authorization ?? null }),
    });
    worker = await startWorker({
      address: stack.config.temporalAddress,
      namespace: stack.config.namespace,
      taskQueue: stack.config.taskQueue,
      definitions,
      codec: codecFromKeys(parseCodecKeys(codecKeys)),
      activityDeps: { secrets: { env: {}, file: secretsFile } },
    });
    const root = await createKey(stack, 'root', ['admin']);
    await putTenant(stack, root, a);
    await putTenant(stack, root, b);
    aAdmin = bearer(await createKey(stack, 'a-admin', ['admin'], { adminKey: root, tenant: a }));
    bAdmin = bearer(await createKey(stack, `${MARKER}-admin`, ['admin'], { adminKey: root, tenant: b }));
    const keys = await stack.call('GET', '/v1/keys', undefined, bAdmin);
    bKeyId = (keys.body.items as Array<{ id: string; name: string }>).find((k) => k.name === `${MARKER}-admin`)
      ?.id as string;
    assert.ok(bKeyId);
    const submitted = await stack.call(
      'POST',
      '/v1/definitions',
      {
        id: definitionId,
        description: `${MARKER} description`,
        variables: [{ name: 'who', type: 'string', default: `${MARKER}-default` }],
        triggers: [{ type: 'webhook' }, { type: 'event', event_type: eventType }],
        nodes: [
          { id: 'gate', type: 'approval', output: 'decision' },
          { id: 'ping', type: 'event', event_type: eventType, correlation_key: '"k"', output: 'got' },
        ],
        edges: [{ from: 'gate', to: 'ping' }],
      },
      bAdmin,
    );
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    const started = await stack.call(
      'POST',
      `/v1/definitions/${definitionId}/runs`,
      { run_id: runId, input: { who: `${MARKER}-input` } },
      bAdmin,
    );
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const template = await stack.call(
      'POST',
      '/v1/templates',
      {
        id: definitionId,
        name: `${MARKER} template`,
        description: `${MARKER} template description`,
        parameters: [{ name: 'who', type: 'string', default: `${MARKER}-param` }],
        definition: {
          variables: [{ name: 'who', type: 'string', default: { $param: 'who' } }],
          nodes: [{ id: 'x', type: 'set', assign: { who: 'vars.who' } }],
        },
      },
      bAdmin,
    );
    assert.equal(template.status, 201, JSON.stringify(template.body));
    const connection = await stack.call(
      'POST',
      '/v1/connections',
      {
        name: connectionName,
        connector: 'postgres',
        settings: { host: `${MARKER}.example`, database: MARKER, user: MARKER },
        secret_settings: { password: `${MARKER}-password` },
      },
      bAdmin,
    );
    assert.equal(connection.status, 201, JSON.stringify(connection.body));
    await waitForGate();
    client = rawClient(stack.gateway.url);
    const doc = await client.send('GET', '/v1/openapi.json', aAdmin);
    routes = Object.entries(doc.body.paths as Record<string, Record<string, unknown>>).flatMap(([template, item]) =>
      Object.keys(item)
        .filter((k) => METHODS.includes(k))
        .map((m) => ({ method: m.toUpperCase(), template })),
    );
    assert.ok(routes.length >= 40, `only ${routes.length} routes`);
  });

  after(async () => {
    await stack?.call('POST', `/v1/runs/${runId}/cancel`, {}, bAdmin);
    client?.close();
    await worker?.shutdown();
    await definitions?.close();
    await target?.close();
    await stack?.close();
    rmSync(secretsDir, { recursive: true, force: true });
  });

  async function waitForGate(): Promise<Record<string, any>> {
    return until(
      "b's run to wait at its approval",
      async () => {
        const state = await stack.call('GET', `/v1/runs/${runId}`, undefined, bAdmin);
        return state.status === 200 && state.body.nodes?.gate?.status === 'waiting' ? state.body : undefined;
      },
      180_000,
      100,
    );
  }

  /** b's ids in a route's path. */
  const path = (template: string) =>
    template.replace(/\{([a-z_]+)\}/g, (_m, name: string) => {
      switch (name) {
        case 'id':
        case 'definition_id':
          return definitionId;
        case 'run_id':
          return runId;
        case 'node':
          return 'gate';
        case 'key_id':
          return bKeyId;
        case 'tenant':
          return b;
        case 'name':
          return connectionName;
        default:
          return '1'; // version, a, b
      }
    });

  /** Bodies naming b's things, so a handler that found them would act on them. */
  function bodiesFor(method: string, template: string): unknown[] {
    if (method === 'GET' || method === 'DELETE') return [undefined];
    switch (template) {
      case '/v1/definitions':
        return [{ id: definitionId, nodes: [{ id: 'x', type: 'set', assign: { x: '1' } }] }];
      case '/v1/definitions/validate':
        return [
          { id: definitionId, nodes: [{ id: 'x', type: 'subworkflow', definition: definitionId, inputs: {} }] },
          {
            id: definitionId,
            nodes: [
              {
                id: 'x',
                type: 'task',
                connector: 'postgres',
                action: 'query',
                connection: connectionName,
                inputs: { sql: 'SELECT 1' },
              },
            ],
          },
        ];
      case '/v1/connections':
        // a's own connection (another name, so the lookups of b's name never find it).
        return [
          { name: `${MARKER}-new`, connector: 'postgres', settings: { host: 'a.example', database: 'a', user: 'a' } },
        ];
      case '/v1/connections/{name}':
        return [{ secret_settings: { password: 'a-was-here' } }];
      case '/v1/definitions/{id}/active':
        return [{ version: '1' }];
      case '/v1/definitions/{id}/runs':
        return [
          { run_id: runId },
          { run_id: `${MARKER}-new`, input: { who: 'a' } },
          // A workflow id is "<tenant>/<run id>": a run id with b's name and a '/' is refused.
          { run_id: `${b}/${MARKER}-new` },
        ];
      case '/v1/definitions/{id}/versions/{version}/approvals':
        return [{ approved: false }];
      case '/v1/runs/{run_id}/skip':
        return [{ node: 'gate' }];
      case '/v1/runs/{run_id}/retry':
        return [{ node: 'gate' }];
      case '/v1/runs/{run_id}/variables':
        return [{ variables: { who: 'a-was-here' } }];
      case '/v1/runs/{run_id}/approvals/{node}':
        return [{ approved: true }];
      case '/v1/events':
        return [
          { event_type: eventType, correlation_key: 'k', payload: { from: 'a' } },
          { event_type: eventType, payload: { from: 'a' }, event_id: `${MARKER}-evt` },
          // The run an event starts is "<definition>-event-<event id>": ids with '/' and b's name are refused.
          { event_type: eventType, payload: { from: 'a' }, event_id: `${b}/${MARKER}-evt` },
          { event_type: eventType, payload: { from: 'a' }, event_id: `${MARKER}-evt/${b}` },
        ];
      case '/v1/keys':
        return [{ name: 'a-into-b', roles: ['admin'], tenant: b }];
      case '/v1/tenants/{tenant}':
        return [{ four_eyes: true }];
      case '/v1/templates/{id}/instantiate':
        return [{ id: `${MARKER}-new` }, { id: `${MARKER}-new`, submit: true }];
      default:
        return [{}];
    }
  }

  /** Query strings naming b's things, on the routes that take one. */
  function queriesFor(template: string): string[] {
    switch (template) {
      case '/v1/runs':
        return ['', `?definition_id=${definitionId}`];
      case '/v1/audit':
        return ['', `?target=${definitionId}`, `?actor=key:${MARKER}-admin`];
      case '/v1/hooks/{definition_id}':
        return ['', `?tenant=${b}`];
      case '/v1/runs/{run_id}/result':
        return ['', '?wait=false'];
      default:
        return [''];
    }
  }

  /** Extra headers naming b's things: the codec's namespace (b's is the shared one, which only the default tenant may decode). */
  const headerSets = (template: string): Array<Record<string, string>> =>
    template.startsWith('/codec/') ? [{}, { 'x-namespace': stack.config.namespace }] : [{}];

  test("no route answers tenant a's admin with tenant b's data", async () => {
    // Submitting a definition under b's id makes a's own; it runs last, after the lookups.
    const cases = routes
      .filter(({ method, template }) => !(method === 'POST' && template === '/v1/definitions'))
      .flatMap(({ method, template }) =>
        queriesFor(template).flatMap((query) =>
          bodiesFor(method, template).flatMap((body) =>
            headerSets(template).map((extra) => ({
              method,
              template,
              query,
              body,
              extra,
            })),
          ),
        ),
      );
    const leaks = (
      await bounded(cases, 4, async ({ method, template, query, body, extra }) => {
        const target = `${path(template)}${query}`;
        const response = await client.send(
          method,
          target,
          { ...aAdmin, ...extra },
          body === undefined ? undefined : JSON.stringify(body),
        );
        const what = `${method} ${target} ${body === undefined ? '' : JSON.stringify(body)} ${JSON.stringify(extra)}`;
        if (response.status >= 500) return `${what}: ${response.status} ${response.text.slice(0, 200)}`;
        // Error messages may echo the ids a sent; nothing else of b's may appear.
        const shown = response.text.split(definitionId).join('').split(runId).join('').split(`${MARKER}-new`).join('');
        const echoed = shown
          .split(`${MARKER}-evt`)
          .join('')
          .split(`key:${MARKER}-admin`)
          .join('')
          .split(connectionName)
          .join('');
        if (echoed.includes(MARKER))
          return `${what}: ${response.status} shows b's data: ${response.text.slice(0, 300)}`;
        if (template === '/v1/tenants' && response.text.includes(b)) return `${what}: lists tenant b`;
        if (template === '/v1/definitions/validate' && JSON.stringify(body).includes(connectionName)) {
          if (response.status !== 400) return `${what}: ${response.status}, b's connection was accepted`;
        }
        for (const field of ['event_id', 'run_id']) {
          const id = (body as Record<string, unknown> | undefined)?.[field];
          if (typeof id !== 'string' || !id.includes('/')) continue;
          const paths = (response.body?.error?.details as Array<{ path: string }> | undefined)?.map((d) => d.path);
          if (response.status !== 400 || !paths?.includes(`/${field}`))
            return `${what}: ${response.status} ${response.text.slice(0, 200)}, expected 400 naming /${field}`;
        }
        if (template === '/v1/events' && response.status === 202) {
          const reached = [...response.body.delivered_to, ...response.body.started];
          if (reached.length > 0) return `${what}: reached ${reached.join(', ')}`;
        }
        if (template.startsWith('/codec/') && 'x-namespace' in extra && response.status !== 403)
          return `${what}: ${response.status}`;
        if (
          [
            '/v1/keys',
            '/v1/keys/{key_id}',
            '/v1/tenants/{tenant}',
            '/v1/runs/{run_id}',
            '/v1/runs/{run_id}/result',
            '/v1/runs/{run_id}/lineage',
            '/v1/runs/{run_id}/nodes/{node}/input',
            '/v1/definitions/{id}',
            '/v1/definitions/{id}/versions',
            '/v1/definitions/{id}/versions/{version}',
            '/v1/definitions/{id}/versions/{a}/diff/{b}',
            '/v1/definitions/{id}/history',
            '/v1/definitions/{id}/stats',
            '/v1/definitions/{id}/active',
            '/v1/definitions/{id}/versions/{version}/approvals',
            '/v1/runs/{run_id}/variables',
            '/v1/runs/{run_id}/approvals/{node}',
            '/v1/hooks/{definition_id}',
            '/v1/templates/{id}',
            '/v1/templates/{id}/instantiate',
            '/v1/connections/{name}',
            '/v1/connections/{name}/test',
          ].includes(template) &&
          !(template === '/v1/keys' && method === 'GET') &&
          response.status < 400
        )
          return `${what}: ${response.status}, b's ${template} was found`;
        if (/^\/v1\/runs\/\{run_id\}\/(pause|resume|cancel|retry|skip)$/.test(template) && response.status < 400)
          return `${what}: ${response.status}, b's run was steered`;
        return undefined;
      })
    ).filter((p): p is string => p !== undefined);
    assert.deepEqual(leaks, []);

    const own = await stack.call('POST', '/v1/definitions', bodiesFor('POST', '/v1/definitions')[0], aAdmin);
    assert.equal(own.status, 201, JSON.stringify(own.body));
    assert.equal(own.body.version, '1', "a's definition of that id is a's own, its first version");
    assert.ok(!JSON.stringify(own.body).includes(`${MARKER} description`));
  });

  test("a task of tenant a naming b's secret never sends it (nor the default tenant's)", async () => {
    const id = `${MARKER}-secrets`;
    const call = (node: string, authorization: string) => ({
      id: node,
      type: 'task',
      connector: 'http',
      action: 'request',
      inputs: { url: `${target.url}/echo`, headers: { authorization } },
      retry_policy: { max_attempts: 1 },
    });
    const submitted = await stack.call(
      'POST',
      '/v1/definitions',
      {
        id,
        nodes: [
          // The secrets file's own name for b's secret: not a reference at all ('/' is not in a
          // secret's name), so the text is sent as it is.
          call('prefixed', `secret:${b}/${SECRET_NAME}`),
          // A name b (and the default tenant) have and a has not: not found in a.
          call('plain', `secret:${SECRET_NAME}`),
          { id: 'caught', type: 'set', assign: { caught: 'true' } },
        ],
        edges: [
          { from: 'prefixed', to: 'plain' },
          { from: 'plain', to: 'caught', on: 'error' },
        ],
      },
      aAdmin,
    );
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    const run = await stack.call('POST', `/v1/definitions/${id}/runs`, { input: {} }, aAdmin);
    assert.equal(run.status, 201, JSON.stringify(run.body));
    let outcome = await stack.call('GET', `/v1/runs/${run.body.run_id as string}/result?wait=true`, undefined, aAdmin);
    for (let i = 0; i < 10 && outcome.body.status === 'running'; i++)
      outcome = await stack.call('GET', `/v1/runs/${run.body.run_id as string}/result?wait=true`, undefined, aAdmin);
    assert.equal(outcome.body.status, 'completed', JSON.stringify(outcome.body));
    const state = await stack.call('GET', `/v1/runs/${run.body.run_id as string}`, undefined, aAdmin);
    assert.equal(state.status, 200, JSON.stringify(state.body));
    assert.equal(state.body.nodes.prefixed?.status, 'completed', JSON.stringify(state.body.nodes.prefixed));
    assert.deepEqual(state.body.nodes.prefixed.output.body, { seen: `secret:${b}/${SECRET_NAME}` });
    assert.equal(state.body.nodes.plain?.error?.type, 'SecretNotFound', JSON.stringify(state.body.nodes.plain));
    const seen = JSON.stringify(target.requests);
    assert.equal(target.requests.length, 1, `the target saw ${seen}`);
    for (const value of [bSecret, defaultSecret]) {
      assert.ok(!seen.includes(value), `a secret of another tenant reached the target: ${seen}`);
      assert.ok(
        !JSON.stringify([outcome.body, state.body]).includes(value),
        'a secret of another tenant is in the run',
      );
    }
  });

  test("afterwards, tenant b's definition, run, key, settings and audit log are as b left them", async () => {
    const definition = await stack.call('GET', `/v1/definitions/${definitionId}`, undefined, bAdmin);
    assert.equal(definition.status, 200);
    assert.equal(definition.body.version, '1');
    const versions = await stack.call('GET', `/v1/definitions/${definitionId}/versions`, undefined, bAdmin);
    assert.equal(versions.body.items.length, 1, JSON.stringify(versions.body));
    const history = await stack.call('GET', `/v1/definitions/${definitionId}/history`, undefined, bAdmin);
    assert.ok(
      (history.body.items as Array<{ actor: string }>).every((h) => h.actor === `key:${MARKER}-admin`),
      JSON.stringify(history.body),
    );
    const state = await waitForGate();
    assert.equal(state.status, 'running');
    assert.equal(state.variables.who, `${MARKER}-input`, 'b’s variables are untouched');
    assert.equal(state.nodes.ping?.status ?? 'pending', 'pending', JSON.stringify(state.nodes.ping));
    const runs = await stack.call('GET', '/v1/runs', undefined, bAdmin);
    assert.deepEqual(
      (runs.body.items as Array<{ run_id: string }>).map((r) => r.run_id),
      [runId],
      'no run was started in b',
    );
    const template = await stack.call('GET', `/v1/templates/${definitionId}`, undefined, bAdmin);
    assert.equal(template.status, 200, 'b’s template is still there');
    assert.equal(template.body.description, `${MARKER} template description`);
    const aTemplate = await stack.call('GET', `/v1/templates/${definitionId}`, undefined, aAdmin);
    assert.equal(aTemplate.status, 404, "b's template is 404 to a");
    const newDefinition = await stack.call('GET', `/v1/definitions/${MARKER}-new`, undefined, bAdmin);
    assert.equal(newDefinition.status, 404, 'no definition was instantiated into b');
    const who = await stack.call('GET', '/v1/whoami', undefined, bAdmin);
    assert.equal(who.status, 200, 'b’s key was not revoked');
    const keys = await stack.call('GET', '/v1/keys', undefined, bAdmin);
    assert.deepEqual(
      (keys.body.items as Array<{ name: string }>).map((k) => k.name),
      [`${MARKER}-admin`],
      'no key was made for b',
    );
    const tenant = await stack.call('GET', `/v1/tenants/${b}`, undefined, bAdmin);
    assert.equal(tenant.status, 200, JSON.stringify(tenant.body));
    assert.notEqual(tenant.body.four_eyes, true, 'b’s settings are untouched');
    const connections = await stack.call('GET', '/v1/connections', undefined, bAdmin);
    assert.deepEqual(
      (connections.body.items as Array<{ name: string; version: number }>).map((c) => [c.name, c.version]),
      [[connectionName, 1]],
      'b’s connection is untouched and no connection was made in b',
    );
    const audit = await stack.call('GET', '/v1/audit?limit=1000', undefined, bAdmin);
    assert.deepEqual(
      [...new Set((audit.body.items as Array<{ actor: string }>).map((e) => e.actor))],
      [`key:${MARKER}-admin`],
      'b’s audit log names only b’s callers',
    );
  });
});
