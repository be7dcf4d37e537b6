/**
 * Drives the pure interpreter without Temporal: work is answered from a table in the order the
 * interpreter issued it, timers fire when their turn comes. Used by the semantic unit tests.
 */
import type { Command, EngineEvent, WorkCommand } from '../../interpreter/commands.js';
import { compileProgram, handleEvent, initialState, startRun, type Program } from '../../interpreter/engine.js';
import type { RunQuotas } from '../../interpreter/quotas.js';
import type { RunState } from '../../interpreter/run-state.js';
import { resolveRunInput } from '../../interpreter/run-input.js';
import { validateDefinition } from '../../interpreter/validate-definition.js';

/** What work of a node answers: an output, or an error after `attempts` attempts; 'hold' never answers. */
export type Answer =
  | { output: unknown; attempts?: number; cost?: { usd: number; input_tokens: number; output_tokens: number } }
  | { error: { type: string; message: string }; attempts?: number }
  | 'hold';

export interface Simulation {
  program: Program;
  state: RunState;
  closing: Extract<Command, { type: 'complete' | 'fail' }> | undefined;
  calls: Array<{ node: string; call: unknown; type: WorkCommand['type'] }>;
  /** Work that is still pending (held, or not reached). */
  pending: WorkCommand[];
  cancelled: string[];
  /** Feeds more commands (e.g. from a control action) and runs until quiet again. */
  feed(commands: Command[]): Promise<void>;
  clock(): string;
}

type AnswerFn = (call: unknown, nth: number, command: WorkCommand, state: RunState) => Answer;

export async function simulate(
  raw: unknown,
  answers: Record<string, Answer | AnswerFn>,
  input: Record<string, unknown> = {},
  /** The run-time quotas the gateway would pin in the run's input; absent: none. */
  quotas?: RunQuotas,
  /** The workflow's answers to the engine's questions (`patched()` askers); absent: the engine's defaults. */
  askers: Pick<Program, 'deadLoops'> = {},
): Promise<Simulation> {
  const validated = validateDefinition(raw);
  if (!validated.ok) throw new Error(`invalid definition: ${JSON.stringify(validated.problems)}`);
  const definition = validated.definition;
  const resolved = resolveRunInput(definition, input);
  if (!resolved.ok) throw new Error(`invalid input: ${JSON.stringify(resolved.problems)}`);
  const program = { ...compileProgram(definition), ...askers };
  const state = initialState(
    { id: 'sim-1', definition_id: definition.id, definition_version: '1', started_at: '2026-01-01T00:00:00.000Z' },
    input,
    resolved.variables,
    quotas,
  );
  const counts = new Map<string, number>();
  let tick = 0;
  const clock = () => new Date(Date.UTC(2026, 0, 1, 0, 0, tick++)).toISOString();
  const sim: Simulation = {
    program,
    state,
    closing: undefined,
    calls: [],
    pending: [],
    cancelled: [],
    clock,
    async feed(commands: Command[]) {
      take(commands);
      const held: WorkCommand[] = [];
      while (!sim.closing && sim.pending.length > 0) {
        const command = sim.pending.shift() as WorkCommand;
        if (sim.cancelled.includes(command.exec)) continue;
        const event = answer(command);
        if (!event) {
          held.push(command);
          continue;
        }
        take(await handleEvent(program, state, event, clock()));
      }
      sim.pending.unshift(...held);
    },
  };
  const take = (commands: Command[]) => {
    for (const command of commands) {
      if (command.type === 'complete' || command.type === 'fail') sim.closing = command;
      else if (command.type === 'cancel') sim.cancelled.push(command.exec);
      else {
        sim.pending.push(command);
        if (command.type !== 'start_timer')
          sim.calls.push({ node: command.node, call: command.call, type: command.type });
      }
    }
  };
  const answer = (command: WorkCommand): EngineEvent | undefined => {
    const entry = answers[command.node];
    if (command.type === 'start_timer')
      return entry === 'hold' ? undefined : { type: 'timer_fired', exec: command.exec };
    const nth = (counts.get(command.node) ?? 0) + 1;
    counts.set(command.node, nth);
    if (!entry) throw new Error(`no answer for node "${command.node}"`);
    const result = typeof entry === 'function' ? entry(command.call, nth, command, state) : entry;
    if (result === 'hold') return undefined;
    const child = command.type === 'start_child';
    if ('output' in result) {
      return child
        ? {
            type: 'child_completed',
            exec: command.exec,
            output: result.output,
            ...(result.cost ? { cost: result.cost } : {}),
          }
        : {
            type: 'activity_completed',
            exec: command.exec,
            output: result.output,
            attempts: result.attempts ?? 1,
            ...(result.cost ? { cost: result.cost } : {}),
          };
    }
    return child
      ? { type: 'child_failed', exec: command.exec, error: result.error }
      : { type: 'activity_failed', exec: command.exec, error: result.error, attempts: result.attempts ?? 1 };
  };
  await sim.feed(await startRun(program, state, clock()));
  return sim;
}

/** A task node calling a made-up URL; simulations answer it from their table. */
export function httpTask(id: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    type: 'task',
    connector: 'http',
    action: 'request',
    inputs: { url: `http://example.test/${id}` },
    ...extra,
  };
}
