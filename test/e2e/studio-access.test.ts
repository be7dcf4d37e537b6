/**
 * weft Studio with API keys, in Chromium (acceptance 2 and 5 of issue 12): an approver signs in
 * with a key, sees the approval node waiting on the run page, approves it with a comment, and the
 * run completes with the audit log naming that key; a viewer sees no control of any kind, and
 * another tenant's runs are never listed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { bearer, createKey, putTenant } from '../support/access.js';
import { launchChromium } from '../support/browser.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { openStudio, screenshot } from '../support/studio.js';

let stack: TestStack;
let browser: Browser;
let admin: string;
const LONG = { timeout: 60_000 };

const approvalFlow = {
  id: 'expense',
  name: 'Expense approval',
  variables: [{ name: 'amount', type: 'number', required: true }],
  nodes: [
    { id: 'check', type: 'set', assign: { large: 'vars.amount > 100' } },
    { id: 'manager', type: 'approval', approvers: ['key:alice'] },
    { id: 'book', type: 'set', assign: { booked: 'true' } },
  ],
  edges: [
    { from: 'check', to: 'manager' },
    { from: 'manager', to: 'book' },
  ],
};

before(async () => {
  stack = await startTestStack();
  browser = await launchChromium();
  admin = await createKey(stack, 'studio-admin', ['admin']);
  assert.equal((await stack.call('POST', '/v1/definitions', approvalFlow, bearer(admin))).status, 201);
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

async function signIn(page: Page, key: string): Promise<void> {
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('who').waitFor(LONG);
}

async function startRun(input: unknown, key = admin): Promise<string> {
  const started = await stack.call('POST', '/v1/definitions/expense/runs', { input }, bearer(key));
  assert.equal(started.status, 201, JSON.stringify(started.body));
  return started.body.run_id as string;
}

test('acceptance 2: approve a waiting approval node from the run page with a comment; the audit log names the caller', async () => {
  const runId = await startRun({ amount: 250 });
  const approver = await createKey(stack, 'alice', ['approver'], { adminKey: admin });
  const { page, problems } = await openStudio(browser, stack.gateway.url);
  await signIn(page, approver);
  assert.match(await page.getByTestId('who').innerText(), /key:alice/);
  await page.getByRole('link', { name: 'Runs', exact: true }).click();
  await page.getByRole('link', { name: runId }).click();
  await page.locator('[data-testid="node-manager"][data-status="waiting"]').waitFor(LONG);
  await page.getByTestId('approval-manager').waitFor(LONG);
  // An approver holds no `run` permission: no operator controls.
  assert.equal(await page.getByTestId('controls').count(), 0);
  await page.getByLabel('comment').fill('within budget');
  await page.getByRole('button', { name: 'Approve' }).click();
  const outcome = page.locator('main .ok, main [role="alert"]').first();
  await outcome.waitFor(LONG);
  assert.match(await outcome.innerText(), /approve manager: accepted/);
  await page.locator('[data-testid="run-status"]', { hasText: 'completed' }).waitFor(LONG);
  await page.locator('[data-testid="node-book"][data-status="completed"]').waitFor(LONG);
  await page.locator('.react-flow__node[data-id="manager"]').click();
  const detail = await page.getByTestId('node-detail').innerText();
  assert.match(detail, /"approved": true/);
  assert.match(detail, /within budget/);
  const audit = await stack.call(
    'GET',
    `/v1/audit?action=run.approve&target=${encodeURIComponent(runId)}`,
    undefined,
    bearer(admin),
  );
  assert.equal(audit.status, 200);
  assert.deepEqual(
    audit.body.items.map((e: { actor: string; status: number }) => [e.actor, e.status]),
    [['key:alice', 202]],
  );
  const state = await stack.call('GET', `/v1/runs/${encodeURIComponent(runId)}`, undefined, bearer(admin));
  assert.equal(state.body.nodes.manager.output.by, 'key:alice');
  assert.equal(state.body.nodes.manager.output.comment, 'within budget');
  // The page links the run in the Temporal Web UI, as the state answer gives it.
  assert.match(state.body.ui_url, /\/namespaces\/[^/]+\/workflows\/[^/]+\/[^/]+\/history$/);
  assert.equal(await page.getByRole('link', { name: 'Temporal Web UI' }).getAttribute('href'), state.body.ui_url);
  assert.deepEqual(problems, []);
});

test('acceptance 5: a viewer sees no control buttons, and another tenant’s runs are not listed', async () => {
  const waiting = await startRun({ amount: 500 });
  await putTenant(stack, admin, 'other-team');
  const otherAdmin = await createKey(stack, 'other-admin', ['admin'], { adminKey: admin, tenant: 'other-team' });
  assert.equal((await stack.call('POST', '/v1/definitions', approvalFlow, bearer(otherAdmin))).status, 201);
  const started = await stack.call(
    'POST',
    '/v1/definitions/expense/runs',
    { input: { amount: 1 }, run_id: 'other-team-run' },
    bearer(otherAdmin),
  );
  assert.equal(started.status, 201, JSON.stringify(started.body));

  const viewer = await createKey(stack, 'victor', ['viewer'], { adminKey: admin });
  const { page, problems } = await openStudio(browser, stack.gateway.url);
  await signIn(page, viewer);
  // No way to edit: no designer, no new definition, no start, no activation.
  assert.equal(await page.getByRole('link', { name: 'Designer' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'New definition' }).count(), 0);
  await page.getByRole('link', { name: 'expense' }).click();
  await page.getByTestId('graph').waitFor(LONG);
  for (const name of ['Edit in designer', 'Start run', 'Activate', 'Approve'])
    assert.equal(await page.getByRole('button', { name }).count(), 0, `a viewer sees no "${name}"`);

  await page.getByRole('link', { name: 'Runs', exact: true }).click();
  await page.getByRole('link', { name: waiting }).waitFor(LONG);
  const listed = await page.getByTestId('runs').innerText();
  assert.doesNotMatch(listed, /other-team-run/, 'another tenant’s run is not listed');
  await page.getByRole('link', { name: waiting }).click();
  await page.locator('[data-testid="node-manager"][data-status="waiting"]').waitFor(LONG);
  await page.locator('.react-flow__node[data-id="manager"]').click();
  await page.getByTestId('node-detail').waitFor(LONG);
  await screenshot(page, 'run-waiting');
  assert.equal(await page.getByTestId('controls').count(), 0);
  assert.equal(await page.getByTestId('approval-manager').count(), 0);
  const buttons = await page.locator('main button').evaluateAll((all) => all.map((b) => b.textContent ?? ''));
  for (const word of ['Pause', 'Resume', 'Cancel', 'Retry', 'Skip', 'Approve', 'Reject', 'Set variables', 'Deliver'])
    assert.ok(!buttons.some((b) => b.includes(word)), `a viewer sees no "${word}" (buttons: ${buttons.join(', ')})`);
  // The gateway agrees: the same key cannot approve.
  const refused = await stack.call(
    'POST',
    `/v1/runs/${encodeURIComponent(waiting)}/approvals/manager`,
    { approved: true },
    bearer(viewer),
  );
  assert.equal(refused.status, 403);
  assert.deepEqual(problems, []);
});

test('an operator pauses, resumes and cancels a run from its page; each control is recorded with who did it', async () => {
  const runId = await startRun({ amount: 42 });
  const operator = await createKey(stack, 'olga', ['operator'], { adminKey: admin });
  const { page, problems } = await openStudio(browser, stack.gateway.url, `#/runs/${encodeURIComponent(runId)}`);
  await signIn(page, operator);
  await page.locator('[data-testid="node-manager"][data-status="waiting"]').waitFor(LONG);
  // An operator holds no `approve` permission: no approval box.
  assert.equal(await page.getByTestId('approval-manager').count(), 0);
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.locator('[data-testid="run-status"]', { hasText: 'paused' }).waitFor(LONG);
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.locator('[data-testid="run-status"]', { hasText: 'running' }).waitFor(LONG);
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.locator('[data-testid="run-status"]', { hasText: 'cancelled' }).waitFor(LONG);
  const audit = await stack.call('GET', `/v1/audit?target=${encodeURIComponent(runId)}`, undefined, bearer(admin));
  assert.deepEqual(
    audit.body.items
      .filter((e: { action: string }) => e.action !== 'run.start')
      .map((e: { actor: string; action: string }) => `${e.actor} ${e.action}`)
      .sort(),
    ['key:olga run.cancel', 'key:olga run.pause', 'key:olga run.resume'],
  );
  assert.deepEqual(problems, []);
});
