/**
 * The real calls of a definition test (`allow_calls`): a task node named there runs its
 * connector through the worker's own activity code (`runConnector` of `activities/index.ts`),
 * in the gateway process, in an activity context of its own (`MockActivityEnvironment` of
 * `@temporalio/testing`: the same code path, no worker or task queue). So the egress policy
 * (of the gateway's environment, for the caller's tenant), `secret:NAME` lookups (the gateway's
 * environment and `WEFT_SECRETS_FILE`), the tenant's named connections, params checks, output
 * limits and masking all apply as in a run. One attempt, no retries; the result cache is neither
 * read nor written; each call is bounded by its node's `timeout` and at most TEST_CALL_TIMEOUT_MS.
 */
import { ApplicationFailure } from '@temporalio/common';
import { createActivities, type ConnectorResult } from '../../activities/index.js';
import { ConnectorRegistry } from '../../activities/connectors/registry.js';
import type { ResultCache } from '../../activities/result-cache.js';
import type { ConnectorCall } from '../../interpreter/commands.js';
import type { CallOutcome } from '../../interpreter/definition-test.js';
import { storeConnectionSource } from '../connections/connection-source.js';
import type { GatewayDeps } from './gateway-deps.js';
import type { TenantScope } from './tenant-scopes.js';

/** The longest one real call of a test may take. */
export const TEST_CALL_TIMEOUT_MS = 30_000;

/** A test's calls are never served from, nor stored in, the result cache. */
const NO_CACHE: ResultCache = {
  get: () => Promise.resolve(undefined),
  set: () => Promise.resolve(),
  close: () => Promise.resolve(),
};

export interface TestCalls {
  run: (node: string, call: ConnectorCall, timeoutMs: number) => Promise<CallOutcome>;
  close: () => Promise<void>;
}

/** Real calls for one test run of `scope`'s tenant, as its run `runId` would make them. */
export async function testCalls(deps: GatewayDeps, scope: TenantScope, runId: string): Promise<TestCalls> {
  // Loaded on first use: most tests make no call, and the testing package is large.
  const { MockActivityEnvironment } = await import('@temporalio/testing');
  const registry = new ConnectorRegistry();
  const activities = createActivities({
    registry,
    cache: NO_CACHE,
    connections: storeConnectionSource(deps.store.connections, deps.connectionKey),
  });
  // The tenant comes from the workflow id, as in a run: the tenant's egress policy and connections.
  const workflowId = scope.ids.workflowId(runId);
  const runConnector = (call: ConnectorCall) => activities.runConnector(call);
  let seq = 0;
  return {
    run: async (node, call, timeoutMs) => {
      const env = new MockActivityEnvironment({
        activityId: `${node}-${++seq}`,
        activityType: 'runConnector',
        attempt: 1,
        workflowExecution: { workflowId, runId: 'test' },
        workflowType: 'interpret',
      });
      const limit = Math.min(timeoutMs, TEST_CALL_TIMEOUT_MS);
      const timer = setTimeout(() => env.cancel('TIMED_OUT'), limit);
      try {
        const result = await env.run<[ConnectorCall], ConnectorResult, typeof runConnector>(runConnector, call);
        return { output: result.output };
      } catch (err) {
        if (env.context.cancellationSignal.aborted)
          return { error: { type: 'Timeout', message: `node "${node}": the call took longer than ${limit} ms` } };
        if (err instanceof ApplicationFailure) return { error: { type: err.type ?? 'Error', message: err.message } };
        return { error: { type: 'Error', message: err instanceof Error ? err.message : String(err) } };
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => registry.close(),
  };
}
