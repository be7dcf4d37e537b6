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

/** A definition with every kind of edge label, a trigger and an error handler, to open and edit. */
const editable = {
  id: 'editable',
  triggers: [{ type: 'event', event_type: 'order.created' }],
  variables: [
    { name: 'n', type: 'number' },
    { name: 'size', type: 'string' },
    { name: 'failed', type: 'boolean' },
  ],
  nodes: [
    { id: 'check', type: 'condition', expression: 'vars.n' },
    { id: 'big', type: 'set', assign: { size: "'big'" } },
    { id: 'small', type: 'set', assign: { size: "'small'" } },
    {
      id: 'notify',
      type: 'task',
      connector: 'http',
      action: 'request',
      inputs: { url: 'http://example.test/notify' },
    },
    { id: 'oops', type: 'set', assign: { failed: 'true' } },
    { id: 'done', type: 'end' },
  ],
  edges: [
    { from: 'check', to: 'big', when: 'vars.n > 1' },
    { from: 'check', to: 'small', default: true },
    { from: 'big', to: 'notify' },
    { from: 'small', to: 'notify' },
    { from: 'notify', to: 'done' },
    { from: 'notify', to: 'oops', on: 'error' },
  ],
  error_handlers: [{ id: 'stop-check', match: { node: 'check' }, action: 'terminate' }],
};

/** The node types the served schema declares, read from the schema itself. */
async function servedNodeTypes(): Promise<string[]> {
  const schema = await stack.call('GET', '/v1/schema/definition.json');
  assert.equal(schema.status, 200);
  return (schema.body.properties.nodes.items.oneOf as Array<{ properties: { type: { const: string } } }>).map(
    (s) => s.properties.type.const,
  );
}

test("a definition's graph draws its edge labels, its trigger and its error handler", async () => {
  const stored = await stack.call('POST', '/v1/definitions', editable);
  assert.equal(stored.status, 201, JSON.stringify(stored.body));
  const { page, problems } = await openStudio(browser, stack.gateway.url, '#/definitions/editable');
  const graph = page.getByTestId('graph');
  await graph.locator('.react-flow__node').nth(editable.nodes.length).waitFor(LONG);
  const labels = await graph.locator('.react-flow__edge-text').evaluateAll((texts) => texts.map((t) => t.textContent));
  assert.deepEqual(labels.sort(), ['default', 'on: error', 'when: vars.n > 1']);
  assert.match(await page.getByTestId('node-triggers').innerText(), /event order\.created/);
  assert.match(await page.getByTestId('node-check').innerText(), /on failure: stop-check \(terminate\)/);
  assert.equal(await graph.locator('.react-flow__edge.edge-error').count(), 1, 'the error edge is drawn as one');
  assert.deepEqual(problems, []);
});

