/**
 * Tenant isolation through a real gateway and worker: two tenants use the same definition id
 * and the same run id without meeting, and every cross-tenant attempt (read, list, control,
 * event delivery, webhook, subworkflow reference, audit) fails. A tenant mapped to its own task
 * queue has its runs served there.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { signedHeaders } from '../../src/gateway/webhook-signature.js';
import type { RunningWorker } from '../../src/worker/create-worker.js';
import { bearer, createKey, putTenant } from '../support/access.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { startTestWorker, unique } from '../support/temporal.js';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { ensureSearchAttributes } from '../../src/temporal/register-search-attributes.js';
import { TenantKey } from '../../src/shared/search-attributes.js';
import { startWorker } from '../../src/worker/create-worker.js';
import { openDefinitionStore } from '../../src/store/open-store.js';
import type { DefinitionStore } from '../../src/store/definition-store.js';
import { until } from '../support/poll.js';

const waiting = (id: string, eventType: string) => ({
  id,
  variables: [{ name: 'who', type: 'string', default: 'x' }],
  triggers: [{ type: 'webhook' }],
  nodes: [
    { id: 'hello', type: 'set', assign: { who: '"hello " & vars.who' } },
    { id: 'ping', type: 'event', event_type: eventType, correlation_key: '"k"', output: 'got' },
  ],
  edges: [{ from: 'hello', to: 'ping' }],
});

describe('tenant isolation', () => {
  let stack: TestStack;
  let acme: string;
  let globex: string;
  const events = unique('ping');
  const [acmeTenant, globexTenant] = [unique('acme'), unique('globex')];

  const hookSecretName = `HOOK_${unique('k').replace('-', '_')}`;

  before(async () => {
    // A webhook secret of the same name for the default tenant (environment) and for acme (file).
    process.env[hookSecretName] = 'default-tenant-secret';
    const secrets = join(mkdtempSync(join(tmpdir(), 'weft-tenant-secrets-')), 'secrets.json');
    writeFileSync(secrets, JSON.stringify({ [`${acmeTenant}/${hookSecretName}`]: 'acme-secret' }));
    stack = await startTestStack({ env: { WEFT_SECRETS_FILE: secrets } });
    const admin = await createKey(stack, 'root', ['admin']);
    await putTenant(stack, admin, acmeTenant);
    await putTenant(stack, admin, globexTenant);
    acme = await createKey(stack, 'acme-dev', ['editor'], { adminKey: admin, tenant: acmeTenant });
    globex = await createKey(stack, 'globex-dev', ['editor'], { adminKey: admin, tenant: globexTenant });
  });

  after(async () => {
    await stack?.close();
  });

  test('the same definition id and run id in two tenants never meet; nothing crosses over', async () => {
    const as = (key: string) => bearer(key);
    for (const key of [acme, globex]) {
      const submitted = await stack.call('POST', '/v1/definitions', waiting('orders', events), as(key));
      assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
      assert.deepEqual([submitted.body.id, submitted.body.version], ['orders', '1']);
    }
    const acmeOnly = await stack.call('POST', '/v1/definitions', { ...waiting('acme-only', events) }, as(acme));
    assert.equal(acmeOnly.status, 201);

    // The same caller-chosen run id in both tenants: two runs.
    const a = await stack.call('POST', '/v1/definitions/orders/runs', { run_id: 'r1', input: { who: 'a' } }, as(acme));
    const g = await stack.call(
      'POST',
      '/v1/definitions/orders/runs',
      { run_id: 'r1', input: { who: 'g' } },
      as(globex),
    );
    assert.deepEqual([a.status, g.status], [201, 201], JSON.stringify([a.body, g.body]));
    assert.equal(a.body.run_id, 'r1');
    const other = await stack.call('POST', '/v1/definitions/acme-only/runs', {}, as(acme));
    assert.equal(other.status, 201);
    const acmeRun = other.body.run_id as string;

    // Reads and lists.
    assert.equal((await stack.call('GET', '/v1/definitions/acme-only', undefined, as(globex))).status, 404);
    assert.equal((await stack.call('GET', '/v1/definitions/acme-only/versions', undefined, as(globex))).status, 404);
    assert.equal((await stack.call('GET', `/v1/runs/${acmeRun}`, undefined, as(globex))).status, 404);
    assert.equal((await stack.call('GET', `/v1/runs/${acmeRun}/result`, undefined, as(globex))).status, 404);
    const definitions = await stack.call('GET', '/v1/definitions', undefined, as(globex));
    assert.deepEqual(
      definitions.body.items.map((d: { id: string }) => d.id),
      ['orders'],
    );
    const waitForState = (key: string, runId: string) =>
      until(
        `run ${runId} to wait for its event`,
        async () => {
          const state = await stack.call('GET', `/v1/runs/${runId}`, undefined, as(key));
          return state.status === 200 && state.body.nodes?.ping?.status === 'waiting' ? state.body : undefined;
        },
        180_000,
        100,
      );
    assert.equal((await waitForState(acme, 'r1')).variables.who, 'hello a');
    assert.equal((await waitForState(globex, 'r1')).variables.who, 'hello g');
    const listed = await until(
      'globex to list a run',
      async () => {
        const items: string[] = (await stack.call('GET', '/v1/runs', undefined, as(globex))).body.items.map(
          (r: { run_id: string }) => r.run_id,
        );
        return items.length >= 1 ? items : undefined;
      },
      180_000,
      100,
    );
    assert.deepEqual(listed, ['r1'], 'globex lists its own run only');

    // Control.
    const cancel = await stack.call('POST', `/v1/runs/${acmeRun}/cancel`, {}, as(globex));
    assert.equal(cancel.status, 404);
    const patch = await stack.call(
      'PATCH',
      `/v1/runs/${acmeRun}/variables`,
      { variables: { who: 'evil' } },
      as(globex),
    );
    assert.equal(patch.status, 404);

    // Events: globex's event reaches globex's run only.
    const sent = await stack.call(
      'POST',
      '/v1/events',
      { event_type: events, correlation_key: 'k', payload: { from: 'globex' } },
      as(globex),
    );
    assert.equal(sent.status, 202);
    assert.ok(
      sent.body.delivered_to.every((r: string) => r === 'r1'),
      JSON.stringify(sent.body),
    );
    const globexResult = await stack.call('GET', '/v1/runs/r1/result?wait=true', undefined, as(globex));
    assert.deepEqual(globexResult.body.result.got, { from: 'globex' });
    const stillWaiting = await stack.call('GET', '/v1/runs/r1', undefined, as(acme));
    assert.equal(stillWaiting.body.status, 'running', "acme's r1 did not get globex's event");
    assert.equal(stillWaiting.body.nodes.ping.status, 'waiting');

    // Webhooks: another tenant's definition is not found; unsigned anonymous calls are refused.
    assert.equal((await stack.call('POST', '/v1/hooks/acme-only', {}, as(globex))).status, 404);
    assert.equal((await stack.call('POST', `/v1/hooks/acme-only?tenant=${acmeTenant}`, {})).status, 401);
    const hooked = await stack.call('POST', '/v1/hooks/acme-only', { who: 'hook' }, as(acme));
    assert.equal(hooked.status, 202);

    // Audit: each tenant sees its own entries only.
    const audit = await stack.call('GET', '/v1/audit?action=run.start', undefined, as(globex));
    assert.deepEqual([...new Set(audit.body.items.map((e: { actor: string }) => e.actor))], ['key:globex-dev']);

    // Clean up the waiting runs.
    for (const [key, runId] of [
      [acme, 'r1'],
      [acme, acmeRun],
      [acme, hooked.body.run_id],
    ] as const)
      await stack.call('POST', `/v1/runs/${runId}/cancel`, {}, as(key));
  });

  test("a tenant's webhook secret is its own, never the gateway's environment", async () => {
    const definition = {
      id: 'signed',
      nodes: [{ id: 'a', type: 'set', assign: { x: '1' } }],
      triggers: [{ type: 'webhook', secret: hookSecretName }],
    };
    assert.equal((await stack.call('POST', '/v1/definitions', definition, bearer(acme))).status, 201);
    const body = JSON.stringify({});
    const sign = (secret: string) => signedHeaders(body, secret);
    const path = `/v1/hooks/signed?tenant=${acmeTenant}`;
    assert.equal((await stack.call('POST', path, body, sign('default-tenant-secret'))).status, 401);
    const accepted = await stack.call('POST', path, body, sign('acme-secret'));
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    const result = await stack.call(
      'GET',
      `/v1/runs/${accepted.body.run_id}/result?wait=true`,
      undefined,
      bearer(acme),
    );
    assert.equal(result.body.status, 'completed');
  });

  test('a subworkflow can only name definitions of its own tenant', async () => {
    const child = {
      id: 'greeter',
      variables: [{ name: 'greeting', type: 'string' }],
      nodes: [{ id: 'say', type: 'set', assign: { greeting: '"hi from child"' } }],
      edges: [],
    };
    const parent = {
      id: 'caller',
      variables: [{ name: 'answer', type: 'object' }],
      nodes: [{ id: 'call', type: 'subworkflow', definition: 'greeter', inputs: {}, output: 'answer' }],
      edges: [],
    };
    assert.equal((await stack.call('POST', '/v1/definitions', child, bearer(acme))).status, 201);
    for (const key of [acme, globex])
      assert.equal((await stack.call('POST', '/v1/definitions', parent, bearer(key))).status, 201);
    const ok = await stack.call('POST', '/v1/definitions/caller/runs', {}, bearer(acme));
    const refused = await stack.call('POST', '/v1/definitions/caller/runs', {}, bearer(globex));
    const okResult = await stack.call('GET', `/v1/runs/${ok.body.run_id}/result?wait=true`, undefined, bearer(acme));
    assert.equal(okResult.body.status, 'completed', JSON.stringify(okResult.body));
    assert.equal(okResult.body.result.answer.greeting, 'hi from child');
    const refusedResult = await stack.call(
      'GET',
      `/v1/runs/${refused.body.run_id}/result?wait=true`,
      undefined,
      bearer(globex),
    );
    assert.equal(refusedResult.body.status, 'failed');
    assert.equal(refusedResult.body.error.type, 'DefinitionNotFound', JSON.stringify(refusedResult.body));
  });
});

describe('a tenant mapped to its own task queue', () => {
  let stack: TestStack;
  let worker: RunningWorker;
  let definitions: DefinitionStore;

  before(async () => {
    // The stack's own worker does not poll the tenant's queue: only the tenant's worker can run it.
    stack = await startTestStack({ worker: false });
    definitions = await openDefinitionStore(stack.config.databaseUrl);
  });

  after(async () => {
    await worker?.shutdown();
    await definitions?.close();
    await stack?.close();
  });

  test("the tenant's runs go to its queue and its worker runs them", async () => {
    const admin = await createKey(stack, 'root', ['admin']);
    const tenant = unique('initech');
    const queue = unique('initech-queue');
    await putTenant(stack, admin, tenant, { task_queue: queue });
    const key = await createKey(stack, 'initech-ops', ['editor'], { adminKey: admin, tenant });
    worker = await startTestWorker(queue, { definitions });
    const definition = { id: 'hello', nodes: [{ id: 'say', type: 'set', assign: { said: '"hi"' } }], edges: [] };
    assert.equal((await stack.call('POST', '/v1/definitions', definition, bearer(key))).status, 201);
    const started = await stack.call('POST', '/v1/definitions/hello/runs', {}, bearer(key));
    const result = await stack.call('GET', `/v1/runs/${started.body.run_id}/result?wait=true`, undefined, bearer(key));
    assert.equal(result.body.status, 'completed', JSON.stringify(result.body));
    const connection = await Connection.connect({ address: stack.config.temporalAddress });
    try {
      const client = new Client({ connection, namespace: stack.config.namespace });
      const info = await client.workflow.getHandle(`${tenant}/${started.body.run_id}`).describe();
      assert.equal(info.taskQueue, queue);
      assert.equal(info.memo?.started_by, 'key:initech-ops', 'the run records who started it');
      assert.equal(info.typedSearchAttributes.get(TenantKey), tenant);
    } finally {
      await connection.close();
    }
  });
});

describe('a tenant mapped to a Temporal namespace of its own', () => {
  let stack: TestStack;
  let worker: RunningWorker | undefined;
  let definitions: DefinitionStore;
  const namespace = unique('weft-tenant-ns');

  before(async () => {
    stack = await startTestStack({ worker: false });
    definitions = await openDefinitionStore(stack.config.databaseUrl);
    const connection = await Connection.connect({ address: stack.config.temporalAddress });
    try {
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs('1 day'),
      });
      await ensureSearchAttributes(connection, namespace);
      // A new namespace reaches the server's caches within seconds; wait until it lists.
      const client = new Client({ connection, namespace });
      await until('the new namespace to list', async () => {
        await client.workflow.count();
        return true;
      });
    } finally {
      await connection.close();
    }
  });

  after(async () => {
    await worker?.shutdown();
    await definitions?.close();
    await stack?.close();
  });

  test("the tenant's runs live in its namespace, served by its own worker", async () => {
    const admin = await createKey(stack, 'root', ['admin']);
    const tenant = unique('umbrella');
    const queue = unique('umbrella-queue');
    await putTenant(stack, admin, tenant, { namespace, task_queue: queue });
    const key = await createKey(stack, 'umbrella-ops', ['editor'], { adminKey: admin, tenant });
    worker = await startWorker({ address: stack.config.temporalAddress, namespace, taskQueue: queue, definitions });
    const definition = { id: 'hello', nodes: [{ id: 'say', type: 'set', assign: { said: '"hi"' } }], edges: [] };
    assert.equal((await stack.call('POST', '/v1/definitions', definition, bearer(key))).status, 201);
    const started = await stack.call('POST', '/v1/definitions/hello/runs', { run_id: 'ns-run' }, bearer(key));
    assert.equal(started.status, 201, JSON.stringify(started.body));
    assert.match(started.body.ui_url, new RegExp(`/namespaces/${namespace}/`));
    const result = await stack.call('GET', '/v1/runs/ns-run/result?wait=true', undefined, bearer(key));
    assert.equal(result.body.status, 'completed', JSON.stringify(result.body));
    const connection = await Connection.connect({ address: stack.config.temporalAddress });
    try {
      const workflowId = `${tenant}/ns-run`;
      const own = await new Client({ connection, namespace }).workflow.getHandle(workflowId).describe();
      assert.equal(own.taskQueue, queue);
      const shared = new Client({ connection, namespace: stack.config.namespace });
      await assert.rejects(shared.workflow.getHandle(workflowId).describe(), /not found/i);
    } finally {
      await connection.close();
    }
  });
});
