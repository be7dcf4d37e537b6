/**
 * Definition tests: a run of the real engine (`startRun`, `handleEvent`, `deliverEvent`,
 * `applyControl`) in which every command that would reach the outside world is answered from a
 * table of mocks instead. No activity, model call or child run happens; timers fire at once
 * (the test's clock jumps to their deadline); events and approvals are answered from the table
 * as soon as a node waits for them. Pure like the rest of `interpreter/`: the caller passes the
 * start time and how to give its event loop back between steps.
 *
 * The mocks, per node id:
 * - task, ai, subworkflow: `{ "output": … }` or `{ "error": { "type", "message"? } }` (the
 *   outcome after the node's own retries);
 * - map: `{ "items": [answer, …] }` (one per item, by index) or one `output` / `error` for every item;
 * - event: `{ "event": { "payload"?, "correlation_key"? } }` (delivered as a real event would
 *   be; the key defaults to the one the node waits for) or `{ "timeout": true }`;
 * - approval: `{ "decision": "approved" | "rejected", "by"?, "comment"?, "roles"? }` (`by` a
 *   list for a quorum) or `{ "timeout": true }`;
 * - any of them: `{ "sequence": [answer, …] }`, one answer per execution of the node (loops,
 *   handler retries); and a task with a compensation `compensation: { output | error }`
 *   (default: the compensation succeeds with `null`).
 * A node that needs an answer and has none fails with `NotMocked` (error edges and handlers
 * apply, as to any failure). Task nodes named in `allow_calls` are not answered from the table:
 * their connector calls go to the caller's `calls.run` (the gateway runs the real activity).
 */
import { z } from 'zod';
import { CALLER_ROLES } from './approvals.js';
import type { Command, ConnectorCall, EngineEvent, WorkCommand } from './commands.js';
import { checkControl, applyControl, deliverEvent } from './control.js';
import type { Definition, Node } from './definition-schema.js';
import { advance, compileProgram, handleEvent, initialState, startRun, useEvaluation } from './engine.js';
import { onFailure } from './failures.js';
import type { Problem } from './problems.js';
import type { RunQuotas } from './quotas.js';
import {
  viewRunState,
  type Execution,
  type NodeError,
  type RunError,
  type RunState,
  type RunStateView,
  type Transition,
} from './run-state.js';
import { isClosed, type Program } from './state-ops.js';

/** Bounds of one test run: engine steps (each answered command, event, decision or timer). */
export const TEST_LIMITS = { steps: 10_000 } as const;

/** The error type of a node that needed an answer its mocks did not give. */
export const NOT_MOCKED = 'NotMocked';
/** The error type of a node whose mocked decision the run refused (not an approver, self-approval, …). */
export const MOCK_REFUSED = 'MockRefused';

const MockError = z.strictObject({
  type: z.string().min(1, 'expected an error type such as "HttpError"'),
  message: z.string().optional(),
});

const Outcome = z.strictObject({ output: z.json().optional(), error: MockError.optional() });

/** One answer: what one execution of a node gets (which fields apply depends on its type). */
export const MockAnswer = z.strictObject({
  output: z.json().optional().meta({ description: 'task, ai, subworkflow, map (every item): the output' }),
  error: MockError.optional().meta({
    description: 'task, ai, subworkflow, map (every item): the node fails with this error',
  }),
  items: z.array(Outcome).optional().meta({ description: 'map: one { output } or { error } per item, by index' }),
  event: z
    .strictObject({
      payload: z.json().optional(),
      correlation_key: z.union([z.string(), z.number(), z.null()]).optional(),
    })
    .optional()
    .meta({ description: 'event: the event delivered to the node (its key defaults to the one the node waits for)' }),
  decision: z.enum(['approved', 'rejected']).optional().meta({ description: 'approval: the decision' }),
  by: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .optional()
    .meta({ description: 'approval: who decides (a list: one approval each, for a quorum); default "test-approver"' }),
  comment: z.string().optional(),
  roles: z
    .array(z.enum(CALLER_ROLES))
    .optional()
    .meta({ description: "approval: the deciding caller's roles (default: all of them)" }),
  timeout: z
    .literal(true)
    .optional()
    .meta({ description: "event, approval: nothing arrives; the node's timeout fires" }),
});

