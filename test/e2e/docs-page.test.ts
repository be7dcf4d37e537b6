/**
 * The API page at /docs in a real browser (Debian's Chromium, driven by playwright-core): it
 * loads Swagger UI from the gateway itself and renders the gateway's own OpenAPI document.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.js';
import { startTestStack, type TestStack } from '../support/gateway.js';

let stack: TestStack;
let browser: Browser;

before(async () => {
  stack = await startTestStack({ worker: false });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

test('/docs renders every operation of the OpenAPI document', async () => {
  const page = await browser.newPage();
  const failed: string[] = [];
  page.on('requestfailed', (request) => failed.push(request.url()));
  await page.goto(`${stack.gateway.url}/docs`);
  await page.getByText('/v1/definitions/{id}/runs').first().waitFor({ timeout: 20_000 });
  const text = await page.locator('#api').innerText();
  for (const path of ['/v1/definitions', '/v1/runs/{run_id}/pause', '/v1/events', '/v1/hooks/{definition_id}']) {
    assert.ok(text.includes(path), `${path} is not on the page`);
  }
  assert.deepEqual(failed, []);
  const missing = await fetch(`${stack.gateway.url}/docs/assets/no-such-file.js`);
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'not_found');
});
