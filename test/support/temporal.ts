/**
 * Test access to the suite's Temporal server (TEMPORAL_ADDRESS, set by `npm test`), with unique
 * task queues and ids so test files can run in parallel and be rerun.
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { startWorker, type RunningWorker, type WorkerOptions } from '../../src/worker/create-worker.js';

export const NAMESPACE = process.env.TEMPORAL_NAMESPACE ?? 'default';

export function temporalAddress(): string {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEMPORAL_ADDRESS is not set: run the suite with `npm test`');
  return address;
}

/** A short random suffix for ids that must not collide across runs of the suite. */
export function unique(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export async function connectClient(): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address: temporalAddress() });
  return { client: new Client({ connection, namespace: NAMESPACE }), connection };
}

export function startTestWorker(
  taskQueue: string,
  options: Pick<
    WorkerOptions,
    | 'definitions'
    | 'workflowsPath'
    | 'activityDeps'
    | 'registry'
    | 'bundleDir'
    | 'logger'
    | 'cachedWorkflows'
    | 'memoryBudget'
    | 'resourceTargets'
    | 'activitySlotsMin'
  > = {},
): Promise<RunningWorker> {
  return startWorker({ address: temporalAddress(), namespace: NAMESPACE, taskQueue, ...options });
}