export const MockEntry = MockAnswer.extend({
  sequence: z
    .array(MockAnswer)
    .min(1)
    .optional()
    .meta({ description: 'one answer per execution of the node, in order; an execution beyond the list is NotMocked' }),
  compensation: Outcome.optional().meta({
    description: "a task's compensation: { output } or { error } (default: it succeeds with null)",
  }),
});

/** The mocks of a test: node id → its answer(s). */
export const Mocks = z.record(z.string(), MockEntry);

export type MockAnswerValue = z.output<typeof MockAnswer>;
export type MockEntryValue = z.output<typeof MockEntry>;
export type MocksValue = z.output<typeof Mocks>;

const has = (object: object, key: string) => Object.prototype.hasOwnProperty.call(object, key);
const escapePointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

const ANSWER_FIELDS: Record<string, readonly string[]> = {
  task: ['output', 'error'],
  ai: ['output', 'error'],
  subworkflow: ['output', 'error'],
  map: ['output', 'error', 'items'],
  event: ['event', 'timeout'],
  approval: ['decision', 'timeout'],
};
const DECISION_DETAILS = ['by', 'comment', 'roles'] as const;
const ALL_FIELDS = ['output', 'error', 'items', 'event', 'decision', 'timeout', ...DECISION_DETAILS];

function answerProblems(node: Node, answer: MockAnswerValue, at: string): Problem[] {
  const allowed = ANSWER_FIELDS[node.type] ?? [];
  const given = ALL_FIELDS.filter((f) => has(answer, f));
  const problems: Problem[] = [];
  for (const field of given) {
    const ok =
      allowed.includes(field) || (node.type === 'approval' && (DECISION_DETAILS as readonly string[]).includes(field));
    if (!ok)
      problems.push({
        path: `${at}/${field}`,
        message: `"${field}" does not apply to ${node.type} node "${node.id}"; expected one of ${allowed.map((f) => `"${f}"`).join(', ')}`,
      });
  }
  if (problems.length > 0) return problems;
  const answers = given.filter((f) => allowed.includes(f));
  if (answers.length !== 1)
    return [
      {
        path: at,
        message: `expected exactly one of ${allowed.map((f) => `"${f}"`).join(', ')} for ${node.type} node "${node.id}"${answers.length > 1 ? `, got ${answers.join(' and ')}` : ''}`,
      },
    ];
  if (node.type === 'approval' && answers[0] === 'timeout') {
    const extra = DECISION_DETAILS.filter((f) => has(answer, f));
    if (extra.length > 0)
      return [{ path: `${at}/${extra[0]}`, message: `"${extra[0]}" goes with a "decision", not a "timeout"` }];
  }
  if (answers[0] === 'timeout' && (node.type === 'event' || node.type === 'approval') && node.timeout === undefined)
    return [{ path: `${at}/timeout`, message: `node "${node.id}" has no "timeout", so it cannot time out` }];
  if (node.type === 'approval' && answer.decision === 'rejected' && Array.isArray(answer.by) && answer.by.length > 1)
    return [{ path: `${at}/by`, message: 'a rejection is one decision: give one "by"' }];
  return [];
}

/**
 * What is wrong with a test's `allow_calls` (at `prefix`/<i>): nodes the definition does not
 * have, nodes that are not tasks (only a task's connector call can be made for real), nodes that
 * are mocked too, and repeats.
 */
