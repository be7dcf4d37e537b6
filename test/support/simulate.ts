/**
 * Drives the pure interpreter without Temporal: activities are answered from a table, in the
 * order the interpreter issued them. Used by the semantic unit tests.
 */
import type { Command, ConnectorCall, EngineEvent } from '../../interpreter/commands.js';
import { compileProgram, handleEvent, initialState, startRun } from '../../interpreter/engine.js';
import type { RunState } from '../../interpreter/run-state.js';
import { resolveRunInput } from '../../interpreter/run-input.js';
import { validateDefinition } from '../../interpreter/validate-definition.js';

/** What an activity of a node answers: an output, or an error after `attempts` attempts. */
export type Answer =
  { output: unknown; attempts?: number } | { error: { type: string; message: string }; attempts?: number };

export interface Simulation {
  state: RunState;
  closing: Extract<Command, { type: 'complete' | 'fail' }> | undefined;
  calls: Array<{ node: string; call: ConnectorCall }>;
}

export async function simulate(
  raw: unknown,
  answers: Record<string, Answer | ((call: ConnectorCall, nth: number) => Answer)>,
  input: Record<string, unknown> = {},
): Promise<Simulation> {
  const validated = validateDefinition(raw);
  if (!validated.ok) throw new Error(`invalid definition: ${JSON.stringify(validated.problems)}`);
  const definition = validated.definition;
  const resolved = resolveRunInput(definition, input);
  if (!resolved.ok) throw new Error(`invalid input: ${JSON.stringify(resolved.problems)}`);
  const program = compileProgram(definition);
  const state = initialState(
    { id: 'sim-1', definition_id: definition.id, definition_version: '1', started_at: '2026-01-01T00:00:00.000Z' },
    input,
    resolved.variables,
  );
  const calls: Simulation['calls'] = [];
  const pending: Extract<Command, { type: 'run_activity' }>[] = [];
  const counts = new Map<string, number>();
  let closing: Simulation['closing'];
  let tick = 0;
  const now = () => new Date(Date.UTC(2026, 0, 1, 0, 0, tick++)).toISOString();
  const take = (commands: Command[]) => {
    for (const command of commands) {
      if (command.type === 'run_activity') {
        pending.push(command);
        calls.push({ node: command.node, call: command.call });
      } else closing = command;
    }
  };
  take(await startRun(program, state, now()));
  while (!closing && pending.length > 0) {
    const command = pending.shift() as Extract<Command, { type: 'run_activity' }>;
    const nth = (counts.get(command.node) ?? 0) + 1;
    counts.set(command.node, nth);
    const entry = answers[command.node];
    if (!entry) throw new Error(`no answer for node "${command.node}"`);
    const answer = typeof entry === 'function' ? entry(command.call, nth) : entry;
    const event: EngineEvent =
      'output' in answer
        ? { type: 'activity_completed', exec: command.exec, output: answer.output, attempts: answer.attempts ?? 1 }
        : { type: 'activity_failed', exec: command.exec, error: answer.error, attempts: answer.attempts ?? 1 };
    take(await handleEvent(program, state, event, now()));
  }
  return { state, closing, calls };
}
