/**
 * Records the histories the corpus lacked (`npm run record-histories` runs it last): an `ai`
 * node against a local OpenAI-compatible server (structured output, one repair of an invalid
 * answer), and the operator actions no other recorder covers: cancel of a waiting run, retry of
 * a paused run's failed node, retry of a closed failed run (the run it starts), and rerun of a
 * paused run from an earlier node (it reruns itself). The suite replays them with the rest.
 * Re-record only on purpose.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { obtainTemporal, protectServer } from '../../src/temporal/dev-server.js';

const log = (m: string) => process.stderr.write(`[record-operators] ${m}\n`);
const server = await obtainTemporal({ headless: true, log });
process.env.TEMPORAL_ADDRESS = server.address;
process.env.WEFT_EGRESS_PROTECT = protectServer(server, process.env.WEFT_EGRESS_PROTECT);
const { startTestStack } = await import('../support/gateway.js');
const { json, startHttpTarget } = await import('../support/http-target.js');
const { startFakeOpenAi } = await import('../support/fake-openai.js');
const { until } = await import('../support/poll.js');
const { connectClient } = await import('../support/temporal.js');

const calls = new Map<string, number>();
const target = await startHttpTarget({
  '/step': (_req, res) => json(res, 200, { ok: true }),
  // Fails (404, not retried) the first call per key, then answers 200: what an operator's retry repairs.
  '/flaky': (req, res) => {
    const nth = (calls.get(req.query.key ?? '') ?? 0) + 1;
    calls.set(req.query.key ?? '', nth);
    json(res, nth === 1 ? 404 : 200, { nth });
  },
});
const fake = await startFakeOpenAi();
const stack = await startTestStack({ ai: { baseURL: fake.url, apiKey: fake.apiKey, models: {} } });
const { client, connection } = await connectClient();
const out = fileURLToPath(new URL('../../../test/histories/', import.meta.url));

/** Waits for the run's workflow to close (however it ended), then writes its history. */
async function save(name: string, runId: string): Promise<void> {
  await until(`${runId} to close`, async () =>
    (await client.workflow.getHandle(runId).describe()).status.name === 'RUNNING' ? undefined : true,
  );
  const history = await client.workflow.getHandle(runId).fetchHistory();
  const { events } = JSON.parse(historyToJSON(history)) as { events: unknown[] };
  writeFileSync(`${out}${name}.json`, `${JSON.stringify({ workflowId: runId, events }, null, 1)}\n`);
  log(`${name}: ${events.length} events`);
}
async function submit(definition: Record<string, unknown>): Promise<void> {
  const submitted = await stack.call('POST', '/v1/definitions', definition);
  if (submitted.status !== 201) throw new Error(`${String(definition.id)}: ${JSON.stringify(submitted.body)}`);
}
async function start(id: string): Promise<string> {
  const started = await stack.call('POST', `/v1/definitions/${id}/runs`, {});
  if (started.status !== 201) throw new Error(`${id}: ${JSON.stringify(started.body)}`);
  return started.body.run_id as string;
}
async function status(runId: string, wanted: string): Promise<void> {
  await until(`${runId} to be ${wanted}`, async () =>
    (await stack.call('GET', `/v1/runs/${runId}`)).body.status === wanted ? true : undefined,
  );
}
async function act(runId: string, action: string, body: unknown): Promise<Record<string, unknown>> {
  const answer = await stack.call('POST', `/v1/runs/${runId}/${action}`, body);
  if (answer.status !== 202) throw new Error(`${action} ${runId}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body as Record<string, unknown>;
}
const task = (id: string, path: string) => ({
  id,
  type: 'task',
  connector: 'http',
  action: 'request',
  output: id,
  inputs: { url: `${target.url}${path}` },
  retry_policy: { max_attempts: 1 },
});

// An ai node with structured output: the first answer does not match the schema and is repaired.
fake.enqueue({ content: 'not json' }, { json: { label: 'bug', confidence: 0.9 } });
await submit({
  id: 'ai-node',
  nodes: [
    {
      id: 'classify',
      type: 'ai',
      model: 'gpt-4o-mini',
      system: 'You label support tickets.',
      prompt_template: 'Label: {{ vars.ticket }}',
      output: 'label',
      output_mapping: {
        type: 'object',
        properties: { label: { enum: ['bug', 'question'] }, confidence: { type: 'number' } },
        required: ['label', 'confidence'],
        additionalProperties: false,
      },
      retry_policy: { initial_interval: '50ms' },
    },
    { id: 'route', type: 'set', assign: { kind: 'vars.label.label' } },
  ],
  variables: [{ name: 'ticket', type: 'string', default: 'it crashes' }],
  edges: [{ from: 'classify', to: 'route' }],
});
const aiRun = await start('ai-node');
await status(aiRun, 'completed');
await save('ai-node', aiRun);

// Cancel: a run waiting for an event is cancelled by an operator.
await submit({
  id: 'operator-cancel',
  nodes: [task('first', '/step'), { id: 'gate', type: 'event', event_type: 'never.sent', correlation_key: 'null' }],
  edges: [{ from: 'first', to: 'gate' }],
});
const cancelled = await start('operator-cancel');
await until('the gate to wait', async () =>
  (await stack.call('GET', `/v1/runs/${cancelled}`)).body.nodes?.gate?.status === 'waiting' ? true : undefined,
);
await act(cancelled, 'cancel', { reason: 'not needed' });
await save('operator-cancel', cancelled);

// Retry of a paused run's failed node: the node fails once, the run pauses, the retry repairs it.
const flaky = (id: string, onFailure: 'pause' | 'fail') => ({
  id,
  options: { on_failure: onFailure },
  nodes: [task('a', '/step'), task('b', `/flaky?key=${id}`), { id: 'c', type: 'set', assign: { done: 'vars.b.status' } }],
  edges: [
    { from: 'a', to: 'b' },
    { from: 'b', to: 'c' },
  ],
});
await submit(flaky('operator-retry-paused', 'pause'));
const paused = await start('operator-retry-paused');
await status(paused, 'paused');
await act(paused, 'retry', {});
await status(paused, 'completed');
await save('operator-retry-paused', paused);

// Retry of a closed failed run: a new run goes on from the failed node with what completed.
await submit(flaky('operator-retry-closed', 'fail'));
const failed = await start('operator-retry-closed');
await status(failed, 'failed');
const retried = (await act(failed, 'retry', {})).run_id as string;
await status(retried, 'completed');
await save('operator-retry-closed', retried);

// Rerun of a paused run from an earlier node: the run reruns a and b itself and resumes.
await submit(flaky('operator-rerun-paused', 'pause'));
const rerun = await start('operator-rerun-paused');
await status(rerun, 'paused');
await act(rerun, 'rerun', { from: 'a' });
await status(rerun, 'completed');
await save('operator-rerun-paused', rerun);

await connection.close();
await stack.close();
await fake.close();
await target.close();
await server.stop();
