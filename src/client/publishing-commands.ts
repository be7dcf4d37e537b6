/**
 * `weft definitions history` and `weft definitions approve`: who changed a definition, and the
 * publish approvals of four-eyes publishing (a version goes live once another person approves it).
 */
import type { DefinitionDiff } from '../gateway/definition-diff.js';
import { arg, stringOption, type Command } from './command.js';
import type { HistoryEvent } from './gateway-client.js';
import { columns } from './output.js';

export const historyCommand: Command = {
  name: 'definitions history',
  args: '<definition-id>',
  summary: 'who submitted, activated, approved or rejected which version, with diffs',
  details: [
    'Oldest first. A submitted version after the first shows what changed from the version before:',
    'nodes added (+id), removed (-id) and changed (~id), the number of edges added, removed and',
    'changed, and the top-level fields that changed. --json has the full diffs.',
  ].join('\n'),
  options: {},
  arity: [1, 1],
  async run(context) {
    const id = arg(context, 0);
    context.out.answer(await context.client.history(id), ({ items }) => {
      if (items.length === 0) return `no recorded changes of ${id}`;
      return columns([['TIME', 'ACTOR', 'ACTION', 'VERSION', 'DETAILS'], ...items.map(historyRow)]);
    });
    return undefined;
  },
};

function historyRow(event: HistoryEvent): string[] {
  const details = [
    ...(event.diff === undefined ? [] : [summariseDiff(event.diff)]),
    ...(event.comment === undefined ? [] : [JSON.stringify(event.comment)]),
  ];
  return [event.at, event.actor, event.action, event.version, details.join('; ')];
}

/** A diff on one line: `nodes +review ~greet; edges +1 -1; fields ~name`. */
export function summariseDiff(diff: DefinitionDiff): string {
  if (diff.identical) return 'no changes';
  const parts: string[] = [];
  const nodes = [
    ...diff.nodes.added.map((node) => `+${node.id}`),
    ...diff.nodes.removed.map((node) => `-${node.id}`),
    ...diff.nodes.changed.map((node) => `~${node.id}`),
  ];
  if (nodes.length > 0) parts.push(`nodes ${nodes.join(' ')}`);
  const edges = (
    [
      ['+', diff.edges.added.length],
      ['-', diff.edges.removed.length],
      ['~', diff.edges.changed.length],
    ] as const
  )
    .filter(([, count]) => count > 0)
    .map(([mark, count]) => `${mark}${count}`);
  if (edges.length > 0) parts.push(`edges ${edges.join(' ')}`);
  const fields = diff.fields.map(({ field, before, after }) =>
    before === undefined ? `+${field}` : after === undefined ? `-${field}` : `~${field}`,
  );
  if (fields.length > 0) parts.push(`fields ${fields.join(' ')}`);
  return parts.join('; ');
}

export const publishApproveCommand: Command = {
  name: 'definitions approve',
  args: '<definition-id> <version>',
  summary: 'approve (or --reject) a version for publishing (four-eyes)',
  details: [
    "Needs the approver or admin role, and someone other than the version's author. In a tenant with",
    'four-eyes publishing, the approval makes the version active; elsewhere it is only recorded.',
  ].join('\n'),
  options: {
    reject: { type: 'boolean', description: 'reject the version instead' },
    comment: { type: 'string', value: 'C', description: 'a comment kept in the history' },
  },
  arity: [2, 2],
  async run(context) {
    const [id, version] = [arg(context, 0), arg(context, 1)];
    const approved = context.options.reject !== true;
    const comment = stringOption(context, 'comment');
    const answer = await context.client.approveVersion(id, version, {
      approved,
      ...(comment === undefined ? {} : { comment }),
    });
    context.out.answer(answer, (verdict) => {
      const what = `${verdict.approved ? 'approval' : 'rejection'} of ${id} version ${version} recorded`;
      const active = verdict.active_version;
      return active === version
        ? `${what}; version ${version} is active`
        : `${what}; active version: ${active ?? 'none'}`;
    });
    return undefined;
  },
};
