/**
 * The Studio's run list filtered like a person does it, in Chromium: choose a definition, then one
 * of its versions, and see only that version's runs; set a from/to start-time range and see the
 * list change. Every filter is kept in the URL fragment. The time bounds come from the runs' own
 * start times (as the API listed them), never from sleeps.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { openStudio, screenshot } from '../support/studio.js';
import { unique } from '../support/temporal.js';
import { until, untilTrue } from '../support/poll.js';

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

function definition(id: string, greeting: string) {
  return {
    id,
    nodes: [
      { id: 'greet', type: 'set', assign: { greeting: `'${greeting}'` } },
      { id: 'done', type: 'end', status: 'completed' },
    ],
    edges: [{ from: 'greet', to: 'done' }],
  };
}

async function startAndFinish(id: string, version: string): Promise<string> {
  const run = await stack.call('POST', `/v1/definitions/${id}/runs`, { version });
  assert.equal(run.status, 201, JSON.stringify(run.body));
  const result = await stack.call('GET', `/v1/runs/${run.body.run_id}/result?wait=true`);
  assert.equal(result.body.status, 'completed', JSON.stringify(result.body));
  return run.body.run_id as string;
}

/** The rows of the runs table, as run ids, once the list shows exactly `expected`. */
async function showsExactly(page: Page, expected: string[]): Promise<void> {
  for (const runId of expected) await page.getByTestId(`run-${runId}`).waitFor(LONG);
  if (expected.length === 0) await page.getByText('No runs.').waitFor(LONG);
  const rowsOf = page.locator('[data-testid="runs"] tbody tr');
  await untilTrue(
    `the list to show exactly ${JSON.stringify(expected)}`,
    async () => (await rowsOf.count()) === expected.length,
    60_000,
    100,
  );
  const rows = await rowsOf.evaluateAll((trs) =>
    trs.map((tr) => (tr.getAttribute('data-testid') ?? '').replace(/^run-/, '')),
  );
  assert.deepEqual(rows.sort(), [...expected].sort());
}

/** An instant as the browser's `datetime-local` value, to the second, in the browser's time zone. */
function localInput(page: Page, ms: number): Promise<string> {
  return page.evaluate((t) => {
    const d = new Date(t);
    const pad = (n: number) => String(n).padStart(2, '0');
    return (
      `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
      `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
    );
  }, ms);
}

