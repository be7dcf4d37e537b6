/**
 * weft Studio's template gallery in Chromium (acceptance 3 of issue 12): every template of the
 * starter library is picked in the gallery, its parameters typed into the form generated from
 * its declarations, opened in the designer, saved, and run from the Studio's input form; the
 * run page shows it completing, or reaching its documented waiting state, which is then driven
 * on from the page (approve with a comment, deliver the event, skip the failed check). The
 * services are local (test/support/starter-services.ts): an HTTP server for the CRM, shop,
 * billing, pager and warehouse APIs, the real PostgreSQL (least-privilege role) and a local
 * OpenAI-compatible server.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { STARTER_TEMPLATES } from '../../src/templates/starter.js';
import { bearer, createKey } from '../support/access.js';
import { launchChromium } from '../support/browser.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { startStarterServices, type StarterServices } from '../support/starter-services.js';
import { clickNode, openStudio, screenshot } from '../support/studio.js';

let stack: TestStack;
let services: StarterServices;
let browser: Browser;
const LONG = { timeout: 90_000 };
const ran = new Set<string>();

before(async () => {
  services = await startStarterServices();
  stack = await startTestStack();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await stack?.close();
  await services?.close();
});

const url = (path: string) => `${services.target.url}${path}`;

/**
 * As a person: the gallery, the template's card, its parameters typed in, the definition id,
 * "Open in designer", Save, "Start run" with `input` typed into the variables' form. Returns the
 * page on the run and the run's id.
 */
