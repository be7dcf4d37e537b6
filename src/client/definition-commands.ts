/** `weft validate`, `weft submit` and `weft activate`: definitions. */
import { readJsonFile } from './arguments.js';
import { arg, type Command, type CommandContext } from './command.js';
import type { ErrorDetail } from './errors.js';

const fileArgs = '<file>';
const fileDetails = 'The file holds a definition as JSON; "-" reads it from stdin.';
const nameOf = (file: string) => (file === '-' ? 'the definition' : file);

/** Warnings do not fail the command: one line each on stderr, after the answer (none under --json). */
function noteWarnings(context: CommandContext, warnings: ErrorDetail[] | undefined): void {
  if (context.json) return;
  for (const w of warnings ?? []) context.out.note(`warning ${w.path || '/'}: ${w.message}`);
}

export const validateCommand: Command = {
  name: 'validate',
  args: fileArgs,
  summary: 'check a definition without storing it',
  details: `${fileDetails} An invalid definition exits 3 with every problem (JSON Pointer and message) on stderr; warnings (accepted, probably mistakes) go to stderr too and exit 0.`,
  options: {},
  arity: [1, 1],
  async run(context) {
    const file = arg(context, 0);
    const definition = await readJsonFile(file, context.io.stdin);
    const answer = await context.client.validate(definition);
    const count = answer.body.warnings?.length ?? 0;
    context.out.answer(
      answer,
      () => `${nameOf(file)} is valid${count > 0 ? ` (${count} warning${count === 1 ? '' : 's'})` : ''}`,
    );
    noteWarnings(context, answer.body.warnings);
    return undefined;
  },
};

export const submitCommand: Command = {
  name: 'submit',
  args: fileArgs,
  summary: 'store a definition as its next version (and make it active)',
  details: [
    `${fileDetails} A definition identical to the latest version stores nothing and says so.`,
    "In a tenant with four-eyes publishing the new version waits for another person's approval",
    "('weft definitions approve') before it becomes active.",
  ].join('\n'),
  options: {},
  arity: [1, 1],
  async run(context) {
    const definition = await readJsonFile(arg(context, 0), context.io.stdin);
    const answer = await context.client.submit(definition);
    context.out.answer(answer, (stored) =>
      !stored.created
        ? `${stored.id} version ${stored.version} unchanged (identical to the latest version; nothing stored)`
        : stored.approval === 'pending'
          ? `${stored.id} version ${stored.version} created, awaiting approval (four-eyes): weft definitions approve ${stored.id} ${stored.version}`
          : `${stored.id} version ${stored.version} created`,
    );
    noteWarnings(context, answer.body.warnings);
    return undefined;
  },
};

export const activateCommand: Command = {
  name: 'activate',
  args: '<definition-id> <version>',
  summary: 'choose the version that new runs, schedules and events use',
  options: {},
  arity: [2, 2],
  async run(context) {
    const answer = await context.client.activate(arg(context, 0), arg(context, 1));
    context.out.answer(answer, (active) => `${active.id}: version ${active.active_version} is active`);
    return undefined;
  },
};
