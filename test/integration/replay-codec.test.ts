/**
 * `npm run replay -- --definition <id>` on encrypted runs (WEFT_CODEC_KEYS): runs started as the
 * gateway starts them (with a memo, encrypted like every payload), one completing and one
 * failing, replay from Temporal through the codec; without the keys they cannot.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { AesGcmCodec, parseCodecKeys } from '../../src/codec/aes-gcm-codec.js';
import { encryptingDataConverter } from '../../src/codec/data-converter.js';
import { DefinitionIdKey, DefinitionVersionKey } from '../../src/shared/search-attributes.js';
import { startWorker, type RunningWorker } from '../../src/worker/create-worker.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { versioned } from '../support/runs.js';
import { NAMESPACE, temporalAddress, unique } from '../support/temporal.js';
import { until } from '../support/poll.js';

const run = promisify(execFile);
const REPLAY_CLI = fileURLToPath(new URL('../../src/cli/replay.js', import.meta.url));
const keys = `k1:${randomBytes(32).toString('base64')}`;
const codec = new AesGcmCodec(parseCodecKeys(keys));
const taskQueue = unique('replay-codec');
const definitionId = unique('replay-codec');

let target: HttpTarget;
let worker: RunningWorker;
let connection: Connection;
let client: Client;

async function replayCli(env: Record<string, string>): Promise<{ code: number; out: string }> {
  const { WEFT_CODEC_KEYS: _inherited, ...inherited } = process.env;
  try {
    const { stdout, stderr } = await run(process.execPath, [REPLAY_CLI, '--definition', definitionId], {
      env: { ...inherited, TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_NAMESPACE: NAMESPACE, ...env },
      timeout: 120_000,
    });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

before(async () => {
  target = await startHttpTarget({
    '/ok': (_req, res) => json(res, 200, { ok: true }),
    '/fail': (_req, res) => json(res, 404, { gone: true }),
  });
  worker = await startWorker({ address: temporalAddress(), namespace: NAMESPACE, taskQueue, codec });
  connection = await Connection.connect({ address: temporalAddress() });
  client = new Client({ connection, namespace: NAMESPACE, dataConverter: encryptingDataConverter(codec) });
});
after(async () => {
  await worker?.shutdown();
  await connection?.close();
  await target?.close();
});

describe('replay of encrypted runs', () => {
  test('--definition replays them through the codec, and fails without the keys', async () => {
    const definition = (path: string) =>
      versioned({
        id: definitionId,
        variables: [{ name: 'token', type: 'string', default: 'x' }],
        nodes: [
          { id: 'call', type: 'task', connector: 'http', action: 'request', inputs: { url: `${target.url}${path}` } },
        ],
      });
    const start = (path: string) =>
      client.workflow.start('interpret', {
        taskQueue,
        workflowId: unique(definitionId),
        args: [{ definition: definition(path), input: {} }],
        // As the gateway starts runs: a memo (encrypted by the codec) and the definition's attributes.
        memo: { started_by: 'test' },
        typedSearchAttributes: [
          { key: DefinitionIdKey, value: definitionId },
          { key: DefinitionVersionKey, value: '1' },
        ],
      });
    const ok = await start('/ok');
    await ok.result();
    const failing = await start('/fail');
    await assert.rejects(failing.result(), WorkflowFailedError);

    // Visibility lists closed runs a moment after they close.
    let last: { code: number; out: string } | undefined;
    const outcome = await until(
      () => `the replay CLI to pass both runs: ${last?.out}`,
      async () => {
        last = await replayCli({ WEFT_CODEC_KEYS: keys });
        return /2 passed, 0 failed/.test(last.out) ? last : undefined;
      },
      60_000,
      500,
    );
    assert.match(outcome.out, /2 passed, 0 failed/, outcome.out);
    assert.equal(outcome.code, 0, outcome.out);

    const withoutKeys = await replayCli({});
    assert.notEqual(withoutKeys.code, 0, withoutKeys.out);
    assert.match(withoutKeys.out, /FAIL/, withoutKeys.out);
  });
});
