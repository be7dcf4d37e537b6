/**
 * weft Studio's run page and its controls in Chromium, as a person uses them: a cached task's
 * mark, attempts and the node's declared input; a task's resolved input (a secret-derived param
 * masked) and a set node's "no call"; a running map's item counts; a masked secret; the variables modified from
 * the typed form, then the approval rejected with a comment; a failed run retried after its
 * cause was fixed (the page follows the new run). Last, with API keys: a four-eyes tenant's
 * save says "waiting for approval", another person approves on the versions table and the
 * author activates it; a start the tenant's quota refuses shows the API's problem.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { bearer, createKey } from '../support/access.js';
import { launchChromium } from '../support/browser.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { clickNode, openStudio } from '../support/studio.js';
import { unique } from '../support/temporal.js';
import { untilTrue } from '../support/poll.js';

let stack: TestStack;
let target: HttpTarget;
let browser: Browser;
let fixed = false;
/** Item 2 of the map test waits here until the test lets it answer. */
let releaseItem: () => void = () => undefined;
const itemGate = new Promise<void>((resolve) => (releaseItem = resolve));
const LONG = { timeout: 60_000 };

before(async () => {
  target = await startHttpTarget({
    // Fails its first call with a retryable status, then answers.
    '/flaky': (_req, res, nth) => (nth === 1 ? json(res, 503, { error: 'busy' }) : json(res, 200, { ok: true })),
    '/lookup': (_req, res, nth) => json(res, 200, { rate: 1.1, call: nth }),
    '/item': async (req, res) => {
      if (req.query.i === '2') await itemGate;
      json(res, 200, { item: Number(req.query.i) });
    },
    '/book': (_req, res) => (fixed ? json(res, 200, { booked: true }) : json(res, 422, { error: 'not yet' })),
  });
  stack = await startTestStack();
  browser = await launchChromium();
});
after(async () => {
  releaseItem();
  await browser?.close();
  await stack?.close();
  await target?.close();
});

async function submit(definition: unknown, headers: Record<string, string> = {}): Promise<void> {
  const stored = await stack.call('POST', '/v1/definitions', definition, headers);
  assert.equal(stored.status, 201, JSON.stringify(stored.body));
}

async function start(id: string, input: Record<string, unknown> = {}): Promise<string> {
  const run = await stack.call('POST', `/v1/definitions/${id}/runs`, { input });
  assert.equal(run.status, 201, JSON.stringify(run.body));
  return run.body.run_id as string;
}

async function finished(runId: string): Promise<any> {
  const result = await stack.call('GET', `/v1/runs/${encodeURIComponent(runId)}/result?wait=true`);
  assert.equal(result.status, 200, JSON.stringify(result.body));
  return result.body;
}

async function runPage(runId: string): Promise<{ page: Page; problems: string[] }> {
  const opened = await openStudio(browser, stack.gateway.url, `#/runs/${encodeURIComponent(runId)}`);
  await opened.page.getByTestId('run-graph').waitFor(LONG);
  return opened;
}

async function runIs(page: Page, status: string): Promise<void> {
  await page.locator('[data-testid="run-status"]', { hasText: status }).waitFor(LONG);
}

test('a cached task is marked cached, a retried one shows its attempts, and a node shows its declared input', async () => {
  const id = unique('cached');
  await submit({
    id,
    nodes: [
      {
        id: 'flaky',
        type: 'task',
        connector: 'http',
        action: 'request',
        inputs: { url: `${target.url}/flaky` },
        retry_policy: { max_attempts: 3, initial_interval: '1s' },
      },
      {
        id: 'lookup',
        type: 'task',
        connector: 'http',
        action: 'request',
        inputs: { url: `${target.url}/lookup`, query: { currency: 'EUR' } },
        cache: { ttl: '1h' },
        output: 'rate',
      },
    ],
    edges: [{ from: 'flaky', to: 'lookup' }],
  });
  const first = await start(id);
  assert.equal((await finished(first)).status, 'completed');
  const second = await start(id);
  assert.equal((await finished(second)).status, 'completed');
  assert.equal(target.count('/lookup'), 1, 'the second run took the cached answer');

  const { page, problems } = await runPage(first);
  await runIs(page, 'completed');
  await page.getByTestId('node-flaky').getByText('2 attempts').waitFor(LONG);
  assert.equal(await page.getByTestId('mark-lookup').count(), 0, 'the first run called the service');
  await clickNode(page, 'flaky');
  await page.getByTestId('node-detail').getByText('attempts: 2').waitFor(LONG);

  const again = await runPage(second);
  await runIs(again.page, 'completed');
  const mark = again.page.getByTestId('mark-lookup');
  await mark.waitFor(LONG);
  assert.equal(await mark.innerText(), 'cached');
  await clickNode(again.page, 'lookup');
  await again.page.getByTestId('node-marks').filter({ hasText: 'cached' }).waitFor(LONG);
  // The input as the definition declares it (the template, not a resolved value).
  const input = await again.page.getByTestId('node-input').innerText();
  assert.match(input, /"url": ".*\/lookup"/);
  assert.match(input, /"currency": "EUR"/);
  assert.match(input, /"connector": "http"/);
  assert.deepEqual(again.problems, []);
  assert.deepEqual(problems, []);
});

