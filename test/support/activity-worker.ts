/**
 * A worker for activity tests: real Temporal server, activities built from injected
 * dependencies (connector settings, secret sources, AI endpoint), and the test workflows
 * (`interpret`, `callActivity`). Use it instead of `startTestWorker` when a test must point the
 * activities at its own services; one process should use one of the two (each installs the
 * SDK runtime).
 */
import { fileURLToPath } from 'node:url';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../../activities/index.js';
import { ConnectorRegistry } from '../../activities/connectors/registry.js';
import { validateDefinition } from '../../interpreter/validate-definition.js';
import { installRuntime, workflowBundle } from '../../src/worker/create-worker.js';
import type { CallOptions, CallOutcome } from './test-workflows.js';
import { NAMESPACE, temporalAddress, unique } from './temporal.js';

export interface ActivityWorker {
  client: Client;
  registry: ConnectorRegistry;
  /**
   * Calls one activity through a workflow, under the given retry policy; as a run of `tenant`
   * (its workflow id `<tenant>/…`, as the gateway names them) when given.
   */
  call(name: 'runConnector' | 'runAi', argument: unknown, options: CallOptions, tenant?: string): Promise<CallOutcome>;
  /** Validates a definition and starts the generic workflow on it. */
  start(raw: unknown, input?: Record<string, unknown>): Promise<WorkflowHandle>;
  shutdown(): Promise<void>;
}

export async function startActivityWorker(deps: ActivityDeps = {}): Promise<ActivityWorker> {
  installRuntime();
  const taskQueue = unique('act');
  const registry = deps.registry ?? new ConnectorRegistry();
  const nativeConnection = await NativeConnection.connect({ address: temporalAddress() });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: NAMESPACE,
    taskQueue,
    workflowBundle: (await workflowBundle(fileURLToPath(new URL('./test-workflows.js', import.meta.url)))).bundle,
    activities: createActivities({ ...deps, registry }),
  });
  const running = worker.run().finally(async () => {
    await registry.close();
    await nativeConnection.close();
  });
  const connection = await Connection.connect({ address: temporalAddress() });
  const client = new Client({ connection, namespace: NAMESPACE });
  return {
    client,
    registry,
    call: (name, argument, options, tenant) =>
      client.workflow.execute('callActivity', {
        taskQueue,
        workflowId: tenant ? `${tenant}/${unique(name)}` : unique(name),
        args: [name, argument, options],
      }),
    async start(raw, input = {}) {
      const result = validateDefinition(raw);
      if (!result.ok) throw new Error(JSON.stringify(result.problems));
      const definition = { ...result.definition, version: '1' };
      return client.workflow.start('interpret', {
        taskQueue,
        workflowId: unique(definition.id),
        args: [{ definition, input }],
      });
    },
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
    },
  };
}