async function fromGallery(
  template: string,
  parameters: Record<string, string>,
  input: Record<string, string>,
  definitionId = `g-${template}`,
): Promise<{ page: Page; runId: string; problems: string[] }> {
  ran.add(template);
  const { page, problems } = await openStudio(browser, stack.gateway.url, '#/templates');
  const card = page.getByTestId(`template-${template}`);
  await card.waitFor(LONG);
  await card.getByRole('button', { name: 'Use this template' }).click();
  await page.getByRole('form', { name: 'template parameters' }).waitFor(LONG);
  for (const [name, text] of Object.entries(parameters)) {
    const field = page.locator(`[id="param.${name}"]`);
    await field.click();
    await field.pressSequentially(text);
  }
  await page.locator('#template-definition-id').fill(definitionId);
  await page.getByRole('button', { name: 'Open in designer' }).click();

  // In the designer: the template's nodes on the canvas, the gateway finds it valid.
  const nodes = (STARTER_TEMPLATES.get(template)?.definition.nodes as unknown[]).length;
  await page
    .locator('.react-flow__node')
    .nth(nodes - 1)
    .waitFor(LONG);
  assert.equal(await page.locator('.react-flow__node').count(), nodes);
  assert.equal(await page.locator('[id="definition.id"]').inputValue(), definitionId);
  await page.locator('[data-testid="validation"].valid').waitFor(LONG);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByTestId('save-message').filter({ hasText: 'Saved as version 1' }).waitFor(LONG);
  const stored = await stack.call('GET', `/v1/definitions/${definitionId}`);
  assert.equal(stored.status, 200, JSON.stringify(stored.body));

  await page.getByRole('button', { name: 'Start run' }).click();
  for (const [name, text] of Object.entries(input)) await page.locator(`#input-${name}`).fill(text);
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await page.getByTestId('run-graph').waitFor(LONG);
  const runId = decodeURIComponent(new URL(page.url()).hash.replace(/^#\/runs\//, ''));
  assert.match(runId, new RegExp(`^${definitionId}`));
  return { page, runId, problems };
}

async function nodeIs(page: Page, node: string, status: string): Promise<void> {
  await page.locator(`[data-testid="node-${node}"][data-status="${status}"]`).waitFor(LONG);
}

async function runIs(page: Page, status: string): Promise<void> {
  await page.locator('[data-testid="run-status"]', { hasText: status }).waitFor(LONG);
}

async function resultOf(runId: string): Promise<any> {
  const state = await stack.call('GET', `/v1/runs/${encodeURIComponent(runId)}`);
  assert.equal(state.status, 200, JSON.stringify(state.body));
  return state.body;
}

test('the gallery lists every starter template with its name and description', async () => {
  const { page, problems } = await openStudio(browser, stack.gateway.url);
  await page.getByRole('button', { name: 'New from template' }).click();
  await page.getByTestId('gallery').waitFor(LONG);
  for (const [id, template] of STARTER_TEMPLATES) {
    const card = page.getByTestId(`template-${id}`);
    await card.waitFor(LONG);
    assert.match(await card.innerText(), new RegExp(template.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  }
  await page.getByLabel('search templates').fill('saga');
  await page.getByTestId('template-webhook-lead-enrichment').waitFor({ state: 'detached', ...LONG });
  assert.equal(await page.getByTestId('template-order-saga').isVisible(), true);
  await page.getByLabel('search templates').fill('');
  await screenshot(page, 'gallery');

  // The form follows the declarations: required ones marked, defaults as placeholders, problems from the API.
  await page.getByTestId('template-order-saga').getByRole('button', { name: 'Use this template' }).click();
  await page.getByRole('form', { name: 'template parameters' }).waitFor(LONG);
  assert.match(await page.locator('label[for="param.service_url"]').innerText(), /\*$/);
  assert.equal(await page.locator('[id="param.ship_attempts"]').getAttribute('placeholder'), 'default: 3');
  assert.equal(await page.getByRole('button', { name: 'Open in designer' }).isDisabled(), true);
  await page.locator('[id="param.service_url"]').fill(url('/shop'));
  await page.locator('[id="param.ship_attempts"]').fill('99');
  await page.getByRole('button', { name: 'Open in designer' }).click();
  // The gateway's problem, verbatim, at the field of the parameter it names.
  const problem = page
    .locator('.field', { has: page.locator('[id="param.ship_attempts"]') })
    .getByTestId('field-problem');
  await problem.waitFor(LONG);
  assert.match(await problem.innerText(), /10/);
  assert.match(await page.getByRole('alert').innerText(), /parameters/);
  await screenshot(page, 'template-form');
  assert.deepEqual(problems, []);
});

test("a tenant's own template: a secret default cannot go through the designer, so it is stored directly; then deleted", async () => {
  const template = {
    id: 'my-secret',
    name: 'Secret holder',
    description: 'A token kept as a secret variable.',
    parameters: [{ name: 'token', type: 'string', example: 'an-example-token' }],
    definition: {
      variables: [{ name: 'token', type: 'string', secret: true, default: { $param: 'token' } }],
      nodes: [{ id: 'done', type: 'end' }],
      edges: [],
    },
  };
  const stored = await stack.call('POST', '/v1/templates', template);
  assert.equal(stored.status, 201, JSON.stringify(stored.body));
  const { page, problems } = await openStudio(browser, stack.gateway.url, '#/templates');
  const card = page.getByTestId('template-my-secret');
  await card.waitFor(LONG);
  assert.match(await card.innerText(), /by local-dev/);
  await card.getByRole('button', { name: 'Use this template' }).click();
  await page.locator('[id="param.token"]').fill('s3cr3t');
  await page.locator('#template-definition-id').fill('holder');
  await page.getByRole('button', { name: 'Open in designer' }).click();
  await page.getByTestId('template-message').filter({ hasText: 'never shown by the API' }).waitFor(LONG);
  assert.equal(await page.getByTestId('canvas').count(), 0, 'the designer was not opened');
  await page.getByRole('button', { name: 'Create definition' }).click();
  await page.getByTestId('versions').waitFor(LONG);
  const definition = await stack.call('GET', '/v1/definitions/holder');
  assert.equal(definition.status, 200, JSON.stringify(definition.body));
  assert.equal(definition.body.variables[0].default, '***', 'stored, and shown masked');

  await page.getByRole('link', { name: 'Templates' }).click();
  await card.getByRole('button', { name: 'Delete' }).click();
  await card.waitFor({ state: 'detached', ...LONG });
  assert.equal((await stack.call('GET', '/v1/templates/my-secret')).status, 404);
  assert.equal(
    await page.getByTestId('template-order-saga').getByRole('button', { name: 'Delete' }).count(),
    0,
    'built-in templates cannot be deleted',
  );
  assert.deepEqual(problems, []);
});

test('webhook lead enrichment: qualified by the model, waits for approval, approved on the run page', async () => {
  services.openai.enqueue({
    json: { segment: 'enterprise', score: 0.92, reason: 'large company, clear budget' },
    usage: { prompt_tokens: 1200, completion_tokens: 300 },
  });
  const { page, runId, problems } = await fromGallery(
    'webhook-lead-enrichment',
    { crm_url: url('/crm'), min_score: '0.7' },
    { lead: '{"name": "Lin", "email": "lin@acme.example"}' },
  );
  await nodeIs(page, 'review', 'waiting');
  const approval = page.getByTestId('approval-review');
  await approval.waitFor(LONG);
  await approval.getByLabel('comment').fill('looks good');
  await approval.getByRole('button', { name: 'Approve' }).click();
  await runIs(page, 'completed');
  const state = await resultOf(runId);
  assert.equal(state.result.outcome, 'qualified');
  assert.equal(services.bodiesOf('/crm/leads')[0]?.segment, 'enterprise');
  // The model call's cost and tokens in the node's detail, as the state reports them.
  const cost = state.nodes.qualify.cost;
  assert.deepEqual(cost.tokens, { input: 1200, output: 300 });
  assert.ok(cost.usd > 0, "the template's default model has a price");
  await clickNode(page, 'qualify');
  await page
    .getByTestId('node-detail')
    .getByText(`cost: $${cost.usd.toFixed(4)} (1200 in, 300 out tokens)`)
    .waitFor(LONG);
  await page.getByTestId('node-detail').getByText('attempts: 1').waitFor(LONG);
  assert.deepEqual(problems, []);
});

test('order saga: the order is reserved, paid and shipped', async () => {
  const { page, runId, problems } = await fromGallery(
    'order-saga',
    { service_url: url('/shop'), ship_attempts: '2' },
    { order: '{"id": "O-OK", "items": [{"sku": "X", "qty": 1}], "total": 42}' },
  );
  await runIs(page, 'completed');
  assert.equal((await resultOf(runId)).result.shipment.body.id, 'S-1');
  assert.equal(await page.getByTestId('mark-reserve').count(), 0, 'nothing compensated');
  assert.deepEqual(problems, []);
});

test('order saga, failure path: the shipment is refused, the payment and the reservation are compensated on the page', async () => {
  const { page, runId, problems } = await fromGallery(
    'order-saga',
    { service_url: url('/shop'), ship_attempts: '1' },
    { order: '{"id": "O-FAIL", "items": [{"sku": "X", "qty": 1}], "total": 42}' },
    'g-order-saga-fails',
  );
  await runIs(page, 'failed');
  await nodeIs(page, 'ship', 'failed');
  for (const node of ['charge', 'reserve']) {
    await page.getByTestId(`mark-${node}`).filter({ hasText: 'compensated' }).waitFor(LONG);
  }
  assert.equal(await page.getByTestId('mark-ship').count(), 0, 'the failed step had nothing to undo');
  await clickNode(page, 'charge');
  await page.getByTestId('node-marks').filter({ hasText: 'compensated' }).waitFor(LONG);
  assert.equal((await resultOf(runId)).error.node, 'ship');
  assert.equal(services.bodiesOf('/shop/payments/refund').length, 1);
  assert.equal(services.bodiesOf('/shop/inventory/reservations/release').length, 1);
  assert.deepEqual(problems, []);
});

test('nightly fan-out report: the schedule is stored, a run maps over the accounts and posts one report', async () => {
  const { page, problems } = await fromGallery(
    'nightly-fanout-report',
    {
      source_url: url('/billing'),
      report_url: url('/reports/usage'),
      cron: '30 1 * * *',
      timezone: 'Europe/Paris',
      max_concurrency: '2',
    },
    {},
  );
  await runIs(page, 'completed');
  // The map's item counts on its node and in its detail, with the inputs it declares.
  await page.getByTestId('node-usage_each').getByText('3/3 items').waitFor(LONG);
  await clickNode(page, 'usage_each');
  await page.getByTestId('node-items').filter({ hasText: '3/3 items' }).waitFor(LONG);
  assert.match(await page.getByTestId('node-input').innerText(), /"items": /);
  const definition = await stack.call('GET', '/v1/definitions/g-nightly-fanout-report');
  assert.deepEqual(definition.body.triggers, [{ type: 'schedule', cron: '30 1 * * *', timezone: 'Europe/Paris' }]);
  assert.deepEqual(services.bodiesOf('/reports/usage'), [{ accounts: 3, total_events: 60, source_status: 'ok' }]);
  assert.deepEqual(problems, []);
});

test('payment wait: waits for the payment event, delivered from the run page; the order is fulfilled', async () => {
  const { page, runId, problems } = await fromGallery(
    'payment-wait',
    { service_url: url('/shop'), payment_timeout: '10m' },
    { order_id: 'O-PAID', amount: '42' },
  );
  await nodeIs(page, 'paid', 'waiting');
  await page.locator('#event-key-paid').fill('O-PAID');
  await page.locator('#event-payload-paid').fill('{"amount": 42}');
  await page.getByRole('button', { name: 'Deliver test event' }).click();
  await runIs(page, 'completed');
  assert.equal((await resultOf(runId)).result.outcome, 'paid 42');
  assert.deepEqual(services.bodiesOf('/shop/orders/O-PAID/fulfil')[0]?.payment, { amount: 42 });
  assert.deepEqual(problems, []);
});

test('document summary: the model answers in the schema and the summary is posted', async () => {
  const summary = {
    title: 'On-call handbook',
    summary: 'How to be on call.',
    key_points: ['page early', 'write things down', 'hand over cleanly'],
    sentiment: 'neutral',
  };
  services.openai.enqueue({ json: summary });
  const { page, problems } = await fromGallery(
    'document-summary',
    { callback_url: url('/docs/summaries'), max_points: '3' },
    { document_url: url('/docs/handbook.txt') },
  );
  await runIs(page, 'completed');
  assert.deepEqual(services.bodiesOf('/docs/summaries')[0], { document_url: url('/docs/handbook.txt'), summary });
  assert.deepEqual(problems, []);
});

test('PostgreSQL → HTTP sync: every row is posted, the 503 retried', async () => {
  const { page, runId, problems } = await fromGallery(
    'postgres-http-sync',
    { target_url: url('/crm/contacts'), batch_size: '10', max_concurrency: '1' },
    {},
  );
  await runIs(page, 'completed');
  assert.equal((await resultOf(runId)).result.synced, 3);
  assert.equal(services.target.count('/crm/contacts'), 4, 'three rows, one of them twice (503, then retried)');
  assert.deepEqual(problems, []);
});

test('incident escalation: waits for the primary to acknowledge, acknowledged from the run page; the follow-up runs', async () => {
  const { page, problems } = await fromGallery(
    'incident-escalation',
    {
      pager_url: url('/pager'),
      primary: 'alice',
      secondary: 'bob',
      manager: 'carol',
      ack_timeout: '10m',
      followup_after: '1s',
    },
    { incident: '{"id": "INC-7", "summary": "checkout is down"}' },
  );
  await nodeIs(page, 'ack_primary', 'waiting');
  await page.locator('#event-key-ack_primary').fill('INC-7');
  await page.locator('#event-payload-ack_primary').fill('{"by": "alice"}');
  await page.getByRole('button', { name: 'Deliver test event' }).click();
  await nodeIs(page, 'followup', 'completed');
  await runIs(page, 'completed');
  assert.deepEqual(
    services.bodiesOf('/pager/pages').map((p) => p.to),
    ['alice'],
  );
  assert.equal(services.bodiesOf('/pager/status')[0]?.acknowledged_by, 'alice');
  assert.deepEqual(problems, []);
});

test('data-quality check: bad data pauses the run; the operator skips the check on the run page and it publishes', async () => {
  const { page, problems } = await fromGallery(
    'data-quality-check',
    { dataset_url: url('/warehouse/bad.json'), publish_url: url('/warehouse/publish'), max_missing_rate: '0.1' },
    {},
  );
  await runIs(page, 'paused');
  await nodeIs(page, 'check', 'failed');
  await clickNode(page, 'check');
  await page.locator('#skip-output').fill('{"accepted": "operator"}');
  await page.getByRole('button', { name: 'Skip node' }).click();
  await runIs(page, 'completed');
  await nodeIs(page, 'check', 'skipped');
  assert.deepEqual(services.bodiesOf('/warehouse/publish')[0]?.metrics, { rows: 4, missing: 2 });
  assert.deepEqual(problems, []);
});

test('every template of the starter library ran from the gallery', () => {
  assert.ok(STARTER_TEMPLATES.size >= 8);
  assert.deepEqual(
    [...STARTER_TEMPLATES.keys()].filter((t) => !ran.has(t)),
    [],
  );
});

// Last: once keys exist the gateway leaves local-development mode.
test('a viewer sees the gallery and the parameters but nothing that would create a definition', async () => {
  const admin = await createKey(stack, 'gallery-admin', ['admin']);
  const viewer = await createKey(stack, 'gallery-viewer', ['viewer'], { adminKey: admin });
  assert.equal((await stack.call('GET', '/v1/templates', undefined, bearer(viewer))).status, 200);
  const { page, problems } = await openStudio(browser, stack.gateway.url, '#/templates');
  await page.getByLabel('API key').fill(viewer);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const card = page.getByTestId('template-order-saga');
  await card.waitFor(LONG);
  assert.equal(await page.getByRole('button', { name: 'Use this template' }).count(), 0);
  await card.getByRole('button', { name: 'View' }).click();
  await page.getByRole('form', { name: 'template parameters' }).waitFor(LONG);
  await page.getByText('do not allow creating definitions from templates').waitFor(LONG);
  assert.equal(await page.getByRole('button', { name: 'Open in designer' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Create definition' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'New from template' }).count(), 0);
  assert.deepEqual(problems, []);
});
