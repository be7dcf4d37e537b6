/**
 * weft Studio in Chromium, as a person uses it (acceptance 1 and 4 of issue 12): from an empty
 * store, a 5-node definition built with the mouse, a validation problem pinned on its node and
 * fixed, saved, a run started from the input form and watched to completion without a reload;
 * and the visual diff of two versions marking exactly the nodes that changed. Expression fields:
 * syntax errors shown at the field, and a preview through `POST /v1/expressions/evaluate`.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { clickNode, connect, dropNode, openStudio, screenshot } from '../support/studio.js';

let stack: TestStack;
let browser: Browser;
const LONG = { timeout: 60_000 };

before(async () => {
  stack = await startTestStack();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

test('the page is served with a strict Content-Security-Policy and nothing from elsewhere', async () => {
  const page = await fetch(`${stack.gateway.url}/`);
  assert.equal(page.status, 200);
  const csp = page.headers.get('content-security-policy') ?? '';
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  const html = await page.text();
  assert.doesNotMatch(html, /<script>|https?:\/\//, 'no inline script, no other origin');
  for (const asset of ['/studio/studio.js', '/studio/studio.css', '/studio/elk-worker.js']) {
    const response = await fetch(`${stack.gateway.url}${asset}`);
    assert.equal(response.status, 200, asset);
    assert.doesNotMatch(await response.text(), /https?:\/\/(cdn|unpkg|fonts)\./, `${asset} loads nothing from a CDN`);
  }
  assert.equal((await fetch(`${stack.gateway.url}/studio/other.js`)).status, 404);
});

test('acceptance 1: build a 5-node definition with the mouse, fix a pinned problem, save, run it and watch it complete', async () => {
  const { page, problems } = await openStudio(browser, stack.gateway.url);
  await page.getByText('No definitions yet').waitFor(LONG);
  await page.getByRole('button', { name: 'New definition' }).click();
  await page.getByTestId('palette-condition').waitFor(LONG);

  await page.locator('[id="definition.id"]').fill('greeting');
  await page.getByLabel('new variable name').fill('name');
  await page.getByRole('button', { name: 'Add variable' }).click();
  await page.getByLabel('variable name required').check();

  await dropNode(page, 'set', 300, 40);
  await page.getByLabel('node.assign new key').fill('greeting');
  await page.getByRole('button', { name: 'add', exact: true }).click();
  await page.getByLabel('node.assign value greeting').fill("'Hello, ' & vars.name");

  await dropNode(page, 'wait', 300, 170);
  await page.locator('[id="node.duration"]').fill('3s');

  await dropNode(page, 'condition', 300, 300);
  // A condition needs its expression: the gateway's problem is pinned on the node.
  await page.getByTestId('problem-condition1').waitFor(LONG);
  assert.match(await page.getByTestId('problem-condition1').innerText(), /expression/);
  assert.equal(
    await page.getByRole('button', { name: 'Save' }).isDisabled(),
    true,
    'save is blocked while there are errors',
  );

  await dropNode(page, 'set', 300, 430);
  await page.getByLabel('node.assign new key').fill('done');
  await page.getByRole('button', { name: 'add', exact: true }).click();
  await page.getByLabel('node.assign value done').fill('true');
  await dropNode(page, 'end', 300, 560);

  await connect(page, 'set1', 'wait1');
  await connect(page, 'wait1', 'condition1');
  await connect(page, 'condition1', 'set2');
  await page.locator('[id="edge.when"]').fill("vars.greeting != ''");
  await connect(page, 'set2', 'end1');

  await clickNode(page, 'condition1');
  await page.locator('[id="node.expression"]').fill('$length(vars.name) > 0');
  await page.getByTestId('problem-condition1').waitFor({ state: 'detached', ...LONG });
  await page.locator('[data-testid="validation"].valid').waitFor(LONG);
  await screenshot(page, 'designer');

  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByTestId('save-message').filter({ hasText: 'Saved as version 1' }).waitFor(LONG);
  const stored = await stack.call('GET', '/v1/definitions/greeting');
  assert.equal(stored.status, 200);
  assert.deepEqual(
    stored.body.nodes.map((n: { id: string; type: string }) => `${n.id}:${n.type}`),
    ['set1:set', 'wait1:wait', 'condition1:condition', 'set2:set', 'end1:end'],
  );
  assert.deepEqual(
    stored.body.edges.map(
      (e: { from: string; to: string; when?: string }) => `${e.from}>${e.to}${e.when ? ` when ${e.when}` : ''}`,
    ),
    ['set1>wait1', 'wait1>condition1', "condition1>set2 when vars.greeting != ''", 'set2>end1'],
  );

  await page.getByRole('button', { name: 'Start run' }).click();
  // The form from the declared variables: `name` is required, so Start waits for it.
  assert.equal(await page.getByRole('button', { name: 'Start', exact: true }).isDisabled(), true);
  await page.locator('#input-name').fill('Ada');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await page.getByTestId('run-graph').waitFor(LONG);
  let reloads = 0;
  page.on('load', () => reloads++);
  const marker = await page.evaluate(() => performance.timeOrigin);
  // The wait node is seen waiting first, then every node completes on the same page.
  await page.locator('[data-testid="node-wait1"][data-status="waiting"]').waitFor(LONG);
  await screenshot(page, 'run-live');
  for (const id of ['set1', 'wait1', 'condition1', 'set2', 'end1'])
    await page.locator(`[data-testid="node-${id}"][data-status="completed"]`).waitFor(LONG);
  await page.locator('[data-testid="run-status"]', { hasText: 'completed' }).waitFor(LONG);
  assert.equal(await page.evaluate(() => performance.timeOrigin), marker, 'the page was not reloaded');
  assert.equal(reloads, 0, 'no page load happened while the run moved');

  await clickNode(page, 'set1');
  await page.getByTestId('node-detail').getByText('completed').first().waitFor(LONG);
  const variables = await page.locator('aside').innerText();
  assert.match(variables, /Hello, Ada/);
  // The node's duration, from its history: the 3 s wait took at least 3 s.
  await clickNode(page, 'wait1');
  await page.getByTestId('node-detail').getByText('Node wait1').waitFor(LONG);
  const waited = /duration: ([\d.]+) s\b/.exec(await page.getByTestId('node-detail').innerText());
  assert.ok(waited && Number(waited[1]) >= 3, `the wait's duration: ${waited?.[0]}`);
  assert.deepEqual(problems, []);
});

test('acceptance 4: the visual diff of two versions marks exactly the changed nodes', async () => {
  const v1 = {
    id: 'diffed',
    variables: [],
    nodes: [
      { id: 'a', type: 'set', assign: { x: '1' } },
      { id: 'b', type: 'set', assign: { y: '2' } },
      { id: 'c', type: 'wait', duration: '1s' },
      { id: 'e', type: 'end' },
    ],
    edges: [
      { from: 'a', to: 'b' },
      { from: 'b', to: 'c' },
      { from: 'c', to: 'e' },
    ],
  };
  const v2 = {
    ...v1,
    nodes: [
      { id: 'a', type: 'set', assign: { x: '1' } },
      { id: 'b', type: 'set', assign: { y: '3' } },
      { id: 'd', type: 'wait', duration: '2s' },
      { id: 'e', type: 'end' },
    ],
    edges: [
      { from: 'a', to: 'b' },
      { from: 'b', to: 'd' },
      { from: 'd', to: 'e' },
    ],
  };
  assert.equal((await stack.call('POST', '/v1/definitions', v1)).status, 201);
  assert.equal((await stack.call('POST', '/v1/definitions', v2)).status, 201);
  const { page, problems } = await openStudio(browser, stack.gateway.url);
  await page.getByRole('link', { name: 'diffed' }).click();
  await page.getByTestId('graph').waitFor(LONG);
  await screenshot(page, 'definition-graph');
  await page.getByLabel('compare from').selectOption('1');
  await page.getByLabel('compare to').selectOption('2');
  await page.getByRole('button', { name: 'Show diff' }).click();
  await page.getByTestId('diff-graph').locator('[data-testid="node-e"]').waitFor(LONG);
  const marks = await page
    .getByTestId('diff-graph')
    .locator('.weft-node')
    .evaluateAll((nodes) => nodes.map((n) => `${n.getAttribute('data-testid')}=${n.getAttribute('data-diff')}`).sort());
  assert.deepEqual(marks, ['node-a=', 'node-b=changed', 'node-c=removed', 'node-d=added', 'node-e=']);
  const fields = await page.getByTestId('diff-fields').innerText();
  assert.match(fields, /node b: assign/);
  assert.match(fields, /assign: \{"y":"2"\} → \{"y":"3"\}/);
  await screenshot(page, 'diff');
  assert.deepEqual(problems, []);
});

test('a network failure on save shows a clear message and keeps the unsaved edit; a refused save shows the API problem', async () => {
  const { page } = await openStudio(browser, stack.gateway.url, '#/designer/greeting');
  await page.locator('.react-flow__node[data-id="end1"]').waitFor(LONG);
  await clickNode(page, 'set2');
  await page.getByLabel('node.assign value done').fill('false');
  await page.locator('[data-testid="validation"].valid').waitFor(LONG);
  await page.context().setOffline(true);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('alert').filter({ hasText: 'cannot be reached' }).waitFor(LONG);
  assert.match(await page.getByRole('alert').innerText(), /Nothing on this page was lost/);
  assert.equal(await page.getByLabel('node.assign value done').inputValue(), 'false', 'the edit is still there');
  await page.context().setOffline(false);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByTestId('save-message').filter({ hasText: 'Saved as version 2' }).waitFor(LONG);
  const stored = await stack.call('GET', '/v1/definitions/greeting/versions/2');
  assert.equal(stored.body.nodes.find((n: { id: string }) => n.id === 'set2').assign.done, 'false');

  // A JSON edit is validated like a visual one: the expression error is pinned on its node.
  await page.getByRole('button', { name: 'JSON' }).click();
  const json = JSON.parse(await page.getByLabel('definition JSON').inputValue());
  json.nodes[0].assign = { greeting: "'Hello, ' & " };
  await page.getByLabel('definition JSON').fill(JSON.stringify(json, null, 2));
  await page.locator('[data-testid="validation"].invalid').waitFor(LONG);
  assert.match(await page.getByTestId('problems').innerText(), /\/nodes\/0\/assign\/greeting/);
  assert.equal(await page.getByRole('button', { name: 'Save' }).isDisabled(), true);
  await page.getByRole('button', { name: 'Visual' }).click();
  await page.getByTestId('problem-set1').waitFor(LONG);
});

test("a task's connector and action are picked from the catalog, and its inputs form is the action's params schema", async () => {
  const { page, problems } = await openStudio(browser, stack.gateway.url, '#/designer');
  await page.getByTestId('palette-task').waitFor(LONG);
  await page.locator('[id="definition.id"]').fill('fetcher');
  await dropNode(page, 'task', 300, 80);
  await page.getByTestId('problem-task1').waitFor(LONG);
  await page.locator('[id="node.connector"]').selectOption('http');
  await page.locator('[id="node.action"]').selectOption('request');
  // The http connector's params: method and url among them, from ConnectorParams_http_request.
  await page.locator('[id="inputs.method"]').fill('GET');
  await page.locator('[id="inputs.url"]').fill(`${stack.gateway.url}/healthz`);
  await page.locator('[data-testid="validation"].valid').waitFor(LONG);
  await page.getByRole('button', { name: 'JSON' }).click();
  const json = JSON.parse(await page.getByLabel('definition JSON').inputValue());
  assert.deepEqual(json.nodes, [
    {
      id: 'task1',
      type: 'task',
      connector: 'http',
      action: 'request',
      inputs: { method: 'GET', url: `${stack.gateway.url}/healthz` },
    },
  ]);
  assert.deepEqual(problems, []);
});

test('an expression field: a syntax error shown at the field, fixed, previewed against sample data, and a failing preview shows the API problem', async () => {
  const { page, problems } = await openStudio(browser, stack.gateway.url, '#/designer');
  await page.getByTestId('palette-condition').waitFor(LONG);
  await page.locator('[id="definition.id"]').fill('previewed');
  await page.getByLabel('new variable name').fill('name');
  await page.getByRole('button', { name: 'Add variable' }).click();
  await dropNode(page, 'condition', 300, 80);
  const field = page.locator('.field', { has: page.locator('[id="node.expression"]') });
  await field.locator('[id="node.expression"]').pressSequentially('$length(vars.name) >');
  // The gateway's live validation: the syntax error sits at the field it is about.
  const inline = field.getByTestId('field-problem');
  await inline.waitFor(LONG);
  assert.equal(await inline.getAttribute('data-pointer'), '/nodes/0/expression');
  assert.notEqual((await inline.innerText()).trim(), '');
  await field.locator('[id="node.expression"]').pressSequentially(' 2');
  await inline.waitFor({ state: 'detached', ...LONG });

  // The sample data the preview evaluates against, then the preview itself.
  await page.getByTestId('sample-data').locator('summary').click();
  await page.getByLabel('sample data').fill('{"vars": {"name": "Ada"}}');
  await field.getByRole('button', { name: 'Preview' }).click();
  await field.getByTestId('preview-value').filter({ hasText: 'true' }).waitFor(LONG);
  await page.getByLabel('sample data').fill('{"vars": {"name": "Al"}}');
  await field.getByRole('button', { name: 'Preview' }).click();
  await field.getByTestId('preview-value').filter({ hasText: 'false' }).waitFor(LONG);
  await screenshot(page, 'expression-preview');

  // A context the API refuses: its problem, verbatim, where the value was.
  await page.getByLabel('sample data').fill('{"vars": {"name": "Ada"}, "variables": {}}');
  await field.getByRole('button', { name: 'Preview' }).click();
  const refused = field.getByRole('alert');
  await refused.waitFor(LONG);
  assert.match(await refused.innerText(), /variables/);
  assert.equal(await field.getByTestId('preview-value').count(), 0);

  // An edge's `when` is an expression field too; so is a `{{ }}` template in a task's inputs.
  await dropNode(page, 'end', 300, 260);
  await connect(page, 'condition1', 'end1');
  const when = page.locator('.field', { has: page.locator('[id="edge.when"]') });
  await when.locator('[id="edge.when"]').fill('vars.name & "!"');
  await page.getByLabel('sample data').fill('{"vars": {"name": "Ada"}}');
  await when.getByRole('button', { name: 'Preview' }).click();
  await when.getByTestId('preview-value').filter({ hasText: '"Ada!"' }).waitFor(LONG);

  // A task input holding a `{{ }}` template is previewed as a template.
  await dropNode(page, 'task', 600, 80);
  await page.locator('[id="node.connector"]').selectOption('http');
  await page.locator('[id="node.action"]').selectOption('request');
  const input = page.locator('.field', { has: page.locator('[id="inputs.url"]') });
  await input.locator('[id="inputs.url"]').fill('https://{{ vars.name }}.example/x');
  await input.getByRole('button', { name: 'Preview' }).click();
  await input.getByTestId('preview-value').filter({ hasText: '"https://Ada.example/x"' }).waitFor(LONG);
  assert.deepEqual(problems, []);
});