test('clicking a task shows its resolved input, a secret-derived param masked; a set node says it made no call', async () => {
  const id = unique('resolved');
  const token = 'tok-91b2-secret';
  await submit({
    id,
    variables: [
      { name: 'customer', type: 'string', required: true },
      { name: 'token', type: 'string', required: true, secret: true },
      { name: 'sig', type: 'string' },
    ],
    nodes: [
      { id: 'sign', type: 'set', assign: { sig: '$uppercase(vars.token)' } },
      {
        id: 'lookup',
        type: 'task',
        connector: 'http',
        action: 'request',
        inputs: {
          url: `${target.url}/lookup`,
          query: { customer: 'customer {{ vars.customer }}' },
          headers: { 'x-sig': '{{ vars.sig }}' },
        },
      },
    ],
    edges: [{ from: 'sign', to: 'lookup' }],
  });
  const runId = await start(id, { customer: 'ACME-42', token });
  assert.equal((await finished(runId)).status, 'completed');

  const { page, problems } = await runPage(runId);
  await runIs(page, 'completed');
  await clickNode(page, 'lookup');
  const resolved = page.getByTestId('node-resolved-input');
  await resolved.getByText('customer ACME-42').waitFor(LONG);
  const text = await resolved.innerText();
  assert.match(text, /"x-sig": "\*\*\*"/);
  assert.ok(!text.includes(token.toUpperCase()), text);
  // The declared templates stay beside it.
  assert.match(await page.getByTestId('node-input').innerText(), /customer \{\{ vars\.customer \}\}/);

  await clickNode(page, 'sign');
  await page.getByTestId('node-input-reason').getByText('makes no call', { exact: false }).waitFor(LONG);
  assert.equal(await page.getByTestId('node-resolved-input').count(), 0);
  assert.deepEqual(problems, []);
});

test("a running map's item counts move on its node while the run goes, without a reload", async () => {
  const id = unique('fanout');
  await submit({
    id,
    nodes: [
      {
        id: 'each',
        type: 'map',
        items: '[1, 2, 3]',
        max_concurrency: 1,
        task: {
          connector: 'http',
          action: 'request',
          inputs: { url: `${target.url}/item`, query: { i: '{{ item }}' } },
        },
      },
    ],
    edges: [],
  });
  const runId = await start(id);
  const { page, problems } = await runPage(runId);
  let reloads = 0;
  page.on('load', () => reloads++);
  const node = page.getByTestId('node-each');
  await node.getByText('1/3 items, 1 running').waitFor(LONG);
  assert.equal(await node.getAttribute('data-status'), 'running');
  releaseItem();
  await node.getByText('3/3 items').waitFor(LONG);
  await runIs(page, 'completed');
  await clickNode(page, 'each');
  await page.getByTestId('node-items').filter({ hasText: '3/3 items' }).waitFor(LONG);
  assert.equal(reloads, 0, 'the counts moved on the same page');
  assert.deepEqual(problems, []);
});