test('the run list filters by definition version and by a start-time range, kept in the URL', async () => {
  const id = unique('filtered');
  assert.equal((await stack.call('POST', '/v1/definitions', definition(id, 'one'))).status, 201);
  const v2 = await stack.call('POST', '/v1/definitions', definition(id, 'two'));
  assert.equal(v2.body.version, '2', JSON.stringify(v2.body));
  const other = unique('elsewhere');
  assert.equal((await stack.call('POST', '/v1/definitions', definition(other, 'other'))).status, 201);
  const otherRun = await startAndFinish(other, '1');
  const a = await startAndFinish(id, '1');
  const b = await startAndFinish(id, '2');
  const c = await startAndFinish(id, '1');

  // Visibility is eventually consistent: wait until the API lists all three, and read their starts.
  let last: any;
  const listed = await until(
    () => `visibility to list the three runs: ${JSON.stringify(last?.body)}`,
    async () => {
      last = await stack.call('GET', `/v1/runs?definition_id=${id}`);
      return last.status === 200 && last.body.items.length === 3 ? last : undefined;
    },
    30_000,
    250,
  );
  const startOf = (runId: string) => Date.parse(listed.body.items.find((i: any) => i.run_id === runId).started_at);
  const first = Math.floor(startOf(a) / 1000) * 1000;
  const afterAll = Math.floor(startOf(c) / 1000) * 1000 + 1000;

  const { page, problems } = await openStudio(browser, stack.gateway.url, '#/runs');
  await page.getByTestId(`run-${otherRun}`).waitFor(LONG);
  // No version filter until a definition is chosen: versions are numbered per definition.
  assert.equal(await page.getByLabel('filter by version').count(), 0);

  await page.getByLabel('filter by definition').selectOption(id);
  await showsExactly(page, [a, b, c]);
  const version = page.getByLabel('filter by version');
  await version.locator('option', { hasText: 'v2' }).waitFor({ state: 'attached', ...LONG });
  await version.selectOption({ label: 'v2' });
  await showsExactly(page, [b]);
  assert.match(await page.getByTestId('runs').innerText(), new RegExp(`${id} v2`));
  assert.match(page.url(), new RegExp(`definition_id=${id}.*version=2|version=2.*definition_id=${id}`));
  await version.selectOption({ label: 'v1' });
  await showsExactly(page, [a, c]);
  await version.selectOption({ label: 'every version' });
  await showsExactly(page, [a, b, c]);
  await screenshot(page, 'runs-filtered-by-definition');

  // From the second the first run started: every run. To that same second: none (it is exclusive).
  const from = page.getByLabel('started from');
  const to = page.getByLabel('started before');
  await from.fill(await localInput(page, first));
  await showsExactly(page, [a, b, c]);
  assert.match(decodeURIComponent(page.url()), new RegExp(`started_after=${new Date(first).toISOString()}`));
  await to.fill(await localInput(page, first));
  await showsExactly(page, []);
  await to.fill(await localInput(page, afterAll));
  await showsExactly(page, [a, b, c]);
  // With a version as well.
  await version.selectOption({ label: 'v2' });
  await showsExactly(page, [b]);
  await version.selectOption({ label: 'every version' });
  // A range after every run: none; clearing "from" brings them back.
  await from.fill(await localInput(page, afterAll));
  await showsExactly(page, []);
  await from.fill('');
  await showsExactly(page, [a, b, c]);
  await screenshot(page, 'runs-filtered-by-time');

  // The filters live in the fragment: reloading the page keeps them, fields included.
  await to.fill(await localInput(page, first));
  await showsExactly(page, []);
  await page.reload();
  await showsExactly(page, []);
  assert.equal(await page.getByLabel('started before').inputValue(), await localInput(page, first));
  assert.equal(await page.getByLabel('filter by definition').inputValue(), id);

  // Another definition drops the version filter (its versions are other ones).
  await page.getByLabel('started before').fill('');
  await page.getByLabel('filter by version').selectOption({ label: 'v2' });
  await showsExactly(page, [b]);
  await page.getByLabel('filter by definition').selectOption(other);
  await showsExactly(page, [otherRun]);
  assert.doesNotMatch(page.url(), /version=/);
  assert.deepEqual(problems, []);
});

/** The rows of the runs table once it shows `count` of them, as run ids. */
/**
 * The run ids the list shows once it shows `count` rows, each of them one `every` accepts (so a
 * page still showing the list from before a filter applied is not taken for the filtered one).
 */
async function rowsWhen(page: Page, count: number, every: (runId: string) => boolean = () => true): Promise<string[]> {
  const rowsOf = page.locator('[data-testid="runs"] tbody tr');
  const ids = () =>
    rowsOf.evaluateAll((trs) => trs.map((tr) => (tr.getAttribute('data-testid') ?? '').replace(/^run-/, '')));
  let shown: string[] = [];
  return until(
    `the list to show ${count} such rows`,
    async () => {
      shown = await ids();
      return shown.length === count && shown.every(every) ? shown : undefined;
    },
    60_000,
    100,
  ).catch(async () => {
    // What the page showed instead: its rows, an error line, a load still under way, the address.
    const alert = await page.getByRole('alert').allInnerTexts();
    const loading = await page.getByRole('status').count();
    assert.fail(
      `the list never showed ${count} such rows: ${JSON.stringify({ shown, alert, loading, url: page.url() })}`,
    );
  });
}

