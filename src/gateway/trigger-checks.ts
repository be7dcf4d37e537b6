/**
 * Gateway checks of a definition's triggers, beyond the language schema: what the gateway
 * needs to turn them into Temporal Schedules and webhooks. Run at submit and validate, so a
 * trigger that could never work is refused with its JSON Pointer instead of failing later.
 */
import type { ExternalEvent } from '../../interpreter/commands.js';
import type { Definition } from '../../interpreter/definition-schema.js';
import { WORK_METER, type WorkMeter } from '../../interpreter/expression-budget.js';
import { ExpressionError, evaluate, isTruthy } from '../../interpreter/expressions.js';
import type { Problem } from '../../interpreter/problems.js';
import { resolveRunInput } from '../../interpreter/run-input.js';
import { cronProblem, isTimeZone } from './cron-spec.js';

/** Webhook secrets are named, not stored: the name of an environment variable of the gateway. */
export const SECRET_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export function triggerProblems(definition: Definition): Problem[] {
  const problems: Problem[] = [];
  definition.triggers.forEach((trigger, i) => {
    const at = `/triggers/${i}`;
    if (trigger.type === 'schedule') {
      const cron = cronProblem(trigger.cron);
      if (cron) problems.push({ path: `${at}/cron`, message: `invalid cron expression: ${cron}` });
      if (trigger.timezone !== undefined && !isTimeZone(trigger.timezone)) {
        problems.push({
          path: `${at}/timezone`,
          message: `unknown time zone "${trigger.timezone}"; expected an IANA name such as "Europe/Paris" or "UTC"`,
        });
      }
      // The schedule starts runs with this input, so it must satisfy the variables as a run would.
      const input = resolveRunInput(definition, trigger.input ?? {}, `${at}/input`);
      if (!input.ok) problems.push(...input.problems);
    } else if (trigger.type === 'webhook' && trigger.secret !== undefined) {
      if (!SECRET_NAME_PATTERN.test(trigger.secret)) {
        problems.push({
          path: `${at}/secret`,
          message: 'expected the name of the environment variable holding the secret (letters, digits, "_")',
        });
      }
    }
  });
  return problems;
}

/**
 * The work meter of an evaluation in the gateway: the engine's budgets, in slices of
 * `SLICE_LIMITS` work, giving the event loop back (a macrotask) after each slice.
 */
export function gatewayMeter(): WorkMeter {
  return {
    units: 0,
    nodeStart: 0,
    settings: { slices: { used: 0, pause: () => new Promise<void>((resolve) => setImmediate(resolve)) } },
  };
}

/**
 * Whether an event satisfies an event trigger's `filters`. The gateway evaluates it under the
 * same budgets as a run (steps, sizes, RE2 for regular expressions) and in slices: every slice of
 * work it gives its event loop back (a macrotask), so other requests and /healthz are served
 * meanwhile. A filter that fails (over budget, a wrong type) does not match: the event starts no
 * run of that definition, and the caller is answered as usual, never 500.
 */
export async function triggerFilterMatches(filters: string, event: ExternalEvent): Promise<boolean> {
  try {
    return isTruthy(await evaluate(filters, { event, [WORK_METER]: gatewayMeter() }));
  } catch (err) {
    if (err instanceof ExpressionError) return false;
    throw err;
  }
}