test('a secret variable and what is derived from it stay masked on the run page', async () => {
  const id = unique('secret');
  const secret = 'sup3r-s3cret-token-value';
  await submit({
    id,
    variables: [
      { name: 'token', type: 'string', secret: true, required: true },
      { name: 'header', type: 'string' },
    ],
    nodes: [{ id: 'auth', type: 'set', assign: { header: "'Bearer ' & vars.token" } }],
    edges: [],
  });
  const runId = await start(id, { token: secret });
  assert.equal((await finished(runId)).status, 'completed');
  const { page, problems } = await runPage(runId);
  await runIs(page, 'completed');
  await clickNode(page, 'auth');
  await page.getByTestId('node-detail').waitFor(LONG);
  const text = await page.locator('body').innerText();
  assert.ok(!text.includes(secret), 'the secret is never rendered');
  assert.ok(!text.includes('Bearer sup3r'), 'nor a value derived from it');
  assert.match(text, /"token": "\*\*\*"/);
  assert.match(text, /"header": "\*\*\*"/);
  assert.deepEqual(problems, []);
});

test('variables are modified from the typed form, then the approval is rejected with a comment', async () => {
  const id = unique('expense');
  await submit({
    id,
    variables: [
      { name: 'amount', type: 'number', required: true },
      { name: 'reason', type: 'string' },
    ],
    nodes: [
      { id: 'review', type: 'approval' },
      { id: 'book', type: 'set', assign: { booked: 'true' } },
    ],
    edges: [{ from: 'review', to: 'book' }],
  });
  const runId = await start(id, { amount: 120 });
  const { page, problems } = await runPage(runId);
  await page.locator('[data-testid="node-review"][data-status="waiting"]').waitFor(LONG);

  await page.getByText('Modify variables').click();
  await page.locator('#set-amount').fill('not a number');
  assert.equal(await page.getByRole('button', { name: 'Set variables' }).isDisabled(), true);
  await page.locator('#set-amount').fill('250');
  await page.locator('#set-reason').fill('conference trip');
  await page.getByRole('button', { name: 'Set variables' }).click();
  await page.getByText('set variables: accepted').waitFor(LONG);
  await page.getByText('"amount": 250').waitFor(LONG);
  await page.getByText('"reason": "conference trip"').waitFor(LONG);
  const state = (await stack.call('GET', `/v1/runs/${encodeURIComponent(runId)}`)).body;
  assert.deepEqual([state.variables.amount, state.variables.reason], [250, 'conference trip']);

  const approval = page.getByTestId('approval-review');
  await approval.getByLabel('comment').fill('over the travel budget');
  await approval.getByRole('button', { name: 'Reject' }).click();
  await runIs(page, 'failed');
  await page.locator('[data-testid="node-review"][data-status="failed"]').waitFor(LONG);
  await clickNode(page, 'review');
  const detail = page.getByTestId('node-detail');
  await detail.getByText('Rejected').first().waitFor(LONG);
  await detail.getByText('over the travel budget').first().waitFor(LONG);
  const closed = (await stack.call('GET', `/v1/runs/${encodeURIComponent(runId)}`)).body;
  assert.equal(closed.nodes.review.error.type, 'Rejected');
  assert.equal(closed.nodes.book.status, 'pending');
  assert.deepEqual(problems, []);
});

test('a failed run is retried from its page once the cause is fixed; the page follows the new run', async () => {
  const id = unique('booking');
  await submit({
    id,
    nodes: [
      {
        id: 'book',
        type: 'task',
        connector: 'http',
        action: 'request',
        inputs: { method: 'POST', url: `${target.url}/book` },
        retry_policy: { max_attempts: 1 },
      },
    ],
    edges: [],
  });
  const runId = await start(id);
  assert.equal((await finished(runId)).status, 'failed');
  const { page, problems } = await runPage(runId);
  await runIs(page, 'failed');
  await page.locator('[data-testid="node-book"][data-status="failed"]').waitFor(LONG);
  fixed = true;
  await page.getByRole('button', { name: 'Retry', exact: true }).click();
  await page.getByRole('heading', { name: `Run ${runId}.retry-1` }).waitFor(LONG);
  await runIs(page, 'completed');
  await page.locator('[data-testid="node-book"][data-status="completed"]').waitFor(LONG);
  assert.equal(target.count('/book'), 2);
  assert.deepEqual(problems, []);
});

