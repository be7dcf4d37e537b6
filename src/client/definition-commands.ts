/** `weft validate`, `weft submit` and `weft activate`: definitions. */
import { readJsonFile } from './arguments.js';
import { arg, type Command } from './command.js';

const fileArgs = '<file>';
const fileDetails = 'The file holds a definition as JSON; "-" reads it from stdin.';
const nameOf = (file: string) => (file === '-' ? 'the definition' : file);

export const validateCommand: Command = {
  name: 'validate',
  args: fileArgs,
  summary: 'check a definition without storing it',
  details: `${fileDetails} An invalid definition exits 3 with every problem (JSON Pointer and message) on stderr.`,
  options: {},
  arity: [1, 1],
  async run(context) {
    const file = arg(context, 0);
    const definition = await readJsonFile(file, context.io.stdin);
    context.out.answer(await context.client.validate(definition), () => `${nameOf(file)} is valid`);
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
    context.out.answer(await context.client.submit(definition), (stored) =>
      !stored.created
        ? `${stored.id} version ${stored.version} unchanged (identical to the latest version; nothing stored)`
        : stored.approval === 'pending'
          ? `${stored.id} version ${stored.version} created, awaiting approval (four-eyes): weft definitions approve ${stored.id} ${stored.version}`
          : `${stored.id} version ${stored.version} created`,
    );
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
