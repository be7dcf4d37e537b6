/**
 * Replay safety: every recorded history under test/histories replays against the current
 * workflow code, and a history altered to diverge is caught, by the library and by
 * `npm run replay` (non-zero exit, the node named).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { ErrorHandler, WorkflowNode } from '../../interpreter/definition-schema.js';
import type { ControlAction } from '../../interpreter/control.js';
import { historyFiles, replayDefinition, replayFiles } from '../../src/replay/replay.js';
import { startRun } from '../support/runs.js';
import { connectClient, startTestWorker, unique } from '../support/temporal.js';
import { until } from '../support/poll.js';

const histories = fileURLToPath(new URL('../../../test/histories/', import.meta.url));
const cli = fileURLToPath(new URL('../../src/cli/replay.js', import.meta.url));

/** A copy of a recorded history whose definition's first node became a timer instead of a task. */
function diverged(dir: string): string {
  const history = JSON.parse(readFileSync(join(histories, 'task-and-set.json'), 'utf8'));
  const payload = history.events[0].workflowExecutionStartedEventAttributes.input.payloads[0];
  const args = JSON.parse(Buffer.from(payload.data, 'base64').toString());
  assert.equal(args.definition.nodes[0].id, 'health');
  args.definition.nodes[0] = { id: 'health', type: 'wait', duration: '1s' };
  payload.data = Buffer.from(JSON.stringify(args)).toString('base64');
  const file = join(dir, 'diverged.json');
  writeFileSync(file, JSON.stringify(history));
  return file;
}

describe('replay', () => {
  test('the corpus covers every node type, error-handler action and operator action', () => {
    const corpus = historyFiles([histories]);
    const text = corpus.map((file) => readFileSync(file, 'utf8')).join('\n');
    const decoded = [...text.matchAll(/"data": ?"([A-Za-z0-9+/=]{40,})"/g)].map((m) =>
      Buffer.from(m[1] ?? '', 'base64').toString(),
    );
    const missing = (needles: string[]) => needles.filter((n) => !decoded.some((d) => d.includes(n)));
    // From the schema's discriminated union, so a new node type without a history fails here.
    const types = WorkflowNode.options.map((option) => option.shape.type.value);
    assert.ok(types.length >= 11 && types.includes('ai'), JSON.stringify(types));
    assert.deepEqual(missing(types.map((t) => `"type":"${t}"`)), [], 'node types with no history');
    const actions = ErrorHandler.shape.action.options;
    assert.deepEqual(missing(actions.map((a) => `"action":"${a}"`)), [], 'handler actions with no history');
    // Operator actions (README "Operating runs") reach a run as `control` Updates of these
    // types; a retry or rerun of a closed run starts a new run that names the original.
    const operator: Array<ControlAction['type']> = [
      'pause',
      'resume',
      'cancel',
      'retry',
      'rerun',
      'skip',
      'set_variables',
      'approve',
    ];
    assert.deepEqual(missing(operator.map((a) => `"type":"${a}"`)), [], 'operator actions with no history');
    assert.deepEqual(missing(['"retry_of":', '"rerun_of":']), [], 'retry and rerun of closed runs');
  });

  test('every recorded history replays against the current code', async () => {
    const outcomes = await replayFiles([histories]);
    assert.ok(outcomes.length >= 17, `${outcomes.length} histories`);
    assert.deepEqual(
      outcomes.filter((o) => !o.ok),
      [],
    );
  });

  test('a history that diverges from the code is caught and names the node', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-replay-'));
    try {
      const file = diverged(dir);
      const [outcome] = await replayFiles([file]);
      assert.equal(outcome?.ok, false);
      assert.match(outcome?.error ?? '', /DeterminismViolationError/);
      assert.match(outcome?.error ?? '', /node "health"/);

      const run = spawnSync(process.execPath, [cli, join(histories, 'condition.json'), file], { encoding: 'utf8' });
      assert.equal(run.status, 1, run.stdout + run.stderr);
      assert.match(run.stdout, /ok {4}condition\.json/);
      assert.match(run.stdout, /FAIL {2}diverged\.json[\s\S]*node "health"/);
      assert.match(run.stdout, /1 passed, 1 failed/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('replay --definition fetches the closed runs of a definition from Temporal and replays them', async () => {
    const taskQueue = unique('replay-def');
    const worker = await startTestWorker(taskQueue);
    const { client, connection } = await connectClient();
    try {
      const id = unique('replayed');
      const definition = {
        id,
        variables: [{ name: 'n', type: 'number', default: 0 }],
        nodes: [
          { id: 'double', type: 'set', assign: { n: 'vars.n * 2' } },
          { id: 'nap', type: 'wait', duration: '10ms' },
        ],
        edges: [{ from: 'double', to: 'nap' }],
      };
      for (const n of [1, 2, 3]) await (await startRun(client, taskQueue, definition, { n }, {})).result();
      const outcomes = await until('visibility to list the three runs', async () => {
        const found = await replayDefinition(client, id, 10);
        return found.length >= 3 ? found : undefined;
      });
      assert.equal(outcomes.length, 3);
      assert.deepEqual(
        outcomes.filter((o) => !o.ok),
        [],
      );
    } finally {
      await connection.close();
      await worker.shutdown();
    }
  });
});
