/**
 * `npm run test:cluster` (not in `npm test`: building Temporal Server and its UI with Go takes
 * longer than the suite may on a fresh machine; see README, Cluster mode). The PostgreSQL-backed
 * cluster with 2 workers and 2 gateways, as `npm run cluster` starts it, on ports and databases
 * of its own: the README quick start runs through it unchanged but for the gateway's address,
 * both workers poll the task queue, the runs are listed from PostgreSQL visibility, and a history
 * service killed with SIGKILL and restarted loses nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import pg from 'pg';
import { startCluster, type Cluster } from '../../src/cluster/cluster.js';
import { until } from '../support/poll.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const prefix = `weft_cl_${randomBytes(4).toString('hex')}_`;
const dataDir = mkdtempSync(join(tmpdir(), 'weft-cluster-'));
const basePort = Number(process.env.WEFT_TEST_CLUSTER_PORT ?? 27233);
let cluster: Cluster;

async function json(url: string, init?: RequestInit): Promise<Record<string, unknown>> {
  const response = await fetch(url, { ...init, headers: { 'content-type': 'application/json' } });
  const body = (await response.json()) as Record<string, unknown>;
  assert.ok(response.ok, `${init?.method ?? 'GET'} ${url}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

before(async () => {
  cluster = await startCluster({
    basePort,
    gatewayPort: basePort + 1800,
    databasePrefix: prefix,
    dataDir,
    log: (m) => process.stderr.write(`[cluster] ${m}\n`),
  });
});

after(async () => {
  await cluster?.close();
  const client = new pg.Client({
    connectionString: cluster?.postgres.connectionString ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  });
  await client.connect();
  for (const db of cluster?.postgres.databases ?? []) await client.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await client.end();
  rmSync(dataDir, { recursive: true, force: true });
});

test('the cluster runs every service as its own process', () => {
  const names = cluster.processes.map((p) => p.name);
  for (const name of [
    'frontend',
    'history',
    'matching',
    'internal-worker',
    'worker-1',
    'worker-2',
    'gateway-1',
    'gateway-2',
  ])
    assert.ok(names.includes(name), name);
  const pids = cluster.processes.map((p) => p.pid());
  assert.ok(pids.every((pid) => typeof pid === 'number'));
  assert.equal(new Set(pids).size, pids.length, 'one process each');
  assert.equal(cluster.gateways.length, 2);
});

test('the README quick start runs against it, through either gateway', async () => {
  const [first, second] = cluster.gateways as [string, string];
  const definition = JSON.parse(readFileSync(join(root, 'examples/hello-gateway.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const saved = await json(`${first}/v1/definitions`, { method: 'POST', body: JSON.stringify(definition) });
  assert.equal(saved.id, 'hello-gateway');
  // The example asks the gateway at its default address; here the gateway has a port of its own.
  const run = await json(`${second}/v1/definitions/hello-gateway/runs`, {
    method: 'POST',
    body: JSON.stringify({ input: { greeting: 'Hi', gateway_url: first.replace('127.0.0.1', 'localhost') } }),
  });
  const result = await json(`${first}/v1/runs/${String(run.run_id)}/result?wait=true`);
  assert.equal(result.status, 'completed', JSON.stringify(result));
  assert.equal((result.result as { summary: string }).summary, 'Hi: the gateway is ok and ready');
  const listed = await until('the run in the PostgreSQL visibility listing', async () => {
    const page = await json(`${second}/v1/runs?definition_id=hello-gateway`);
    const items = page.items as { run_id: string; status: string }[];
    return items.find((item) => item.run_id === run.run_id && item.status === 'completed');
  });
  assert.ok(listed);
});

test('both workers poll the task queue', async () => {
  const connection = await Connection.connect({ address: cluster.temporalAddress });
  try {
    const pollers = await until('two workflow pollers', async () => {
      const answer = await connection.workflowService.describeTaskQueue({
        namespace: cluster.namespace,
        taskQueue: { name: 'weft' },
        taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      });
      const identities = new Set((answer.pollers ?? []).map((p) => p.identity));
      return identities.size >= 2 ? identities : undefined;
    });
    const workerPids = cluster.processes.filter((p) => p.role === 'worker').map((p) => String(p.pid()));
    for (const pid of workerPids)
      assert.ok(
        [...pollers].some((identity) => identity?.startsWith(`${pid}@`)),
        `worker pid ${pid} polls`,
      );
  } finally {
    await connection.close();
  }
});

test('a history service killed with SIGKILL and restarted loses no run', async () => {
  const history = cluster.processes.find((p) => p.role === 'history');
  assert.ok(history);
  const gateway = cluster.gateways[0] as string;
  const runs: string[] = [];
  for (let i = 0; i < 3; i++) {
    const run = await json(`${gateway}/v1/definitions/hello-gateway/runs`, {
      method: 'POST',
      body: JSON.stringify({ input: { greeting: `Run ${i}`, gateway_url: gateway.replace('127.0.0.1', 'localhost') } }),
    });
    runs.push(String(run.run_id));
  }
  const before = history.pid();
  await history.kill();
  assert.equal(history.pid(), undefined);
  await history.start();
  assert.notEqual(history.pid(), before);
  for (const [i, id] of runs.entries()) {
    const result = await until(`run ${id} completed`, async () => {
      const r = await json(`${gateway}/v1/runs/${id}/result?wait=true`);
      return r.status === 'completed' ? r : undefined;
    });
    assert.equal((result.result as { summary: string }).summary, `Run ${i}: the gateway is ok and ready`);
  }
});
