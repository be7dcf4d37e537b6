/**
 * Workers run the workflow bundles `npm run build` made (dist/workflow-bundles/), and bundle the
 * workflow code at start, saying why, when the one for their variant is missing or stale.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import {
  DEFAULT_BUNDLE_DIR,
  VARIANTS,
  inputsHash,
  prebuiltBundle,
  variantName,
} from '../../src/worker/workflow-bundles.js';
import type { RunningWorker } from '../../src/worker/create-worker.js';
import type { Logger } from '../../src/logger.js';
import { untilTrue } from '../support/poll.js';
import { startRun } from '../support/runs.js';
import { connectClient, startTestWorker, unique } from '../support/temporal.js';
import { workerProcesses } from '../support/worker-process.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'weft-bundles-'));
let client: Client;
let connection: Connection;

before(async () => {
  ({ client, connection } = await connectClient());
});

after(async () => {
  await connection?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** A definition of workflow code only: it completes only if the bundle runs the interpreter. */
const sum = {
  id: 'bundle-sum',
  variables: [
    { name: 'a', type: 'number' },
    { name: 'b', type: 'number' },
  ],
  nodes: [{ id: 'add', type: 'set', assign: { total: 'vars.a + vars.b' } }],
  edges: [],
};

async function runSum(taskQueue: string): Promise<unknown> {
  const handle = await startRun(client, taskQueue, sum, { a: 2, b: 40 });
  return handle.result();
}

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A real pino logger whose lines the test reads. */
function capturingLogger(): { logger: Pick<Logger, 'info' | 'warn'>; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines };
}

/** A copy of the built bundles whose `plain` manifest entry also covers `extra`, a file the test can change. */
function bundleCopy(name: string, extra: string): string {
  const dir = join(scratch, name);
  cpSync(DEFAULT_BUNDLE_DIR, dir, { recursive: true });
  writeFileSync(extra, 'first content');
  const manifestPath = join(dir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, { inputs: string[]; hash: string }>;
  const plain = manifest.plain;
  assert.ok(plain, 'the build wrote a plain bundle');
  plain.inputs = [...plain.inputs, relative(ROOT, extra)];
  plain.hash = inputsHash(plain.inputs) ?? '';
  writeFileSync(manifestPath, JSON.stringify(manifest));
  return dir;
}

test('npm run build made a current bundle of every variant', async () => {
  for (const variant of VARIANTS) {
    const prebuilt = await prebuiltBundle(variant);
    assert.deepEqual(prebuilt, { codePath: join(DEFAULT_BUNDLE_DIR, `${variantName(variant)}.js`) });
  }
});

test('the worker process loads the prebuilt bundle, says so, and runs a definition', async () => {
  const taskQueue = unique('bundle-cli');
  const workers = workerProcesses(taskQueue, { LOG_LEVEL: 'info' }, 'pipe');
  try {
    const child = workers.spawn();
    const lines: LogLine[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => lines.push(JSON.parse(line) as LogLine));
    await untilTrue('the worker to run', () => lines.some((l) => l.msg === 'worker running'), 120_000, 50);
    assert.deepEqual(
      lines.filter((l) => /bundle/.test(l.msg)).map((l) => [l.msg, l.bundle]),
      [['prebuilt workflow bundle', join(DEFAULT_BUNDLE_DIR, 'plain.js')]],
    );
    assert.deepEqual(await runSum(taskQueue), { a: 2, b: 40, total: 42 });
  } finally {
    workers.cleanup();
  }
});

async function withWorker(
  options: Parameters<typeof startTestWorker>[1],
  body: (worker: RunningWorker, taskQueue: string) => Promise<void>,
) {
  const taskQueue = unique('bundle');
  const worker = await startTestWorker(taskQueue, options);
  try {
    await body(worker, taskQueue);
  } finally {
    await worker.shutdown();
  }
}

/** A worker given `bundleDir` bundles at start: it says why, once, at warn level, and still runs definitions. */
async function assertBundlesAtStart(bundleDir: string, reason: string): Promise<void> {
  const { logger, lines } = capturingLogger();
  await withWorker({ bundleDir, logger }, async (worker, taskQueue) => {
    assert.deepEqual(worker.bundle, { bundled: reason });
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg, l.reason]),
      [[40, 'bundling the workflow code at start', reason]],
    );
    assert.deepEqual(await runSum(taskQueue), { a: 2, b: 40, total: 42 });
  });
}

test('a prebuilt bundle whose inputs changed is not used: the worker bundles at start, warns, and runs', async () => {
  const input = join(scratch, 'an-input.js');
  const bundleDir = bundleCopy('stale', input);
  assert.ok('codePath' in (await prebuiltBundle(VARIANTS[0]!, bundleDir)), 'current before the change');
  writeFileSync(input, 'changed content');
  const codePath = join(bundleDir, 'plain.js');
  await assertBundlesAtStart(
    bundleDir,
    `the prebuilt workflow bundle ${codePath} is stale: its inputs changed since it was built`,
  );
});

test('without a prebuilt bundle the worker bundles at start, warns, and runs', async () => {
  const bundleDir = join(scratch, 'missing');
  await assertBundlesAtStart(
    bundleDir,
    `no prebuilt workflow bundle ${join(bundleDir, 'plain.js')} (run npm run build)`,
  );
});

test('a current prebuilt bundle is used as it is', async () => {
  const bundleDir = bundleCopy('current', join(scratch, 'unchanged-input.js'));
  const { logger, lines } = capturingLogger();
  await withWorker({ bundleDir, logger }, async (worker, taskQueue) => {
    assert.deepEqual(worker.bundle, { prebuilt: join(bundleDir, 'plain.js') });
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg, l.bundle]),
      [[30, 'prebuilt workflow bundle', join(bundleDir, 'plain.js')]],
    );
    assert.deepEqual(await runSum(taskQueue), { a: 2, b: 40, total: 42 });
  });
});
