/**
 * "Store as template" from the Studio designer, in Chromium as a person does it: open a definition
 * in the designer, store it as a template (id, name, description typed in; the API's problems
 * shown as it answered them), find it in the gallery, instantiate it into a new definition and
 * see that definition stored with the same nodes.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { openStudio, screenshot } from '../support/studio.js';

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

const greeter = {
  id: 'greeter',
  name: 'Greeter',
  variables: [{ name: 'who', type: 'string', default: 'world' }],
  nodes: [
    { id: 'greet', type: 'set', assign: { greeting: 'vars.who' } },
    { id: 'done', type: 'end', status: 'completed' },
  ],
  edges: [{ from: 'greet', to: 'done' }],
};

/** Edges as from → to (the stored form adds `on: "success"`). */
const links = (edges: Array<{ from: string; to: string }>) => edges.map((e) => `${e.from}->${e.to}`);

test('save a definition as a template from the designer, find it in the gallery, instantiate it', async () => {
  const submitted = await stack.call('POST', '/v1/definitions', greeter);
  assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
  const { page, problems } = await openStudio(browser, stack.gateway.url, '#/definitions/greeter');
  await page.getByRole('button', { name: 'Edit in designer' }).click();
  await page.locator('.react-flow__node').nth(1).waitFor(LONG);
  await page.getByRole('button', { name: 'Store as template' }).click();
  const form = page.getByRole('form', { name: 'store as template' });
  await form.waitFor(LONG);
  assert.equal(await form.getByLabel('template name').inputValue(), 'Greeter');

  // A bad id: the API's problem, shown verbatim, naming the field.
  await form.getByLabel('template id').fill('Not An Id');
  await form.getByRole('button', { name: 'Store template' }).click();
  const alert = form.getByRole('alert');
  await alert.waitFor(LONG);
  assert.match(await alert.innerText(), /validation_failed/);
  assert.match(await alert.innerText(), /\/id.*expected an id matching/);
  assert.equal((await stack.call('GET', '/v1/templates/Not%20An%20Id')).status, 404);

  await form.getByLabel('template id').fill('greeter-template');
  await form.getByLabel('template name').fill('Friendly greeter');
  await form.getByLabel('template description').fill('Says hello to whoever it is told.');
  await form.getByRole('button', { name: 'Store template' }).click();
  await form.getByTestId('template-saved').filter({ hasText: 'Stored as template "greeter-template"' }).waitFor(LONG);
  const stored = await stack.call('GET', '/v1/templates/greeter-template');
  assert.equal(stored.status, 200, JSON.stringify(stored.body));
  assert.equal(stored.body.name, 'Friendly greeter');
  assert.equal(stored.body.description, 'Says hello to whoever it is told.');
  assert.deepEqual(stored.body.parameters, []);
  // The definition as the designer held it (the gateway's stored form, defaults filled in), without id and version.
  assert.equal(stored.body.definition.id, undefined);
  assert.equal(stored.body.definition.version, undefined);
  for (const key of ['name', 'variables', 'nodes'] as const)
    assert.deepEqual(stored.body.definition[key], greeter[key], key);
  assert.deepEqual(links(stored.body.definition.edges), links(greeter.edges));
  await screenshot(page, 'designer-saved-as-template');

  // Storing it again under the same id, unchanged: the API says so; nothing is duplicated.
  await form.getByRole('button', { name: 'Store template' }).click();
  await form.getByTestId('template-saved').filter({ hasText: 'already holds exactly this' }).waitFor(LONG);

  // The gallery lists it; instantiate it into a new definition.
  await page.getByRole('link', { name: 'Templates' }).click();
  const card = page.getByTestId('template-greeter-template');
  await card.waitFor(LONG);
  assert.match(await card.innerText(), /Friendly greeter/);
  assert.match(await card.innerText(), /Says hello/);
  await card.getByRole('button', { name: 'Use this template' }).click();
  await page.locator('#template-definition-id').fill('greeter-copy');
  await page.getByRole('button', { name: 'Create definition' }).click();
  await page.getByTestId('versions').waitFor(LONG);
  const copy = await stack.call('GET', '/v1/definitions/greeter-copy');
  assert.equal(copy.status, 200, JSON.stringify(copy.body));
  assert.deepEqual(copy.body.nodes, greeter.nodes);
  assert.deepEqual(links(copy.body.edges), links(greeter.edges));
  assert.deepEqual(problems, []);
});