// Last: once keys exist the gateway leaves local-development mode.
test('four-eyes: the save waits for approval, another person approves, the author activates; a refused start shows the API problem', async () => {
  const admin = await createKey(stack, 'run-page-admin', ['admin']);
  const tenant = 'reviewed';
  const settings = await stack.call(
    'PUT',
    `/v1/tenants/${tenant}`,
    { four_eyes: true, quotas: { concurrent_runs: 1 } },
    bearer(admin),
  );
  assert.ok(settings.status === 200 || settings.status === 201, JSON.stringify(settings.body));
  const author = await createKey(stack, 'ada', ['editor'], { adminKey: admin, tenant });
  const reviewer = await createKey(stack, 'ben', ['approver'], { adminKey: admin, tenant });
  const id = unique('reviewed');
  await submit(
    {
      id,
      nodes: [{ id: 'hold', type: 'approval' }],
      edges: [],
    },
    bearer(author),
  );

  // The author opens version 1 in the designer, renames it and saves: version 2 waits.
  const signIn = async (page: Page, key: string) => {
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('who').waitFor(LONG);
  };
  const ada = await openStudio(browser, stack.gateway.url, `#/designer/${id}/1`);
  await signIn(ada.page, author);
  await ada.page.locator('[id="definition.name"]').fill('Held for a decision');
  await ada.page.locator('[data-testid="validation"].valid').waitFor(LONG);
  await ada.page.getByRole('button', { name: 'Save' }).click();
  await ada.page.getByTestId('save-message').filter({ hasText: 'waiting for approval' }).waitFor(LONG);
  assert.equal(await ada.page.getByRole('button', { name: /^Activate/ }).count(), 0);

  // The reviewer approves version 2 on the versions table: under four-eyes that activates it.
  const ben = await openStudio(browser, stack.gateway.url, `#/definitions/${id}`);
  await signIn(ben.page, reviewer);
  const rowOf = (page: Page, version: string) =>
    page.getByTestId('versions').locator('tbody tr', { has: page.getByRole('link', { name: version, exact: true }) });
  await rowOf(ben.page, '2').getByRole('button', { name: 'Approve' }).click();
  await ben.page.getByText('version 2 approved').waitFor(LONG);
  await rowOf(ben.page, '2').getByText('approved by key:ben').waitFor(LONG);
  await rowOf(ben.page, '2').getByText('active', { exact: true }).waitFor(LONG);

  // The author cannot activate version 1, which nobody approved: the API's problem is shown.
  await ada.page.getByRole('link', { name: 'open definition' }).click();
  await rowOf(ada.page, '1').getByRole('button', { name: 'Activate' }).click();
  const refused = ada.page.getByRole('alert');
  await refused.waitFor(LONG);
  assert.match(await refused.innerText(), /approv/);
  // Once version 1 is approved too, the author moves the active version back to 2 from the table.
  await rowOf(ben.page, '1').getByRole('button', { name: 'Approve' }).click();
  await rowOf(ben.page, '1').getByText('active', { exact: true }).waitFor(LONG);
  await ada.page.reload();
  await rowOf(ada.page, '2').getByRole('button', { name: 'Activate' }).click();
  await ada.page.getByText('version 2 is now active').waitFor(LONG);
  await rowOf(ada.page, '2').getByText('active', { exact: true }).waitFor(LONG);
  const stored = await stack.call('GET', `/v1/definitions/${id}`, undefined, bearer(author));
  assert.equal(stored.body.name, 'Held for a decision');

  // One run waits at its approval; the tenant allows one running run, so the next start is refused.
  const waiting = await stack.call('POST', `/v1/definitions/${id}/runs`, {}, bearer(author));
  assert.equal(waiting.status, 201, JSON.stringify(waiting.body));
  await untilTrue('the waiting run to be listed as running', async () => {
    const running = await stack.call('GET', `/v1/runs?status=running&definition_id=${id}`, undefined, bearer(author));
    return running.body.items?.some((r: { run_id: string }) => r.run_id === waiting.body.run_id) ?? false;
  });
  await ada.page.getByRole('button', { name: 'Start run' }).click();
  await ada.page
    .getByRole('dialog', { name: 'start a run' })
    .getByRole('button', { name: 'Start', exact: true })
    .click();
  const alert = ada.page.getByRole('dialog', { name: 'start a run' }).getByRole('alert');
  await alert.waitFor(LONG);
  assert.match(await alert.innerText(), /concurrent_runs/);
  assert.match(await alert.innerText(), /1 running runs/);
  assert.deepEqual([...ada.problems, ...ben.problems], []);
});