export function allowCallsProblems(
  definition: Definition,
  allowCalls: readonly string[],
  mocks: MocksValue,
  prefix = '/allow_calls',
): Problem[] {
  const nodes = new Map(definition.nodes.map((n) => [n.id, n]));
  const problems: Problem[] = [];
  const seen = new Set<string>();
  allowCalls.forEach((id, i) => {
    const at = `${prefix}/${i}`;
    const node = nodes.get(id);
    if (seen.has(id)) problems.push({ path: at, message: `node "${id}" is listed twice` });
    else if (!node)
      problems.push({
        path: at,
        message: `no node "${id}" in the definition (nodes: ${[...nodes.keys()].join(', ')})`,
      });
    else if (node.type !== 'task')
      problems.push({
        path: at,
        message: `node "${id}" is a ${node.type} node: only task nodes can make real calls in a test (mock it instead)`,
      });
    else if (has(mocks, id))
      problems.push({ path: at, message: `node "${id}" is mocked too: either mock it or allow its calls` });
    seen.add(id);
  });
  return problems;
}

/** The outcome of one real call a test made (`TestRunOptions.calls`). */
export type CallOutcome = { output: unknown } | { error: { type: string; message: string } };

/**
 * What is wrong with a test's mocks for this definition, each problem at its JSON Pointer
 * under `prefix`: unknown nodes, nodes the engine runs itself, answers of the wrong kind.
 */
export function mockProblems(definition: Definition, mocks: MocksValue, prefix = '/mocks'): Problem[] {
  const nodes = new Map(definition.nodes.map((n) => [n.id, n]));
  const problems: Problem[] = [];
  for (const [id, entry] of Object.entries(mocks)) {
    const at = `${prefix}/${escapePointer(id)}`;
    const node = nodes.get(id);
    if (!node) {
      problems.push({
        path: at,
        message: `no node "${id}" in the definition (nodes: ${[...nodes.keys()].join(', ')})`,
      });
      continue;
    }
    if (!ANSWER_FIELDS[node.type]) {
      problems.push({
        path: at,
        message: `node "${id}" is a ${node.type} node: the engine runs it itself${node.type === 'wait' ? ' (waits end at once in a test)' : ''}; only task, ai, subworkflow, map, event and approval nodes take mocks`,
      });
      continue;
    }
    if (entry.compensation !== undefined) {
      if (node.type !== 'task' || !node.compensation)
        problems.push({ path: `${at}/compensation`, message: `node "${id}" has no compensation` });
      else if (has(entry.compensation, 'output') === has(entry.compensation, 'error'))
        problems.push({ path: `${at}/compensation`, message: 'expected exactly one of "output" and "error"' });
    }
    const { sequence, compensation: _c, ...answer } = entry;
    if (sequence !== undefined) {
      const extra = ALL_FIELDS.filter((f) => has(answer, f));
      if (extra.length > 0)
        problems.push({ path: `${at}/${extra[0]}`, message: `expected either "sequence" or one answer, not both` });
      else sequence.forEach((a, i) => problems.push(...answerProblems(node, a, `${at}/sequence/${i}`)));
    } else {
      problems.push(...answerProblems(node, answer, at));
    }
    const all = sequence ?? [answer];
    all.forEach((a, i) =>
      a.items?.forEach((item, j) => {
        if (has(item, 'output') === has(item, 'error'))
          problems.push({
            path: `${at}${sequence ? `/sequence/${i}` : ''}/items/${j}`,
            message: 'expected exactly one of "output" and "error"',
          });
      }),
    );
  }
  return problems;
}

export interface TestRunOptions {
  /** The test's start time (ISO); its clock moves only when a timer fires. */
  now: string;
  /** Gives the caller's event loop back; awaited between steps and between evaluation slices. */
  pause: () => Promise<void>;
  /** The run-time quotas a real run would start with (the tenant's); absent: none. */
  quotas?: RunQuotas;
  /** Who starts the test run (`run.started_by`, which `forbid_self_approval` reads). */
  startedBy?: string;
  runId?: string;
  /** Overrides TEST_LIMITS.steps. */
  maxSteps?: number;
  /** Task nodes whose connector calls (their compensation's too) are made for real, by `run`. */
  calls?: {
    nodes: ReadonlySet<string>;
    run: (node: string, call: ConnectorCall, timeoutMs: number) => Promise<CallOutcome>;
  };
}

