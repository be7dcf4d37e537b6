/**
 * The Temporal Web UI shows a run's activities by node: a run of a definition with named nodes,
 * opened in headless Chromium at the `ui_url` the gateway returned, lists each activity's
 * summary (`id: name`). The suite's dev server has no UI, so this file starts its own with one;
 * the screenshot is kept for a person to look at (its path is printed).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.js';
import { freePort, startDevServer, type TemporalServer } from '../../src/temporal/dev-server.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { unique } from '../support/temporal.js';

let temporal: TemporalServer;
let stack: TestStack;
let target: HttpTarget;
let browser: Browser;

before(async () => {
  temporal = await startDevServer({ uiPort: await freePort(), log: () => undefined });
  assert.ok(temporal.uiUrl, 'the dev server was started with its Web UI');
  // This file runs in its own process: the stack's worker and gateway use the server with a UI.
  process.env.TEMPORAL_ADDRESS = temporal.address;
  stack = await startTestStack({ env: { TEMPORAL_UI_URL: temporal.uiUrl } });
  target = await startHttpTarget({ '/orders/A-1': (_req, res) => json(res, 200, { id: 'A-1', total: 42 }) });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await target?.close();
  await stack?.close();
  await temporal?.stop();
});

test("the Web UI shows a run's activities by node id and name", async () => {
  const id = unique('web-ui');
  const url = `${target.url}/orders/A-1`;
  const submitted = await stack.call('POST', '/v1/definitions', {
    id,
    name: 'Web UI check',
    nodes: [
      {
        id: 'fetch_order',
        name: 'Fetch the order',
        type: 'task',
        connector: 'http',
        action: 'request',
        inputs: { url },
      },
      { id: 'recheck', name: 'Check it again', type: 'task', connector: 'http', action: 'request', inputs: { url } },
    ],
    edges: [{ from: 'fetch_order', to: 'recheck' }],
  });
  assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
  const started = await stack.call('POST', `/v1/definitions/${id}/runs`, { input: {} });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const result = await stack.call('GET', `/v1/runs/${started.body.run_id}/result?wait=true`);
  assert.equal(result.body.status, 'completed');

  const uiUrl: string = started.body.ui_url;
  assert.ok(uiUrl.startsWith(temporal.uiUrl!), uiUrl);
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.goto(uiUrl);
  for (const summary of ['fetch_order: Fetch the order', 'recheck: Check it again']) {
    await page.getByText(summary).first().waitFor({ timeout: 30_000 });
  }
  const dir = mkdtempSync(join(tmpdir(), 'weft-web-ui-'));
  const path = join(dir, 'run.png');
  await page.screenshot({ path, fullPage: true });
  process.stderr.write(`[web-ui] screenshot: ${path}\n`);
  const png = readFileSync(path);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
  assert.ok(png.length > 20_000, `a screenshot with content (${png.length} bytes)`);
  assert.equal(png.readUInt32BE(16), 1600, 'as wide as the viewport');
});
