/**
 * Builds a worker that runs the generic workflow and the connector activities. The workflow
 * bundle is built once per process and shared by every worker created in it.
 */
import { fileURLToPath } from 'node:url';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  bundleWorkflowCode,
  type LogLevel,
  type WorkflowBundle,
} from '@temporalio/worker';
import { createActivities } from '../../activities/index.js';
import { ConnectorRegistry } from '../../activities/connectors/registry.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.js', import.meta.url));

let bundle: Promise<WorkflowBundle> | undefined;
let runtimeInstalled = false;

/** The SDK logs every worker state change at INFO; we keep its WARN and above unless asked. */
function installRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level = (process.env.TEMPORAL_SDK_LOG_LEVEL ?? 'WARN').toUpperCase() as LogLevel;
  Runtime.install({ logger: new DefaultLogger(level) });
}

/** The workflow code bundle, built on first use. */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
  return bundle;
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => process.stderr.write(`workflow bundler: ${message}\n`),
  error: (message: string) => process.stderr.write(`workflow bundler: ${message}\n`),
};

export interface WorkerOptions {
  address: string;
  namespace: string;
  taskQueue: string;
  registry?: ConnectorRegistry;
}

export interface RunningWorker {
  worker: Worker;
  connection: NativeConnection;
  registry: ConnectorRegistry;
  /** Shuts the worker down, waits for it, closes connector pools and the connection. */
  shutdown(): Promise<void>;
  /** Resolves when the worker stopped (after `shutdown` or a fatal error). */
  done: Promise<void>;
}

/** Creates and starts a worker; `done` settles when it stops. */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  installRuntime();
  const connection = await NativeConnection.connect({ address: options.address });
  const registry = options.registry ?? new ConnectorRegistry();
  const worker = await Worker.create({
    connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities({ registry }),
  });
  const done = worker.run().finally(async () => {
    await registry.close();
    await connection.close();
  });
  return {
    worker,
    connection,
    registry,
    done,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