/** The path of a recorded run: node ids in the order they ran, from its state's history (as a test run's `path`). */
export function pathOf(history: readonly Transition[]): string[] {
  return history.filter(startsExecution).map((t) => t.node as string);
}

export interface TestRunResult {
  status: RunStateView['status'];
  /** Node ids in the order they ran (started, or completed at once); a node that ran again is listed again. */
  path: string[];
  nodes: RunStateView['nodes'];
  variables: RunStateView['variables'];
  /** The run's result when it completed; null otherwise. */
  result: unknown;
  error?: RunError;
  pause_reason?: string;
  /** The compensations a `compensate` handler ran, in order (mocked like the calls they are). */
  compensations: Array<{ node: string; status: 'completed' | 'failed' }>;
  history: Transition[];
  steps: number;
}

/** The test run did more than `TEST_LIMITS.steps` steps (a loop its mocks keep going, say). */
export class TestLimitExceeded extends Error {}

type TimerCommand = Extract<WorkCommand, { type: 'start_timer' }>;

/** Whether a history entry is the start of a node's execution (for the path). */
export function startsExecution(t: Transition): boolean {
  if (t.node === undefined) return false;
  if (!['running', 'waiting', 'completed', 'failed'].includes(t.to)) return false;
  return t.from !== 'running' && t.from !== 'waiting';
}

/**
 * Runs `definition` (validated) with `variables` (the input resolved by `resolveRunInput`) and
 * answers from `mocks` (checked by `mockProblems`). Throws `TestLimitExceeded` past the step cap.
 */
