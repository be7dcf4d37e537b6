/** Every example under examples/ is valid, and the README's first example runs to its documented result. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { ConnectorRegistry } from '../../activities/connectors/registry.js';
import { validateDefinition } from '../../interpreter/validate-definition.js';
import { startTestStack, type TestStack } from '../support/gateway.js';

const examplesDir = fileURLToPath(new URL('../../../examples/', import.meta.url));
const examples = readdirSync(examplesDir).filter((f) => f.endsWith('.json'));
const load = (file: string) => JSON.parse(readFileSync(`${examplesDir}${file}`, 'utf8')) as Record<string, unknown>;

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

describe('examples', () => {
  test('there are examples', () => assert.ok(examples.length > 0));
  for (const file of examples) {
    test(`${file} is a valid definition`, () => {
      const result = validateDefinition(load(file), new ConnectorRegistry().catalog());
      assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    });
  }

  test('hello-gateway.json runs through the gateway to the documented summary', async () => {
    const submitted = await stack.call('POST', '/v1/definitions', load('hello-gateway.json'));
    assert.ok([200, 201].includes(submitted.status), JSON.stringify(submitted.body));
    const started = await stack.call('POST', '/v1/definitions/hello-gateway/runs', {
      input: { gateway_url: stack.gateway.url },
    });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const result = await stack.call('GET', `/v1/runs/${started.body.run_id}/result?wait=true`);
    assert.equal(result.body.status, 'completed', JSON.stringify(result.body));
    assert.equal(result.body.result.summary, 'Hello: the gateway is ok and stores 1 definition(s)');
  });
});
