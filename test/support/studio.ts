/**
 * Driving weft Studio in Chromium as a person does: pages opened at the gateway's `/`, nodes
 * dragged from the palette, handles connected with the mouse. Every page records what the
 * browser refused (CSP violations, failed requests, page errors) so a test can assert none.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Locator, Page } from 'playwright-core';

export interface StudioPage {
  page: Page;
  /** CSP violations, uncaught errors and failed requests seen so far. */
  problems: string[];
}

export async function openStudio(browser: Browser, url: string, hash = ''): Promise<StudioPage> {
  const context = await browser.newContext({ viewport: { width: 1500, height: 1000 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content.Security.Policy|Refused to/i.test(message.text()))
      problems.push(`console: ${message.text()}`);
  });
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));
  await page.goto(`${url}/${hash}`);
  return { page, problems };
}

/** Drags a node type from the palette onto the canvas, at `x`, `y` inside the canvas. */
export async function dropNode(page: Page, type: string, x: number, y: number): Promise<void> {
  await page.getByTestId(`palette-${type}`).dragTo(page.getByTestId('canvas'), { targetPosition: { x, y } });
}

function node(page: Page, id: string): Locator {
  return page.locator(`.react-flow__node[data-id="${id}"]`);
}

/** Connects `from`'s source handle to `to`'s target handle with the mouse. */
export async function connect(page: Page, from: string, to: string): Promise<void> {
  const source = await node(page, from).locator('.react-flow__handle.source').boundingBox();
  const target = await node(page, to).locator('.react-flow__handle.target').boundingBox();
  if (!source || !target) throw new Error(`the handles of ${from} → ${to} are not on the page`);
  const edges = page.locator('.react-flow__edge');
  const before = await edges.count();
  await page.mouse.move(source.x + source.width / 2, source.y + source.height / 2);
  await page.mouse.down();
  await page.mouse.move(target.x + target.width / 2, target.y + target.height / 2 - 10, { steps: 12 });
  await page.mouse.move(target.x + target.width / 2, target.y + target.height / 2, { steps: 4 });
  await page.mouse.up();
  await edges.nth(before).waitFor({ timeout: 10_000 });
}

/** Clicks a node of the graph on the page (opens its form or detail). */
export async function clickNode(page: Page, id: string): Promise<void> {
  await node(page, id).locator('.node-id').click();
}

/** Saves a screenshot under docs/ when STUDIO_SCREENSHOTS is set (how the README's pictures are made). */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (!process.env.STUDIO_SCREENSHOTS) return;
  const docs = fileURLToPath(new URL('../../../docs/studio/', import.meta.url));
  mkdirSync(docs, { recursive: true });
  await page.screenshot({ path: join(docs, `${name}.png`) });
}
