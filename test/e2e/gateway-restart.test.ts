/**
 * The gateway process can die at any moment without losing anything it accepted: a real
 * gateway process is killed (SIGKILL) in the middle of a burst of submits while runs are in
 * flight, started again on the same store, and every definition it had answered 2xx for is
 * there, every run is still there, and the runs complete. Once per definition store.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { pluck, STORES } from '../support/gateway.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { createTestDatabase } from '../support/postgres.js';
import { NAMESPACE, startTestWorker, temporalAddress, unique } from '../support/temporal.js';
import type { RunningWorker } from '../../src/worker/create-worker.js';
import { until } from '../support/poll.js';
import { gatewayAnswers, spawnGateway as spawnGatewayProcess } from '../support/gateway-process.js';
const children: ChildProcess[] = [];
const held: ServerResponse[] = [];
let target: HttpTarget;

before(async () => {
  // Calls to /hold are answered only when the test releases them: the runs stay in flight.
  target = await startHttpTarget({ '/hold': (_req, res) => void held.push(res) });
});
after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const res of held.splice(0)) json(res, 200, {});
  await target?.close();
});

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

function spawnGateway(env: Record<string, string>): ChildProcess {
  const child = spawnGatewayProcess(env);
  children.push(child);
  return child;
}

function definition(id: string, marker: string) {
  return {
    id,
    description: marker,
    variables: [{ name: 'answer', type: 'any' }],
    nodes: [
      {
        id: 'hold',
        type: 'task',
        connector: 'http',
        action: 'request',
        output: 'answer',
        inputs: { url: `${target.url}/hold`, timeout: '120s' },
      },
    ],
  };
}

for (const store of STORES) {
  describe(`gateway process killed and restarted (${store} store)`, () => {
    let worker: RunningWorker;
    let cleanup: () => Promise<void>;
    let env: Record<string, string>;
    let base: string;

    before(async () => {
      const taskQueue = unique('gw-restart');
      let databaseUrl: string;
      if (store === 'postgres') {
        const db = await createTestDatabase();
        databaseUrl = db.url;
        cleanup = () => db.drop();
      } else {
        const dir = mkdtempSync(join(tmpdir(), 'weft-restart-'));
        databaseUrl = `sqlite:${join(dir, 'definitions.db')}`;
        cleanup = () => Promise.resolve(rmSync(dir, { recursive: true, force: true }));
      }
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      env = {
        PORT: String(port),
        DATABASE_URL: databaseUrl,
        TEMPORAL_ADDRESS: temporalAddress(),
        TEMPORAL_NAMESPACE: NAMESPACE,
        TEMPORAL_TASK_QUEUE: taskQueue,
      };
      worker = await startTestWorker(taskQueue);
    });
    after(async () => {
      await worker?.shutdown();
      await cleanup?.();
    });

    /** Every mutation answered, by the request id the test gave it (the audit log must hold each). */
    const answered = new Map<string, number>();
    let calls = 0;
    const call = async (method: string, path: string, body?: unknown) => {
      const requestId = `${unique('req')}-${calls++}`;
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { 'content-type': 'application/json', 'X-Request-Id': requestId },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      // Headers received: the gateway has answered, whatever happens to the body next.
      if (method !== 'GET') answered.set(requestId, response.status);
      return { status: response.status, body: (await response.json()) as any };
    };
    const healthy = () => gatewayAnswers(base);

    test('every accepted definition and run survives, and the runs complete', async (t) => {
      const first = spawnGateway(env);
      await healthy();

      // Definitions accepted before the kill, some with several versions.
      const accepted: Array<{ id: string; version: string; marker: string }> = [];
      const ids = [unique('kept-a'), unique('kept-b')];
      for (const id of ids) {
        for (const n of [1, 2]) {
          const marker = `${id} rev ${n}`;
          const response = await call('POST', '/v1/definitions', definition(id, marker));
          assert.equal(response.status, 201, JSON.stringify(response.body));
          accepted.push({ id, version: response.body.version, marker });
        }
      }
      // Runs in flight: each waits on an HTTP call the test holds.
      const runs: any[] = [];
      for (const id of ids) {
        const response = await call('POST', `/v1/definitions/${id}/runs`, {});
        assert.equal(response.status, 201, JSON.stringify(response.body));
        runs.push(response.body);
      }
      await until('the runs to be in flight', () => Promise.resolve(held.length === runs.length ? true : undefined));

      // A burst of submits; the process is killed the moment the fifth one is answered.
      const burstId = unique('burst');
      const exited = once(first, 'exit');
      let burstAnswers = 0;
      const burst = Array.from({ length: 60 }, (_, i) =>
        call('POST', '/v1/definitions', definition(burstId, `burst ${i}`)).then(
          (response) => {
            if (response.status === 201) {
              accepted.push({ id: burstId, version: response.body.version, marker: `burst ${i}` });
              if (++burstAnswers === 5) first.kill('SIGKILL');
            }
            return response.status;
          },
          () => 'no answer',
        ),
      );
      await exited;
      const outcomes = await Promise.all(burst);
      t.diagnostic(
        `burst: ${outcomes.filter((o) => o === 201).length} answered 201 before the kill, ${outcomes.filter((o) => o === 'no answer').length} unanswered`,
      );
      assert.equal(first.signalCode, 'SIGKILL');
      await assert.rejects(fetch(`${base}/healthz`), 'the gateway is down');
      const answeredBefore = new Map(answered);

      spawnGateway(env);
      await healthy();
      assert.equal((await call('GET', '/readyz')).status, 200);

      // Every mutation the killed gateway answered has its audit entry, with the status it answered.
      const audit = await call('GET', '/v1/audit?limit=1000');
      assert.equal(audit.status, 200, JSON.stringify(audit.body));
      const logged = new Map(
        (audit.body.items as Array<{ request_id: string; status: number }>).map((e) => [e.request_id, e.status]),
      );
      assert.ok(answeredBefore.size >= 10, `only ${answeredBefore.size} mutations were answered`);
      for (const [requestId, status] of answeredBefore)
        assert.equal(logged.get(requestId), status, `request ${requestId} was answered ${status} but is not audited`);

      for (const { id, version, marker } of accepted) {
        const stored = await call('GET', `/v1/definitions/${id}/versions/${version}`);
        assert.equal(stored.status, 200, `${id} v${version} was accepted before the kill but is gone`);
        assert.equal(stored.body.description, marker, `${id} v${version} holds other content`);
      }
      // Whatever the kill interrupted, the versions stayed whole: 1..n, no gaps, no repeats.
      const versions = pluck((await call('GET', `/v1/definitions/${burstId}/versions`)).body.items, 'version');
      assert.deepEqual(
        versions,
        versions.map((_, i) => String(i + 1)),
      );
      const listed = pluck((await call('GET', '/v1/definitions')).body.items, 'id');
      for (const id of [...ids, burstId]) assert.ok(listed.includes(id), `${id} is not listed`);
      assert.ok(
        outcomes.some((o) => o === 201),
        `the burst never got an answer: ${outcomes.join(',')}`,
      );

      for (const run of runs) {
        const state = await call('GET', `/v1/runs/${run.run_id}`);
        assert.equal(state.status, 200);
        assert.equal(state.body.status, 'running');
      }
      for (const res of held.splice(0)) json(res, 200, { released: true });
      for (const run of runs) {
        const result = await call('GET', `/v1/runs/${run.run_id}/result?wait=true`);
        assert.equal(result.body.status, 'completed', JSON.stringify(result.body));
        assert.equal(result.body.result.answer.body.released, true);
      }
      // The idempotent start still recognises a run started by the previous process.
      const again = await call('POST', `/v1/definitions/${ids[0]}/runs`, { run_id: runs[0].run_id });
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.equal(again.body.instance_id, runs[0].instance_id);
    });
  });
}
