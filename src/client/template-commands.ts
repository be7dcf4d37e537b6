/**
 * `weft templates list|show|create|delete|instantiate`: the template manager. Templates are
 * parameterised definitions; the starter library ships with weft and every tenant lists it.
 */
import { assignments, jsonObjectArgument, readJsonFile, readJsonObjectFile } from './arguments.js';
import { arg, stringOption, stringsOption, type Command } from './command.js';
import { UsageError } from './errors.js';
import type { TemplateSummary } from './gateway-client.js';
import { columns, inline, pretty } from './output.js';

function parameterRows(parameters: TemplateSummary['parameters']): string[] {
  if (parameters.length === 0) return ['parameters: none'];
  return columns([
    ['PARAMETER', 'TYPE', 'DEFAULT', 'DESCRIPTION'],
    ...parameters.map((p) => [
      p.name,
      p.type === 'enum' ? `enum ${p.values.map((v) => inline(v)).join('|')}` : p.type,
      p.default !== undefined ? inline(p.default) : p.required === false ? '(null)' : '(required)',
      p.description ?? '',
    ]),
  ]);
}

export const templatesListCommand: Command = {
  name: 'templates list',
  args: '',
  summary: "the starter templates and the tenant's own",
  options: {},
  arity: [0, 0],
  async run(context) {
    context.out.answer(await context.client.listTemplates(), ({ items }) =>
      columns([
        ['TEMPLATE', 'KIND', 'PARAMETERS', 'NAME'],
        ...items.map((t) => [
          t.id,
          t.builtin ? 'built-in' : 'stored',
          t.parameters.map((p) => p.name).join(',') || '-',
          t.name,
        ]),
      ]),
    );
    return undefined;
  },
};

export const templatesShowCommand: Command = {
  name: 'templates show',
  args: '<template-id>',
  summary: 'a template: what it does and its parameters (--json: with its definition)',
  options: {},
  arity: [1, 1],
  async run(context) {
    context.out.answer(await context.client.template(arg(context, 0)), (t) => [
      `${t.id}: ${t.name}${t.builtin ? ' (built-in)' : ''}`,
      ...(t.description ? [t.description] : []),
      ...(t.created_by ? [`stored by ${t.created_by} at ${t.created_at ?? ''}`] : []),
      '',
      ...parameterRows(t.parameters),
    ]);
    return undefined;
  },
};

export const templatesCreateCommand: Command = {
  name: 'templates create',
  args: '<file>',
  summary: "store a template in the caller's tenant",
  details: [
    'The file holds a template as JSON ("-" reads stdin): { id, name, description?, parameters, definition },',
    'with { "$param": "<name>" } in the definition where a value goes. Every problem is printed with its',
    'JSON Pointer. Templates are immutable: the same content again stores nothing; other content under a',
    "stored id is refused (delete it first). See README, 'Templates'.",
  ].join('\n'),
  options: {},
  arity: [1, 1],
  async run(context) {
    const template = await readJsonFile(arg(context, 0), context.io.stdin);
    context.out.answer(await context.client.createTemplate(template), (stored) =>
      stored.created ? `template ${stored.id} created` : `template ${stored.id} unchanged (identical content)`,
    );
    return undefined;
  },
};

export const templatesDeleteCommand: Command = {
  name: 'templates delete',
  args: '<template-id>',
  summary: "delete one of the tenant's templates (built-in ones cannot be)",
  options: {},
  arity: [1, 1],
  async run(context) {
    const id = arg(context, 0);
    const answer = await context.client.deleteTemplate(id);
    if (context.json) context.out.raw(JSON.stringify({ id, deleted: true }));
    else context.out.answer(answer, () => `template ${id} deleted`);
    return undefined;
  },
};

export const templatesInstantiateCommand: Command = {
  name: 'templates instantiate',
  args: '<template-id>',
  summary: 'make a definition from a template (print it, or --submit it)',
  details: [
    'Without --submit the validated definition is printed as JSON on stdout (redirect it to a file, edit',
    'it, "weft submit" it). With --submit it is stored as its next version, as "weft submit" does.',
    '--param values are JSON when they parse (5, true, ["a"]), else strings: --param who=Ada;',
    'quote a string that looks like JSON: --param zip=\'"02134"\'.',
  ].join('\n'),
  options: {
    id: { type: 'string', value: 'ID', description: 'the new definition id (required)' },
    param: { type: 'string', value: 'NAME=VALUE', multiple: true, description: 'a parameter value (repeatable)' },
    params: { type: 'string', value: 'JSON', description: 'parameter values as one JSON object' },
    'params-file': { type: 'string', value: 'FILE', description: 'parameter values from a JSON file ("-": stdin)' },
    submit: { type: 'boolean', description: 'store the definition as its next version' },
  },
  arity: [1, 1],
  async run(context) {
    const id = stringOption(context, 'id');
    if (id === undefined) throw new UsageError('--id <definition id> is required');
    const text = stringOption(context, 'params');
    const file = stringOption(context, 'params-file');
    if (text !== undefined && file !== undefined) throw new UsageError('give --params or --params-file, not both');
    const parameters = {
      ...(text !== undefined ? jsonObjectArgument('--params', text) : {}),
      ...(file !== undefined ? await readJsonObjectFile(file, context.io.stdin) : {}),
      ...assignments(stringsOption(context, 'param')),
    };
    const submit = context.options.submit === true;
    const answer = await context.client.instantiate(arg(context, 0), {
      id,
      ...(Object.keys(parameters).length > 0 ? { parameters } : {}),
      ...(submit ? { submit } : {}),
    });
    context.out.answer(answer, (body) => {
      if (!submit) return pretty(body);
      const stored = body as { id: string; version: string; created: boolean; approval?: string };
      if (!stored.created) return `${stored.id} version ${stored.version} unchanged (identical to the latest version)`;
      return stored.approval === 'pending'
        ? `${stored.id} version ${stored.version} created, awaiting approval (four-eyes): weft definitions approve ${stored.id} ${stored.version}`
        : `${stored.id} version ${stored.version} created`;
    });
    return undefined;
  },
};
