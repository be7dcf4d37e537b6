/**
 * Queues and worker pools as configured: `WEFT_CONNECTOR_QUEUES` and `WEFT_WORKER_QUEUES` read by
 * `loadConfig` (every mistake names its variable and entry), the queues a worker serves, which
 * runs get the table, and that the gateway puts it in the start args of every run it starts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { builtInConnectors } from '../../activities/connectors/registry.js';
import { loadConfig } from '../../src/config.js';
import { RunService } from '../../src/gateway/run-service.js';
import {
  ROUTABLE,
  parseConnectorQueues,
  parseWorkerQueues,
  runConnectorQueues,
  servedQueues,
} from '../../src/shared/connector-queues.js';
import { versioned } from '../support/runs.js';

/** The message `loadConfig` throws for `env`. */
function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail(`expected ${JSON.stringify(env)} to be refused`);
}

describe('WEFT_CONNECTOR_QUEUES', () => {
  test('routes each named connector (and ai) to its queue; unset or empty routes nothing', () => {
    const config = loadConfig({ WEFT_CONNECTOR_QUEUES: ' postgres = weft-heavy , ai=weft-ai,' });
    assert.deepEqual(config.connectorQueues, { postgres: 'weft-heavy', ai: 'weft-ai' });
    assert.equal(loadConfig({}).connectorQueues, undefined);
    assert.equal(loadConfig({ WEFT_CONNECTOR_QUEUES: '' }).connectorQueues, undefined);
    assert.equal(loadConfig({ WEFT_CONNECTOR_QUEUES: ' , ' }).connectorQueues, undefined);
  });

  const refusals: Array<{ value: string; message: RegExp }> = [
    { value: 'postgres', message: /entry "postgres": expected <connector>=<task queue>/ },
    { value: 'postgrs=heavy', message: /entry "postgrs=heavy": unknown connector "postgrs" \(expected one of http, / },
    { value: 'http=', message: /entry "http=": expected a task queue name, got nothing/ },
    { value: '=heavy', message: /entry "=heavy": unknown connector ""/ },
    { value: 'http=a b', message: /entry "http=a b": expected a task queue name without spaces/ },
    { value: 'redis=/_sys/x', message: /entry "redis=\/_sys\/x": "\/_sys\/x" starts with \/_sys\// },
    { value: `nats=${'q'.repeat(1001)}`, message: /at most 1000 characters/ },
    { value: 'http=a,http=b', message: /entry "http=b": http is routed twice \(to a and to b\)/ },
    { value: 'toString=a', message: /unknown connector "toString"/ },
  ];
  for (const { value, message } of refusals) {
    test(`refuses ${JSON.stringify(value.slice(0, 40))}, naming the variable and the entry`, () => {
      const error = configError({ WEFT_CONNECTOR_QUEUES: value });
      assert.match(error, /^invalid configuration: WEFT_CONNECTOR_QUEUES: /);
      assert.match(error, message);
    });
  }

  test('what can be routed is every built-in connector and ai', () => {
    assert.deepEqual([...ROUTABLE].sort(), [...builtInConnectors.map((c) => c.service_type), 'ai'].sort());
  });
});

describe('WEFT_WORKER_QUEUES and the queues a worker serves', () => {
  test('a list of queues; empty means unset', () => {
    assert.deepEqual(loadConfig({ WEFT_WORKER_QUEUES: 'weft-heavy, weft-ai' }).workerQueues, ['weft-heavy', 'weft-ai']);
    assert.equal(loadConfig({ WEFT_WORKER_QUEUES: '' }).workerQueues, undefined);
  });

  test('a repeated or bad queue is refused naming the entry', () => {
    assert.match(configError({ WEFT_WORKER_QUEUES: 'a,a' }), /WEFT_WORKER_QUEUES: entry "a": listed twice/);
    assert.match(
      configError({ WEFT_WORKER_QUEUES: 'a,b c' }),
      /WEFT_WORKER_QUEUES: entry "b c": expected a task queue/,
    );
    assert.throws(() => parseWorkerQueues(' , '), /expected a comma-separated list of task queues/);
  });

  test('given queues are served as given; by default the main queue and every routed one, once each', () => {
    const table = parseConnectorQueues('postgres=heavy,redis=heavy,ai=weft-ai,http=weft');
    assert.deepEqual(servedQueues('weft', table, ['heavy']), ['heavy']);
    assert.deepEqual(servedQueues('weft', table, undefined), ['weft', 'heavy', 'weft-ai']);
    assert.deepEqual(servedQueues('weft', undefined, undefined), ['weft']);
  });
});

describe('which runs are routed', () => {
  const table = { postgres: 'weft-heavy' };
  const main = { namespace: 'default', taskQueue: 'weft' };

  test('runs on the gateway placement get the table as is; a tenant on its own queue or namespace gets none', () => {
    assert.equal(runConnectorQueues(table, main, { namespace: 'default', taskQueue: 'weft' }), table);
    assert.equal(runConnectorQueues(table, main, { namespace: 'default', taskQueue: 'acme' }), undefined);
    assert.equal(runConnectorQueues(table, main, { namespace: 'acme-ns', taskQueue: 'weft' }), undefined);
    assert.equal(runConnectorQueues(undefined, main, main), undefined);
  });

  test('the gateway pins the table in the start args (and leaves it out without one)', () => {
    const definition = versioned({ id: 'routed', nodes: [{ id: 'end', type: 'end' }], edges: [] });
    const client = {} as Client;
    const routed = new RunService({
      client,
      taskQueue: 'weft',
      namespace: 'default',
      uiUrl: 'http://ui',
      connectorQueues: table,
    });
    const [args] = routed.workflowOptions(definition, {}).args;
    assert.deepEqual(args?.connector_queues, table);
    const plain = new RunService({ client, taskQueue: 'weft', namespace: 'default', uiUrl: 'http://ui' });
    assert.equal('connector_queues' in (plain.workflowOptions(definition, {}).args[0] ?? {}), false);
  });
});
