/**
 * The connector registry and the `runConnector` entry point without a Temporal server
 * (MockActivityEnvironment): the catalog and JSON Schemas, connections opened once and closed
 * on shutdown, failures keeping their retry delay.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { z } from 'zod';
import { defineAction, defineConnector } from '../../activities/connectors/connector.js';
import { allowEgress } from '../support/egress.js';
import { ConnectorRegistry } from '../../activities/connectors/registry.js';
import { createActivities } from '../../activities/index.js';
import type { ConnectorCall } from '../../interpreter/commands.js';

/** The mock environment logs every activity failure; these failures are the point of the tests. */
const quiet = { logger: new DefaultLogger('ERROR', () => undefined) };

describe('connector registry', () => {
  test('the catalog lists every built-in connector and its actions', () => {
    assert.deepEqual(new ConnectorRegistry().catalog(), {
      http: ['request'],
      postgres: ['query', 'transaction'],
      nats: ['publish', 'request'],
      redis: ['get', 'set', 'incr'],
      email: ['send'],
    });
  });

  test('paramsSchemas gives each action its params as input-side JSON Schema', () => {
    const schemas = new ConnectorRegistry().paramsSchemas();
    assert.deepEqual(Object.keys(schemas), ['http', 'postgres', 'nats', 'redis', 'email']);
    const http = schemas.http?.request as any;
    assert.equal(http.type, 'object');
    // Fields with defaults are optional on the input side.
    assert.deepEqual(http.required, ['url']);
    assert.equal(http.additionalProperties, false);
    // No default of its own: absent, the worker's WEFT_MAX_RESPONSE_BYTES applies.
    assert.equal(http.properties.max_response_bytes.default, undefined);
    assert.equal(http.properties.max_response_bytes.exclusiveMinimum, 0);
    assert.deepEqual((schemas.postgres?.transaction as any).required, ['statements']);
    assert.deepEqual((schemas.redis?.set as any).required, ['key', 'value']);
    assert.deepEqual((schemas.email?.send as any).required, ['to', 'subject']);
  });

  test('a connection is opened once, on first use, with the injected settings, and closed on close()', async () => {
    const events: string[] = [];
    let failNext = true;
    const probe = defineConnector<{ url: string }>({
      service_type: 'probe',
      connect(env) {
        events.push(`connect ${env.PROBE_URL}`);
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error('refused'));
        }
        return Promise.resolve({ url: env.PROBE_URL ?? '' });
      },
      disconnect: (c) => Promise.resolve(void events.push(`disconnect ${c.url}`)),
      actions: {
        echo: defineAction({ params: z.object({ v: z.number() }), execute: (c, p) => Promise.resolve({ ...c, ...p }) }),
      },
    });
    const registry = new ConnectorRegistry({ connectors: [probe], env: { PROBE_URL: 'probe://x' } });
    assert.deepEqual(events, [], 'nothing is opened before it is needed');

    const first = await registry.connection(probe, 'default').catch((e: unknown) => e);
    assert.ok(first instanceof ApplicationFailure);
    assert.equal(first.type, 'ConnectionError');
    assert.match(first.message, /probe: cannot connect: refused/);

    const [a, b] = await Promise.all([registry.connection(probe, 'default'), registry.connection(probe, 'default')]);
    assert.equal(a, b);
    assert.deepEqual(events, ['connect probe://x', 'connect probe://x']);
    await registry.close();
    assert.deepEqual(events.at(-1), 'disconnect probe://x');
  });

  test("a pooled connection's target is checked per tenant; one tenant's refused connect is not another's answer", async () => {
    let connects = 0;
    const probe = defineConnector<{ n: number }>({
      service_type: 'probe',
      targets: () => [{ host: '127.0.0.1', port: 6553 }],
      connect: (_env, pinned) => {
        assert.deepEqual(pinned[0]?.addresses, [{ address: '127.0.0.1', family: 4 }]);
        return Promise.resolve({ n: ++connects });
      },
      disconnect: () => Promise.resolve(),
      actions: {},
    });
    const registry = new ConnectorRegistry({ connectors: [probe], env: { WEFT_EGRESS_ALLOW_ACME: '127.0.0.1:6553' } });
    // Started together: the default tenant's connect (refused) begins first.
    const [refused, allowed] = await Promise.allSettled([
      registry.connection(probe, 'default'),
      registry.connection(probe, 'acme'),
    ]);
    assert.equal(refused.status, 'rejected');
    assert.ok(refused.status === 'rejected' && refused.reason instanceof ApplicationFailure);
    assert.equal(refused.reason.type, 'EgressDenied');
    assert.deepEqual(allowed, { status: 'fulfilled', value: { n: 1 } });
    // The pool acme opened stays refused to the default tenant.
    const again = await registry.connection(probe, 'default').catch((e: unknown) => e);
    assert.ok(again instanceof ApplicationFailure && again.type === 'EgressDenied');
    assert.equal(connects, 1);
    await registry.close();
  });

  test('runConnector keeps the server-given retry delay and the attempt on a failure', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(429, { 'retry-after': '7' });
      res.end('slow down');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const revoke = allowEgress(`127.0.0.1:${port}`);
    try {
      const activities = createActivities();
      const env = new MockActivityEnvironment({ attempt: 4 }, quiet);
      const err = await env
        .run((call: ConnectorCall) => activities.runConnector(call), {
          connector: 'http',
          action: 'request',
          params: { url: `http://127.0.0.1:${port}/x` },
        })
        .catch((e: unknown) => e);
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, 'HttpError');
      assert.equal(err.nonRetryable, false);
      assert.equal(err.nextRetryDelay, 7_000);
      assert.deepEqual(err.details, [{ attempt: 4, detail: { status: 429, body: 'slow down' } }]);
    } finally {
      revoke();
      server.close();
    }
  });

  test('an unknown connector action is a non-retryable UnknownConnector', async () => {
    const activities = createActivities();
    const err = await new MockActivityEnvironment({}, quiet)
      .run((call: ConnectorCall) => activities.runConnector(call), { connector: 'ftp', action: 'get', params: {} })
      .catch((e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, 'UnknownConnector');
    assert.equal(err.nonRetryable, true);
  });
});