test('in the designer: the palette has every node type, edges and nodes are deleted by key and by button, an edge reconnected by its end, an edge problem pinned on the edge, retry policy and resource limits set', async () => {
  const { page, problems } = await openStudio(browser, stack.gateway.url, '#/designer/editable');
  const canvas = page.getByTestId('canvas');
  await canvas
    .locator('.react-flow__node')
    .nth(editable.nodes.length - 1)
    .waitFor(LONG);
  await page.locator('[data-testid="validation"].valid').waitFor(LONG);

  const types = await servedNodeTypes();
  assert.deepEqual([...types].sort(), [
    'ai',
    'approval',
    'condition',
    'end',
    'event',
    'join',
    'map',
    'set',
    'subworkflow',
    'task',
    'wait',
  ]);
  const palette = await page
    .locator('.palette-item')
    .evaluateAll((items) => items.map((i) => (i.getAttribute('data-testid') ?? '').replace(/^palette-/, '')));
  assert.deepEqual(palette.sort(), [...types].sort());

  const edgeLabel = (text: string | RegExp) => canvas.locator('.react-flow__edge-textwrapper', { hasText: text });
  const edges = canvas.locator('.react-flow__edge');
  assert.equal(await edges.count(), 6);

  // An edge problem is pinned on the edge itself, and goes once fixed.
  await edgeLabel('when: vars.n > 1').click();
  await page.getByRole('form', { name: 'edge' }).waitFor(LONG);
  await page.locator('[id="edge.when"]').fill('vars.n >');
  await edgeLabel(/^! /).waitFor(LONG);
  assert.equal(await canvas.locator('.react-flow__edge.edge-problem').count(), 1);
  assert.equal(await page.getByRole('button', { name: 'Save' }).isDisabled(), true);
  await page.locator('[id="edge.when"]').fill('vars.n > 1');
  await edgeLabel('when: vars.n > 1').waitFor(LONG);
  await page.locator('[data-testid="validation"].valid').waitFor(LONG);
  assert.equal(await canvas.locator('.react-flow__edge.edge-problem').count(), 0);

  // Delete an edge with the key, another with the button.
  await edgeLabel('default').click();
  await page.keyboard.press('Delete');
  await edgeLabel('default').waitFor({ state: 'detached', ...LONG });
  await edgeLabel('on: error').click();
  await page.getByRole('button', { name: 'Delete edge' }).click();
  await edgeLabel('on: error').waitFor({ state: 'detached', ...LONG });
  assert.equal(await edges.count(), 4);

  // Delete a node with the key (oops, now unconnected), another with the button (small, and its edge).
  const nodeOf = (id: string) => canvas.locator(`.react-flow__node[data-id="${id}"]`);
  await clickNode(page, 'oops');
  await page.keyboard.press('Delete');
  await nodeOf('oops').waitFor({ state: 'detached', ...LONG });
  await clickNode(page, 'small');
  await page.getByRole('button', { name: 'Delete node' }).click();
  await nodeOf('small').waitFor({ state: 'detached', ...LONG });
  assert.equal(await edges.count(), 3, "small's edge went with it");

  // Reconnect big → notify to big → done by dragging the edge's end onto done's target handle.
  const end = canvas.locator('[data-testid="rf__edge-e1"] .react-flow__edgeupdater-target');
  const from = await end.boundingBox();
  const to = await nodeOf('done').locator('.react-flow__handle.target').boundingBox();
  assert.ok(from && to, 'the edge end and the handle are on the page');
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
  await page.mouse.down();
  await page.mouse.move(to.x + to.width / 2, to.y + to.height / 2 - 10, { steps: 12 });
  await page.mouse.move(to.x + to.width / 2, to.y + to.height / 2, { steps: 4 });
  await page.mouse.up();

  // The task's retry policy and resource limits fieldsets.
  await clickNode(page, 'notify');
  await page.locator('fieldset', { has: page.locator('legend', { hasText: 'retry_policy' }) }).waitFor(LONG);
  await page.locator('[id="node.retry_policy.max_attempts"]').fill('4');
  await page.locator('[id="node.retry_policy.initial_interval"]').fill('2s');
  await page.locator('fieldset', { has: page.locator('legend', { hasText: 'resource_limits' }) }).waitFor(LONG);
  await page.locator('[id="node.resource_limits.max_concurrency"]').fill('2');
  await page.locator('[data-testid="validation"].valid').waitFor(LONG);

  await page.getByRole('button', { name: 'JSON' }).click();
  const json = JSON.parse(await page.getByLabel('definition JSON').inputValue());
  assert.deepEqual(
    json.nodes.map((n: { id: string }) => n.id),
    ['check', 'big', 'notify', 'done'],
  );
  assert.deepEqual(
    json.edges.map((e: { from: string; to: string }) => `${e.from}>${e.to}`),
    ['check>big', 'big>done', 'notify>done'],
  );
  const notify = json.nodes.find((n: { id: string }) => n.id === 'notify');
  assert.deepEqual(notify.retry_policy, { max_attempts: 4, initial_interval: '2s' });
  assert.deepEqual(notify.resource_limits, { max_concurrency: 2 });

  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByTestId('save-message').filter({ hasText: 'Saved as version 2' }).waitFor(LONG);
  const stored = await stack.call('GET', '/v1/definitions/editable/versions/2');
  assert.deepEqual(stored.body.error_handlers, editable.error_handlers);
  assert.deepEqual(stored.body.nodes.find((n: { id: string }) => n.id === 'notify').resource_limits, {
    max_concurrency: 2,
  });
  assert.deepEqual(problems, []);
});

test('a 500-node definition renders, and the page still answers a click', async () => {
  const nodes = Array.from({ length: 500 }, (_v, i) => ({
    id: `n${i}`,
    type: 'set',
    assign: { [`v${i % 7}`]: `${i}` },
  }));
  const edges = Array.from({ length: 499 }, (_v, i) => ({
    from: (i + 1) % 10 === 0 ? 'n0' : `n${i}`,
    to: `n${i + 1}`,
  }));
  const stored = await stack.call('POST', '/v1/definitions', { id: 'big-graph', nodes, edges });
  assert.equal(stored.status, 201, JSON.stringify(stored.body));
  const { page, problems } = await openStudio(browser, stack.gateway.url, '#/definitions/big-graph');
  const graph = page.locator('[data-testid="graph"][data-nodes="500"]');
  await graph.locator('.react-flow__node').first().waitFor({ timeout: 120_000 });
  await page.getByRole('button', { name: 'Start run' }).click();
  await page.getByRole('dialog', { name: 'start a run' }).waitFor(LONG);
  await page.getByRole('button', { name: 'Close' }).click();
  await page.getByRole('dialog', { name: 'start a run' }).waitFor({ state: 'detached', ...LONG });
  // Fit shows the whole graph: every node is then drawn.
  await graph.getByRole('button', { name: /fit view/i }).click();
  await graph.locator('.react-flow__node').nth(499).waitFor({ timeout: 120_000 });
  assert.deepEqual(problems, []);
});
