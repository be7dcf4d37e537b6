/** `weft run`: start a run of a definition and, with `--wait`, wait for its result. */
import { jsonObjectArgument, readJsonObjectFile } from './arguments.js';
import { arg, stringOption, type Command, type CommandContext } from './command.js';
import { ExitCode, UsageError } from './errors.js';
import type { StartRunBody } from './gateway-client.js';
import { pretty } from './output.js';
import { ProgressLine } from './progress.js';
import { describeError } from './run-view.js';
import { waitForRun } from './wait-for-run.js';

export const runCommand: Command = {
  name: 'run',
  args: '<definition-id>',
  summary: 'start a run of the active version, optionally waiting for its result',
  details: [
    'With --wait, a progress line of the node states is shown on stderr when it is a terminal, and the',
    'result is printed at the end; the exit code is 1 when the run failed or was cancelled. With',
    '--json, --wait prints the answer of GET /v1/runs/{id}/result (status, result, error); choose the',
    'run id with --run-id to know it beforehand. Starting again with the same --run-id, version and',
    'input starts nothing new.',
  ].join('\n'),
  options: {
    input: { type: 'string', value: 'JSON', description: 'the run input, a JSON object' },
    'input-file': { type: 'string', value: 'FILE', description: 'read the input from a JSON file ("-": stdin)' },
    version: { type: 'string', value: 'V', description: 'run this version instead of the active one' },
    'run-id': { type: 'string', value: 'ID', description: 'the run id (default: <definition-id>-<random>)' },
    wait: { type: 'boolean', description: 'wait for the run to finish and print its result' },
  },
  arity: [1, 1],
  async run(context) {
    const body = await startBody(context);
    const started = await context.client.startRun(arg(context, 0), body);
    const run = started.body;
    if (context.options.wait !== true) {
      context.out.answer(started, () => [startLine(started.status, run), `  ${run.ui_url}`]);
      return undefined;
    }
    if (!context.json) context.out.line(startLine(started.status, run));
    const progress = context.io.stderr.isTTY ? new ProgressLine(context.io.stderr) : undefined;
    const stopWaiting = () => {
      progress?.clear();
      context.out.note(`weft: stopped waiting; run ${run.run_id} goes on`);
      process.exit(130);
    };
    process.once('SIGINT', stopWaiting);
    try {
      const answer = await waitForRun(context.client, run.run_id, progress);
      const outcome = answer.body;
      context.out.answer(answer, () =>
        outcome.status === 'completed'
          ? ['completed', ...(outcome.result === undefined ? [] : [pretty(outcome.result)])]
          : `${outcome.status}: ${describeError(outcome.error)}`,
      );
      return outcome.status === 'completed' ? ExitCode.ok : ExitCode.runFailed;
    } finally {
      process.removeListener('SIGINT', stopWaiting);
    }
  },
};

async function startBody(context: CommandContext): Promise<StartRunBody> {
  const inputText = stringOption(context, 'input');
  const inputFile = stringOption(context, 'input-file');
  if (inputText !== undefined && inputFile !== undefined)
    throw new UsageError('give --input or --input-file, not both');
  const input =
    inputText !== undefined
      ? jsonObjectArgument('--input', inputText)
      : inputFile !== undefined
        ? await readJsonObjectFile(inputFile, context.io.stdin)
        : undefined;
  const version = stringOption(context, 'version');
  const runId = stringOption(context, 'run-id');
  return {
    ...(input === undefined ? {} : { input }),
    ...(version === undefined ? {} : { version }),
    ...(runId === undefined ? {} : { run_id: runId }),
  };
}

function startLine(status: number, run: { run_id: string; definition_id: string; definition_version: string }): string {
  const what = `run ${run.run_id} of ${run.definition_id} version ${run.definition_version}`;
  // 200: this run id already named a run with the same version and input; nothing new started.
  return status === 201 ? `started ${what}` : `${what} was already started with this input`;
}
