/**
 * The one generic workflow. It carries out what the interpreter decides: it starts the
 * activities the interpreter asks for, feeds their outcomes back as events, and answers state
 * queries. No semantic rule lives here; they are all in `interpreter/` and unit-tested there.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  condition,
  defineQuery,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { FailureDetails } from '../activities/errors.js';
import type { ActivityPlan, Command, EngineEvent } from '../interpreter/commands.js';
import type { Definition } from '../interpreter/definition-schema.js';
import { compileProgram, handleEvent, initialState, startRun } from '../interpreter/engine.js';
import { resolveRunInput } from '../interpreter/run-input.js';
import { viewRunState, type RunError, type RunStateView } from '../interpreter/run-state.js';

/** What the gateway passes when it starts a run: the pinned definition version and the input. */
export interface InterpretArgs {
  definition: Definition & { version: string };
  input?: Record<string, unknown>;
}

export const stateQuery = defineQuery<RunStateView>('state');

function activityOptions(plan: ActivityPlan) {
  return {
    startToCloseTimeout: plan.start_to_close_ms,
    summary: plan.summary,
    retry: {
      maximumAttempts: plan.retry.maximum_attempts,
      initialInterval: plan.retry.initial_interval_ms,
      backoffCoefficient: plan.retry.backoff_coefficient,
      maximumInterval: plan.retry.maximum_interval_ms,
      nonRetryableErrorTypes: plan.retry.non_retryable_error_types,
    },
  };
}

/** Translates an activity's failure into the language's error shape. */
function failureEvent(exec: string, plan: ActivityPlan, err: unknown): EngineEvent {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const details = cause.details?.[0] as Partial<FailureDetails> | undefined;
    const attempts = typeof details?.attempt === 'number' ? details.attempt : plan.retry.maximum_attempts;
    return { type: 'activity_failed', exec, attempts, error: { type: cause.type ?? 'Error', message: cause.message } };
  }
  if (cause instanceof TimeoutFailure) {
    return {
      type: 'activity_failed',
      exec,
      attempts: plan.retry.maximum_attempts,
      error: { type: 'Timeout', message: `timed out (${cause.timeoutType ?? 'unknown'}) after its retries` },
    };
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  return { type: 'activity_failed', exec, attempts: plan.retry.maximum_attempts, error: { type: 'Error', message } };
}

export async function interpret(args: InterpretArgs): Promise<unknown> {
  const info = workflowInfo();
  const { definition } = args;
  const program = compileProgram(definition);
  const now = () => new Date().toISOString();
  const resolved = resolveRunInput(definition, args.input ?? {});
  if (!resolved.ok) {
    const message = resolved.problems.map((p) => `${p.path}: ${p.message}`).join('; ');
    throw ApplicationFailure.create({
      type: 'InvalidInput',
      message,
      nonRetryable: true,
      details: [resolved.problems],
    });
  }
  const state = initialState(
    {
      id: info.workflowId,
      definition_id: definition.id,
      definition_version: definition.version,
      started_at: info.startTime.toISOString(),
    },
    args.input ?? {},
    resolved.variables,
  );
  const ids = { workflow_id: info.workflowId, instance_id: info.runId };
  setHandler(stateQuery, () => viewRunState(definition, state, ids));

  const inbox: EngineEvent[] = [];
  const activities = new CancellationScope();
  let closing: Extract<Command, { type: 'complete' | 'fail' }> | undefined;

  const perform = (commands: Command[]): void => {
    for (const command of commands) {
      if (command.type !== 'run_activity') {
        closing = command;
        continue;
      }
      const { runConnector } = proxyActivities<Activities>(activityOptions(command.plan));
      activities
        .run(() => runConnector(command.call))
        .then(
          (result) =>
            inbox.push({
              type: 'activity_completed',
              exec: command.exec,
              output: result.output,
              attempts: result.attempt,
            }),
          (err: unknown) => inbox.push(failureEvent(command.exec, command.plan, err)),
        );
    }
  };

  perform(await startRun(program, state, now()));
  while (!closing) {
    await condition(() => inbox.length > 0);
    const event = inbox.shift() as EngineEvent;
    perform(await handleEvent(program, state, event, now()));
  }
  // Branches still in flight when the run ends (an `end` node, a failure) are cancelled.
  activities.cancel();

  const view = viewRunState(definition, state, ids);
  if (closing.type === 'fail') throw runFailure(view.error ?? closing.error);
  return view.result;
}

function runFailure(error: RunError): ApplicationFailure {
  const where = error.node ? ` at node "${error.node}"` : '';
  return ApplicationFailure.create({
    type: error.type,
    message: `${error.message}${where}`,
    nonRetryable: true,
    details: [error],
  });
}
