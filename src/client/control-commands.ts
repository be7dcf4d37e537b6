/**
 * Operator actions on a run: pause, resume, cancel, retry, rerun, skip, vars, approve. The gateway
 * answers at once whether the run accepted the action (`409 rejected` with its reason, exit 3).
 */
import { assignments, jsonArgument, nonNegativeNumber } from './arguments.js';
import { arg, stringOption, stringsOption, type Command, type CommandContext, type OptionSpec } from './command.js';
import { UsageError } from './errors.js';
import type { Accepted, ControlAction } from './gateway-client.js';
import { columns, inline } from './output.js';

const reason: OptionSpec = { type: 'string', value: 'R', description: 'why (kept in the run history)' };

/** Sends one control action; prints "<action> of run <id> accepted" (+ a new run id). */
async function control(context: CommandContext, action: ControlAction, body: Record<string, unknown>, what?: string) {
  const runId = arg(context, 0);
  const answer = await context.client.control(runId, action, body);
  context.out.answer(answer, (accepted: Accepted) => {
    const line = `${what ?? `${action} of run ${runId}`} accepted`;
    // A rerun of a paused run answers its own id: only another run is "new".
    return accepted.run_id === undefined || accepted.run_id === runId ? line : `${line}: new run ${accepted.run_id}`;
  });
  return undefined;
}

/** `{ reason }` when --reason was given. */
function withReason(context: CommandContext): Record<string, unknown> {
  const text = stringOption(context, 'reason');
  return text === undefined ? {} : { reason: text };
}

export const pauseCommand: Command = {
  name: 'pause',
  args: '<run-id>',
  summary: 'pause a run: no new node starts; nodes in flight finish',
  options: { reason },
  arity: [1, 1],
  run: (context) => control(context, 'pause', withReason(context)),
};

export const resumeCommand: Command = {
  name: 'resume',
  args: '<run-id>',
  summary: 'resume a paused run',
  details: 'A run paused by its AI budget needs --max-cost above what it has spent.',
  options: {
    reason,
    'max-cost': { type: 'string', value: 'USD', description: "raise the run's AI budget (max_cost_usd)" },
  },
  arity: [1, 1],
  run(context) {
    const maxCost = stringOption(context, 'max-cost');
    return control(context, 'resume', {
      ...withReason(context),
      ...(maxCost === undefined ? {} : { max_cost_usd: nonNegativeNumber('--max-cost', maxCost) }),
    });
  },
};

export const cancelCommand: Command = {
  name: 'cancel',
  args: '<run-id>',
  summary: 'cancel a run: work in flight is cancelled, the run ends cancelled',
  options: { reason },
  arity: [1, 1],
  run: (context) => control(context, 'cancel', withReason(context)),
};

const version: OptionSpec = {
  type: 'string',
  value: 'V',
  description: 'run on this version of the definition, node state mapped by node id',
};

export const retryCommand: Command = {
  name: 'retry',
  args: '<run-id>',
  summary: "retry a paused run's failed node, or a closed failed run from its failed node",
  details:
    "Retrying a closed failed run starts a new run that keeps the completed outputs; its id is printed (run_id under --json). With --version the new run runs on that version; a version that cannot take the run's state is refused with each problem.",
  options: { node: { type: 'string', value: 'N', description: 'the failed node to retry' }, version },
  arity: [1, 1],
  run(context) {
    const node = stringOption(context, 'node');
    const on = stringOption(context, 'version');
    return control(context, 'retry', {
      ...(node === undefined ? {} : { node }),
      ...(on === undefined ? {} : { version: on }),
    });
  },
};

export const rerunCommand: Command = {
  name: 'rerun',
  args: '<run-id>',
  summary: 'rerun a paused or closed run from a node: it and everything downstream run again',
  details:
    "The other nodes' outputs and the variables are kept (those only the repeated nodes wrote go back to their start value); --var name=value overrides a variable (JSON when it parses, else a string). A paused run reruns itself (with --version it continues as new there); a closed run goes on in a new run, whose id is printed (run_id under --json).",
  options: {
    from: { type: 'string', value: 'NODE', description: 'the node to run again from (required)' },
    version,
    var: { type: 'string', value: 'NAME=VALUE', multiple: true, description: 'override a variable (repeatable)' },
  },
  arity: [1, 1],
  run(context) {
    const from = stringOption(context, 'from');
    if (from === undefined) throw new UsageError('rerun needs --from NODE');
    const on = stringOption(context, 'version');
    const vars = stringsOption(context, 'var');
    return control(
      context,
      'rerun',
      {
        from,
        ...(on === undefined ? {} : { version: on }),
        ...(vars.length === 0 ? {} : { variables: assignments(vars) }),
      },
      `rerun of run ${arg(context, 0)} from ${from}`,
    );
  },
};

export const skipCommand: Command = {
  name: 'skip',
  args: '<run-id> <node>',
  summary: 'skip a pending, running, waiting or failed node, optionally with its output',
  details: "A running node's call is cancelled; the node completes skipped with --output and the run goes on.",
  options: { output: { type: 'string', value: 'JSON', description: "the node's output, as JSON" } },
  arity: [2, 2],
  run(context) {
    const node = arg(context, 1);
    const output = stringOption(context, 'output');
    const body = output === undefined ? { node } : { node, output: jsonArgument('--output', output) };
    return control(context, 'skip', body, `skip of node ${node} in run ${arg(context, 0)}`);
  },
};

export const varsCommand: Command = {
  name: 'vars',
  args: '<run-id> <name=value>…',
  summary: "set a run's variables (checked against their declared types)",
  details: 'A value is JSON when it parses as JSON (5, true, {"a": 1}, "5"), else the text as a string.',
  options: {},
  arity: [2, Infinity],
  async run(context) {
    const runId = arg(context, 0);
    const answer = await context.client.setVariables(runId, assignments(context.args.slice(1)));
    context.out.answer(answer, ({ variables }) => [
      `variables of run ${runId}:`,
      ...columns(Object.entries(variables).map(([name, value]) => [`  ${name}`, inline(value)])),
    ]);
    return undefined;
  },
};

export const approveCommand: Command = {
  name: 'approve',
  args: '<run-id> <node>',
  summary: 'decide a waiting approval node (approve, or --reject)',
  options: {
    reject: { type: 'boolean', description: 'reject instead (the node fails with Rejected)' },
    comment: { type: 'string', value: 'C', description: 'a comment kept with the decision' },
  },
  arity: [2, 2],
  async run(context) {
    const [runId, node] = [arg(context, 0), arg(context, 1)];
    const approved = context.options.reject !== true;
    const comment = stringOption(context, 'comment');
    const answer = await context.client.approve(runId, node, {
      approved,
      ...(comment === undefined ? {} : { comment }),
    });
    context.out.answer(answer, () => `${approved ? 'approval' : 'rejection'} of node ${node} in run ${runId} accepted`);
    return undefined;
  },
};
