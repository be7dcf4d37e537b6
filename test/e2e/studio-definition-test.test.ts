/**
 * weft Studio in Chromium (issue 15): the Designer runs a definition test of the draft. Input
 * and mocks typed into their JSON editors, "Run test" clicked; the panel shows the status, the
 * path and each node's outcome, and the graph marks the nodes on the path with their status.
 * A mock the API refuses shows its problem; JSON that does not parse blocks the button. The
 * task's URL points at a local server that counts requests: a test must call nothing.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { screenshot, openStudio } from '../support/studio.js';

let stack: TestStack;
let browser: Browser;
let target: HttpTarget;
const LONG = { timeout: 60_000 };

before(async () => {
  target = await startHttpTarget({ '/notify': (_req, res) => json(res, 200, { ok: true }) });
  stack = await startTestStack({ worker: false });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await stack?.close();
  await target?.close();
});

const tested = () => ({
  id: 'studio-tested',
  variables: [
    { name: 'n', type: 'number', required: true },
    { name: 'size', type: 'string', default: 'none' },
    { name: 'failed', type: 'boolean', default: false },
  ],
  nodes: [
    { id: 'check', type: 'condition', expression: 'vars.n > 1' },
    { id: 'big', type: 'set', assign: { size: "'big'" } },
    { id: 'small', type: 'set', assign: { size: "'small'" } },
    {
      id: 'notify',
      type: 'task',
      connector: 'http',
      action: 'request',
      inputs: { url: `${target.url}/notify` },
    },
    { id: 'oops', type: 'set', assign: { failed: 'true' } },
  ],
  edges: [
    { from: 'check', to: 'big', when: 'nodes.check.output' },
    { from: 'check', to: 'small', default: true },
    { from: 'big', to: 'notify' },
    { from: 'small', to: 'notify' },
    { from: 'notify', to: 'oops', on: 'error' },
  ],
});

test('the Designer tests its draft: typed input and mocks, the status, path and node outcomes, the path on the graph', async () => {
  const stored = await stack.call('POST', '/v1/definitions', tested());
  assert.equal(stored.status, 201, JSON.stringify(stored.body));
  const { page, problems } = await openStudio(browser, stack.gateway.url, '#/designer/studio-tested');
  await page.getByTestId('node-check').waitFor(LONG);
  await page.getByRole('button', { name: 'Test', exact: true }).click();
  const panel = page.getByTestId('test-panel');
  await panel.waitFor(LONG);

  // A mocked error: the error edge takes the run to "oops".
  await page.getByLabel('test input').fill('{ "n": 5 }');
  await page
    .getByLabel('test mocks')
    .fill('{ "notify": { "error": { "type": "HttpError", "message": "503 from the API" } } }');
  await panel.getByRole('button', { name: 'Run test' }).click();
  await panel.getByTestId('test-status').filter({ hasText: 'completed' }).waitFor(LONG);
  assert.equal(await panel.getByTestId('test-path').innerText(), 'check → big → notify → oops');
  assert.equal(await panel.getByTestId('test-node-notify').getAttribute('data-status'), 'failed');
  assert.match(await panel.getByTestId('test-node-notify').innerText(), /HttpError: 503 from the API/);
  assert.match((await panel.getByTestId('test-node-small').getAttribute('data-status')) ?? '', /^(pending|skipped)$/);
  // On the graph: the nodes of the path carry their test status, the branch not taken none.
  await page.getByTestId('node-oops').and(page.locator('[data-status="completed"]')).waitFor(LONG);
  assert.equal(await page.getByTestId('node-big').getAttribute('data-status'), 'completed');
  assert.equal(await page.getByTestId('node-notify').getAttribute('data-status'), 'failed');
  assert.equal(await page.getByTestId('node-small').getAttribute('data-status'), '');
  await screenshot(page, 'designer-test');

  // Another input and a mocked output: the other branch, and no error edge.
  await page.getByLabel('test input').fill('{ "n": 0 }');
  await page.getByLabel('test mocks').fill('{ "notify": { "output": { "status": 200 } } }');
  await panel.getByRole('button', { name: 'Run test' }).click();
  await panel.getByTestId('test-path').filter({ hasText: 'check → small → notify' }).waitFor(LONG);
  assert.equal(await panel.getByTestId('test-path').innerText(), 'check → small → notify');
  assert.match(await panel.getByTestId('test-node-notify').innerText(), /\{"status":200\}/);
  await page.getByTestId('node-small').and(page.locator('[data-status="completed"]')).waitFor(LONG);
  assert.equal(await page.getByTestId('node-big').getAttribute('data-status'), '');

  // JSON that does not parse blocks the button; a mock the API refuses shows its problem.
  await page.getByLabel('test mocks').fill('{ "notify": ');
  assert.equal(await panel.getByRole('button', { name: 'Run test' }).isDisabled(), true);
  await page.getByLabel('test mocks').fill('{ "nope": { "output": 1 } }');
  await panel.getByRole('button', { name: 'Run test' }).click();
  const refused = panel.getByRole('alert');
  await refused.waitFor(LONG);
  assert.match(await refused.innerText(), /\/mocks\/nope/);
  assert.equal(await panel.getByTestId('test-result').count(), 0);

  assert.equal(target.count('/notify'), 0, 'a test calls nothing');
  assert.deepEqual(problems, []);
});
