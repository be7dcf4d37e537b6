/**
 * A run survives the loss of its worker: the worker process is killed (SIGKILL) while a slow
 * HTTP call is in flight, a new worker process starts, and the run completes.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, test } from 'node:test';
import type { ServerResponse } from 'node:http';
import { validateDefinition } from '../../interpreter/validate-definition.js';
import { untilTrue } from '../support/poll.js';
import { json, startHttpTarget } from '../support/http-target.js';
import { connectClient, unique } from '../support/temporal.js';
import { workerProcesses } from '../support/worker-process.js';

const taskQueue = unique('restart');
const workers = workerProcesses(taskQueue);
const hanging: ServerResponse[] = [];

after(() => {
  workers.cleanup();
  for (const res of hanging) res.destroy();
});

test('a run completes after its worker is killed mid-call and a new one starts', async () => {
  const target = await startHttpTarget({
    // The first call never answers (its worker dies); the retry answers at once.
    '/slow': (_req, res, nth) => (nth === 1 ? void hanging.push(res) : json(res, 200, { served_by_attempt: nth })),
  });
  const { client, connection } = await connectClient();
  try {
    const validated = validateDefinition({
      id: 'restart-flow',
      nodes: [
        {
          id: 'slow',
          type: 'task',
          connector: 'http',
          action: 'request',
          output: 'answer',
          timeout: '4s',
          retry_policy: { initial_interval: '200ms' },
          inputs: { url: `${target.url}/slow`, timeout: '60s' },
        },
        { id: 'after', type: 'set', assign: { done: 'true' } },
      ],
      edges: [{ from: 'slow', to: 'after' }],
    });
    assert.ok(validated.ok);
    const first = workers.spawn();
    const handle = await client.workflow.start('interpret', {
      taskQueue,
      workflowId: unique('restart-flow'),
      args: [{ definition: { ...validated.definition, version: '1' }, input: {} }],
    });
    await untilTrue('the slow call to arrive', () => target.count('/slow') === 1, 60_000, 50);
    first.kill('SIGKILL');
    await once(first, 'exit');

    workers.spawn();
    const result = (await handle.result()) as { answer: { body: unknown }; done: boolean };
    assert.deepEqual(result.answer.body, { served_by_attempt: 2 });
    assert.equal(result.done, true);
    assert.equal(target.count('/slow'), 2);
  } finally {
    await connection.close();
    for (const res of hanging) res.destroy();
    await target.close();
  }
});
