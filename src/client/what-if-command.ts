/**
 * `weft replay --definition ID --against-version V`: what-if replay of production through
 * `POST /v1/definitions/{id}/what-if`. The recorded closed runs of the active version (or
 * `--source-version`, or the `--run`s named) are re-executed on version V with their recorded
 * outcomes as mocks; prints per run whether V takes the same path, a different one (and where it
 * diverges) or cannot run (and which node has no recorded outcome). Exits 1 when any run differs
 * or cannot run, so CI can gate a new version on it.
 */
import type { WhatIfRun } from '../gateway/what-if.js';
import { positiveInteger } from './arguments.js';
import { stringOption, stringsOption, type Command } from './command.js';
import { ExitCode, UsageError } from './errors.js';
import { columns } from './output.js';

function detail(run: WhatIfRun): string {
  if (run.outcome === 'different' && run.divergence) {
    const d = run.divergence;
    return `after ${d.node ?? '(start)'}: recorded ${d.recorded ?? '(end)'}, candidate ${d.candidate ?? '(end)'}`;
  }
  if (run.outcome === 'cannot_run')
    return run.missing ? `${run.missing.node}: ${run.missing.message}` : (run.reason ?? '');
  return run.candidate ? run.candidate.path.join(' > ') : '';
}

export const whatIfCommand: Command = {
  name: 'replay',
  args: '',
  summary: "what-if replay: a definition's recorded runs re-executed on another version (mocked, no call)",
  details: [
    "Re-executes the recorded closed runs of --definition (its active version's, --source-version's, or the",
    '--run ids given) on --against-version, each with its recorded node outcomes as mocks, input and start',
    'time (POST /v1/definitions/{id}/what-if; README, "What-if replay"). Prints per run SAME, DIFFERENT (where',
    'the paths split: the last common node, then what each ran) or CANNOT_RUN (the node with no recorded',
    'outcome). Exits 1 when any run differs or cannot run. (`npm run replay` replays code against histories.)',
  ].join('\n'),
  options: {
    definition: { type: 'string', value: 'ID', description: 'the definition whose runs to replay' },
    'against-version': { type: 'string', value: 'V', description: 'the candidate version' },
    'source-version': {
      type: 'string',
      value: 'S',
      description: 'replay the runs of version S (default: the active version)',
    },
    limit: { type: 'string', value: 'N', description: 'the N most recent closed runs (1-100, default 20)' },
    run: { type: 'string', value: 'RUN', multiple: true, description: 'replay this run (repeatable) instead' },
  },
  arity: [0, 0],
  async run(context) {
    const definition = stringOption(context, 'definition');
    const version = stringOption(context, 'against-version');
    if (definition === undefined || version === undefined)
      throw new UsageError('weft replay needs --definition ID and --against-version V');
    const source = stringOption(context, 'source-version');
    const limit = stringOption(context, 'limit');
    const runs = stringsOption(context, 'run');
    const answer = await context.client.whatIf(definition, {
      version,
      ...(source === undefined ? {} : { source_version: source }),
      ...(limit === undefined ? {} : { limit: positiveInteger('--limit', limit) }),
      ...(runs.length > 0 ? { runs } : {}),
    });
    context.out.answer(answer, (report) => [
      ...columns([
        ['RUN', 'VERSION', 'OUTCOME', 'DETAIL'],
        ...report.runs.map((r) => [r.run_id, r.definition_version, r.outcome.toUpperCase(), detail(r)]),
      ]),
      `${report.summary.same} same, ${report.summary.different} different, ${report.summary.cannot_run} cannot run` +
        (report.unchecked ? `; ${report.unchecked.length} not checked (time ran out)` : ''),
    ]);
    const { different, cannot_run } = answer.body.summary;
    return different > 0 || cannot_run > 0 || answer.body.unchecked ? ExitCode.runFailed : ExitCode.ok;
  },
};
