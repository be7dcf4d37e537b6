/**
 * Activities: the only place side effects happen. Built by `createActivities(deps)` so the
 * worker injects connectors (and tests inject their own) instead of activities reaching for
 * globals.
 */
import { Context } from '@temporalio/activity';
import type { ConnectorCall } from '../interpreter/commands.js';
import { ErrorTypes, nonRetryableFailure, withAttempt } from './errors.js';
import { ConnectorRegistry } from './connectors/registry.js';

export interface ActivityDeps {
  registry?: ConnectorRegistry;
}

/** What `runConnector` returns: the action's output, and which attempt produced it. */
export interface ConnectorResult {
  output: unknown;
  attempt: number;
}

export function createActivities(deps: ActivityDeps = {}) {
  const registry = deps.registry ?? new ConnectorRegistry();
  return {
    /** Runs one connector action with already-rendered params. */
    async runConnector(call: ConnectorCall): Promise<ConnectorResult> {
      const ctx = Context.current();
      const attempt = ctx.info.attempt;
      const connector = registry.get(call.connector);
      const action = connector?.actions[call.action];
      if (!connector || !action) {
        throw nonRetryableFailure(
          ErrorTypes.UnknownConnector,
          `no connector action "${call.connector}.${call.action}"`,
          {
            attempt,
          },
        );
      }
      const parsed = action.params.safeParse(call.params);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(params)'}: ${i.message}`).join('; ');
        throw nonRetryableFailure(
          ErrorTypes.InvalidParams,
          `invalid params for ${call.connector}.${call.action}: ${problems}`,
          {
            attempt,
          },
        );
      }
      try {
        const connection = await registry.connection(connector);
        const output = await action.execute(connection, parsed.data, {
          signal: ctx.cancellationSignal,
          heartbeat: (details) => ctx.heartbeat(details),
        });
        return { output, attempt };
      } catch (err) {
        throw withAttempt(err, attempt);
      }
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
export { ConnectorRegistry };
