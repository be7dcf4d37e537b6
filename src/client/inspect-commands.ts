/** `weft status` and `weft list`: reading runs. */
import { positiveInteger } from './arguments.js';
import { arg, stringOption, type Command } from './command.js';
import { columns } from './output.js';
import { renderRunState } from './run-view.js';

export const statusCommand: Command = {
  name: 'status',
  args: '<run-id>',
  summary: "a run's state: status, current node, nodes and their attempts, variables, result",
  options: {},
  arity: [1, 1],
  async run(context) {
    context.out.answer(await context.client.state(arg(context, 0)), renderRunState);
    return undefined;
  },
};

export const listCommand: Command = {
  name: 'list',
  args: '',
  summary: 'list runs, newest first',
  details:
    'Runs come from Temporal visibility, which is eventually consistent: a run started a moment ago may take a second to be listed.',
  options: {
    definition: { type: 'string', value: 'ID', description: 'only runs of this definition' },
    version: { type: 'string', value: 'V', description: 'only runs of this version (needs --definition)' },
    status: {
      type: 'string',
      value: 'S',
      description: 'only runs with this status: running, paused, completed, failed, cancelled',
    },
    'started-after': {
      type: 'string',
      value: 'TIME',
      description: 'only runs started at or after TIME (RFC 3339, e.g. 2026-12-02T14:00:00Z)',
    },
    'started-before': { type: 'string', value: 'TIME', description: 'only runs started before TIME (RFC 3339)' },
    limit: { type: 'string', value: 'N', description: 'at most N runs (1-1000, default 50)' },
    'page-token': { type: 'string', value: 'TOKEN', description: 'the next page, as a previous list said' },
  },
  arity: [0, 0],
  async run(context) {
    const limit = stringOption(context, 'limit');
    const answer = await context.client.listRuns({
      definition_id: stringOption(context, 'definition'),
      version: stringOption(context, 'version'),
      status: stringOption(context, 'status'),
      started_after: stringOption(context, 'started-after'),
      started_before: stringOption(context, 'started-before'),
      page_size: limit === undefined ? undefined : positiveInteger('--limit', limit),
      page_token: stringOption(context, 'page-token'),
    });
    context.out.answer(answer, (page) => {
      if (page.items.length === 0) return 'no runs';
      const rows = page.items.map((run) => [
        run.run_id,
        run.definition_id,
        run.definition_version,
        run.status,
        run.started_at,
        run.closed_at ?? '',
      ]);
      const table = columns([['RUN', 'DEFINITION', 'VERSION', 'STATUS', 'STARTED', 'CLOSED'], ...rows]);
      return page.next_page_token ? [...table, '', `more: --page-token ${page.next_page_token}`] : table;
    });
    return undefined;
  },
};