export async function runDefinitionTest(
  definition: Definition & { version?: string },
  input: Record<string, unknown>,
  variables: Record<string, unknown>,
  mocks: MocksValue,
  options: TestRunOptions,
): Promise<TestRunResult> {
  const program: Program = compileProgram(definition);
  const runId = options.runId ?? `test-${definition.id}`;
  const state: RunState = initialState(
    {
      id: runId,
      definition_id: definition.id,
      definition_version: definition.version ?? 'draft',
      started_at: options.now,
      ...(options.startedBy === undefined ? {} : { started_by: options.startedBy }),
    },
    input,
    variables,
    options.quotas,
  );
  useEvaluation(state, { slices: { used: 0, pause: options.pause } });
  // Every transition, also those the bounded state history drops, makes the path.
  const path: string[] = [];
  const compensations: TestRunResult['compensations'] = [];
  const history = state.history;
  Object.defineProperty(history, 'push', {
    value: (...entries: Transition[]) => {
      for (const entry of entries) {
        if (startsExecution(entry)) path.push(entry.node as string);
        const done =
          entry.to === 'compensation' ? /^(.+): (compensated|compensation failed)/.exec(entry.note ?? '') : null;
        if (done?.[1])
          compensations.push({ node: done[1], status: done[2] === 'compensated' ? 'completed' : 'failed' });
      }
      return Array.prototype.push.apply(history, entries);
    },
  });

  let now = options.now;
  let closing = false;
  const work: Array<Exclude<WorkCommand, TimerCommand>> = [];
  const timers: TimerCommand[] = [];
  const answered = new Set<string>();
  const executions = new Map<string, number>();
  const mapExecutions = new Map<string, number>();
  const take = (commands: Command[]) => {
    for (const command of commands) {
      if (command.type === 'complete' || command.type === 'fail') closing = true;
      else if (command.type === 'cancel') answered.add(command.exec);
      else if (command.type === 'start_timer') timers.push(command);
      else work.push(command);
    }
  };
  const nth = (counts: Map<string, number>, key: string) => {
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    return n;
  };
  /** The answer of the node's n-th execution, or why there is none. */
  const answerFor = (node: string, n: number): MockAnswerValue | string => {
    // Own keys only: a node named "constructor" is not answered by Object.prototype.
    const entry = has(mocks, node) ? mocks[node] : undefined;
    if (!entry) return `node "${node}" is not mocked: give mocks.${node} an answer`;
    if (!entry.sequence) return entry;
    return (
      entry.sequence[n - 1] ??
      `node "${node}" ran ${n} time(s) but mocks.${node}.sequence has ${entry.sequence.length} answer(s)`
    );
  };

  const answerWork = async (
    command: Exclude<WorkCommand, TimerCommand>,
    execution: Execution,
  ): Promise<EngineEvent> => {
    const child = command.type === 'start_child';
    const done = (outcome: { output?: unknown; error?: { type: string; message?: string } }): EngineEvent => {
      if (outcome.error) {
        const error = { type: outcome.error.type, message: outcome.error.message ?? `mocked ${outcome.error.type}` };
        return child
          ? { type: 'child_failed', exec: command.exec, error }
          : { type: 'activity_failed', exec: command.exec, error, attempts: 1 };
      }
      const output = outcome.output ?? null;
      return child
        ? { type: 'child_completed', exec: command.exec, output }
        : { type: 'activity_completed', exec: command.exec, output, attempts: 1 };
    };
    const missing = (message: string) => done({ error: { type: NOT_MOCKED, message } });
    if (command.type === 'run_activity' && options.calls?.nodes.has(command.node))
      return done(await options.calls.run(command.node, command.call, command.plan.start_to_close_ms));
    if (execution.kind === 'work' && execution.compensation)
      return done((has(mocks, command.node) ? mocks[command.node]?.compensation : undefined) ?? {});
    if (execution.kind === 'work' && execution.map) {
      const { exec: mapExec, index } = execution.map;
      // Every item of one execution of the map takes its answer from the same (n-th) mock answer.
      if (!mapExecutions.has(mapExec)) mapExecutions.set(mapExec, nth(executions, command.node));
      const answer = answerFor(command.node, mapExecutions.get(mapExec) ?? 1);
      if (typeof answer === 'string') return missing(answer);
      if (!answer.items) return done(answer);
      const item = answer.items[index];
      return item
        ? done(item)
        : missing(`mocks.${command.node}.items has ${answer.items.length} answer(s); item ${index} has none`);
    }
    const answer = answerFor(command.node, nth(executions, command.node));
    return typeof answer === 'string' ? missing(answer) : done(answer);
  };

  /** Fails a node that waits for something no mock gives. */
  const failWaiting = async (exec: string, type: string, message: string): Promise<Command[]> => {
    const execution = state.inflight[exec];
    const node = execution && program.nodes.get(execution.node);
    if (!execution || !node) return [];
    delete state.inflight[exec];
    answered.add(exec);
    const commands: Command[] = 'timer' in execution && execution.timer ? [{ type: 'cancel', exec }] : [];
    const error: NodeError = { type, message, node: node.id };
    return advance(program, state, now, await onFailure(program, state, node, error, now, commands), commands);
  };

  const answerWait = async (exec: string, execution: Execution): Promise<Command[]> => {
    answered.add(exec);
    const answer = answerFor(execution.node, nth(executions, execution.node));
    if (typeof answer === 'string') return failWaiting(exec, NOT_MOCKED, answer);
    if (answer.timeout) return []; // its timer fires in turn
    if (execution.kind === 'event' && answer.event) {
      const { payload, correlation_key } = answer.event;
      const delivery = await deliverEvent(
        program,
        state,
        {
          event_type: execution.event_type,
          correlation_key:
            correlation_key === undefined ? (execution.correlation_key as string | number | null) : correlation_key,
          ...(payload === undefined ? {} : { payload }),
          event_id: `${exec}:mock`,
        },
        now,
      );
      if (delivery.status !== 'delivered' || state.inflight[exec])
        return [
          ...delivery.commands,
          ...(await failWaiting(
            exec,
            NOT_MOCKED,
            `the mocked "${execution.event_type}" event does not match what node "${execution.node}" waits for (its correlation key or filters)`,
          )),
        ];
      return delivery.commands;
    }
    if (execution.kind === 'approval' && answer.decision) {
      const node = program.nodes.get(execution.node);
      const quorum = node?.type === 'approval' ? (node.quorum ?? 1) : 1;
      const approved = answer.decision === 'approved';
      const by =
        answer.by === undefined
          ? approved && quorum > 1
            ? Array.from({ length: quorum }, (_, i) => `test-approver-${i + 1}`)
            : ['test-approver']
          : Array.isArray(answer.by)
            ? answer.by
            : [answer.by];
      const commands: Command[] = [];
      for (const who of by) {
        if (!state.inflight[exec]) break;
        const action = {
          type: 'approve' as const,
          node: execution.node,
          approved,
          by: who,
          roles: answer.roles ?? [...CALLER_ROLES],
          ...(answer.comment === undefined ? {} : { comment: answer.comment }),
        };
        const refused = checkControl(program, state, action);
        if (refused) return [...commands, ...(await failWaiting(exec, MOCK_REFUSED, refused))];
        commands.push(...(await applyControl(program, state, action, now)));
      }
      if (state.inflight[exec])
        commands.push(
          ...(await failWaiting(
            exec,
            NOT_MOCKED,
            `node "${execution.node}" needs ${quorum} approvals; mocks.${execution.node} gave ${by.length}`,
          )),
        );
      return commands;
    }
    return [];
  };

  const maxSteps = options.maxSteps ?? TEST_LIMITS.steps;
  let steps = 0;
  const step = async (commands: Promise<Command[]>) => {
    if (++steps > maxSteps)
      throw new TestLimitExceeded(
        `the test run took more than ${maxSteps.toLocaleString('en-US')} steps (answered commands, events, decisions and timers); look for a loop its mocks keep going`,
      );
    take(await commands);
    await options.pause();
  };

  await step(startRun(program, state, now));
  while (!closing && !isClosed(state.status)) {
    const wait = Object.entries(state.inflight)
      .filter(([exec, e]) => (e.kind === 'event' || e.kind === 'approval') && !answered.has(exec))
      .sort(([, a], [, b]) => a.started - b.started)[0];
    if (wait) {
      await step(answerWait(wait[0], wait[1]));
      continue;
    }
    const command = work.shift();
    if (command) {
      const execution = state.inflight[command.exec];
      if (!execution || answered.has(command.exec)) continue;
      await step(handleEvent(program, state, await answerWork(command, execution), now));
      continue;
    }
    if (timers.length > 0) {
      let index = 0;
      // The earliest deadline first; among equal ones, the first armed.
      timers.forEach((t, i) => {
        if (Date.parse(t.deadline) < Date.parse((timers[index] as TimerCommand).deadline)) index = i;
      });
      const timer = timers.splice(index, 1)[0] as TimerCommand;
      // Cancelled, or its node was answered (an event, a decision) before it fired.
      if (!state.inflight[timer.exec]) continue;
      if (Date.parse(timer.deadline) > Date.parse(now)) now = new Date(Date.parse(timer.deadline)).toISOString();
      await step(handleEvent(program, state, { type: 'timer_fired', exec: timer.exec }, now));
      continue;
    }
    break;
  }

  const view = viewRunState(definition, state, { workflow_id: runId, instance_id: 'test' });
  return {
    status: view.status,
    path,
    nodes: view.nodes,
    variables: view.variables,
    result: view.status === 'completed' ? (view.result ?? null) : null,
    ...(view.error ? { error: view.error } : {}),
    ...(view.pause_reason === undefined ? {} : { pause_reason: view.pause_reason }),
    compensations,
    history: view.history,
    steps,
  };
}