test('the definitions list shows its columns and searches by id and name; the run list filters by status and pages', async () => {
  const held = unique('held');
  const stored = await stack.call('POST', '/v1/definitions', {
    id: held,
    name: 'Held for review',
    triggers: [{ type: 'event', event_type: 'invoice.received' }],
    nodes: [{ id: 'review', type: 'approval' }],
  });
  assert.equal(stored.status, 201, JSON.stringify(stored.body));
  assert.equal(
    (
      await stack.call('POST', '/v1/definitions', {
        id: held,
        name: 'Held for review',
        nodes: [{ id: 'review', type: 'approval' }],
      })
    ).status,
    201,
  );
  assert.equal((await stack.call('PUT', `/v1/definitions/${held}/active`, { version: '1' })).status, 200);
  const broken = unique('broken');
  assert.equal(
    (
      await stack.call('POST', '/v1/definitions', {
        id: broken,
        name: 'Always fails',
        nodes: [{ id: 'stop', type: 'end', status: 'failed', message: 'no' }],
      })
    ).status,
    201,
  );
  const waiting = (await stack.call('POST', `/v1/definitions/${held}/runs`, {})).body.run_id as string;
  const failed = (await stack.call('POST', `/v1/definitions/${broken}/runs`, {})).body.run_id as string;
  assert.equal((await stack.call('GET', `/v1/runs/${failed}/result?wait=true`)).body.status, 'failed');
  const paged = unique('paged');
  assert.equal((await stack.call('POST', '/v1/definitions', definition(paged, 'many'))).status, 201);
  const many: string[] = [];
  for (let i = 0; i < 21; i++) many.push(await startAndFinish(paged, '1'));
  for (const [id, count] of [
    [paged, 21],
    [held, 1],
    [broken, 1],
  ] as const) {
    await untilTrue(
      `visibility to list the runs of ${id}`,
      async () => (await stack.call('GET', `/v1/runs?definition_id=${id}&page_size=50`)).body.items.length === count,
      30_000,
      250,
    );
  }

  // The definitions list: id, name, active version, versions, triggers of the active one, last runs.
  const { page, problems } = await openStudio(browser, stack.gateway.url);
  const row = page.getByTestId(`definition-${held}`);
  await row.locator('.outcomes .state').first().waitFor(LONG);
  const cells = await row.locator('td').allInnerTexts();
  assert.deepEqual(cells.slice(0, 5), [held, 'Held for review', '1', '2', 'event']);
  assert.match(cells[5] ?? '', /running/);
  await page.getByTestId(`definition-${broken}`).locator('.outcomes .state-failed').waitFor(LONG);
  await page.getByLabel('search definitions').fill('always FAILS');
  await page.getByTestId(`definition-${held}`).waitFor({ state: 'detached', ...LONG });
  await page.getByTestId(`definition-${broken}`).waitFor(LONG);
  await page.getByLabel('search definitions').fill(held);
  await page.getByTestId(`definition-${broken}`).waitFor({ state: 'detached', ...LONG });
  await page.getByTestId(`definition-${held}`).waitFor(LONG);

  // The run list by status.
  await page.getByRole('link', { name: 'Runs' }).click();
  const status = page.getByLabel('filter by status');
  await status.selectOption('running');
  await page.getByTestId(`run-${waiting}`).waitFor(LONG);
  assert.ok(!(await rowsWhen(page, await page.locator('[data-testid="runs"] tbody tr').count())).includes(failed));
  await status.selectOption('failed');
  await page.getByTestId(`run-${failed}`).waitFor(LONG);
  await page.getByTestId(`run-${waiting}`).waitFor({ state: 'detached', ...LONG });
  for (const r of await rowsWhen(page, await page.locator('[data-testid="runs"] tbody tr').count()))
    assert.match(await page.getByTestId(`run-${r}`).innerText(), /failed/);
  assert.match(page.url(), /status=failed/);

  // Paging: 21 runs of one definition, 20 a page.
  await status.selectOption('');
  // As a person would, the next filter is chosen once the page shows this one's (its address).
  await page.waitForURL((url) => !/status=/.test(url.hash), LONG);
  await page.getByLabel('filter by definition').selectOption(paged);
  await page.waitForURL((url) => url.hash.includes(`definition_id=${paged}`) && !/status=/.test(url.hash), LONG);
  const ofPaged = (runId: string) => runId.startsWith(`${paged}-`);
  const first = await rowsWhen(page, 20, ofPaged);
  await page.getByRole('button', { name: 'Next page' }).click();
  const second = await rowsWhen(page, 1, ofPaged);
  assert.equal(await page.getByRole('button', { name: 'Next page' }).isDisabled(), true);
  assert.deepEqual([...first, ...second].sort(), [...many].sort());
  await page.getByRole('button', { name: 'Previous page' }).click();
  assert.deepEqual((await rowsWhen(page, 20, ofPaged)).sort(), [...first].sort());
  assert.equal(await page.getByRole('button', { name: 'Previous page' }).isDisabled(), true);
  assert.deepEqual(problems, []);
});
