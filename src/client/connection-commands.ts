/**
 * `weft connections list|show|create|replace|test|delete`: the tenant's named connections.
 * Secret settings are read from a file or stdin only (`--secrets-file`), never from an argument
 * (process lists show arguments), and the gateway never answers them: they show as "***".
 */
import { jsonObjectArgument, readJsonObjectFile } from './arguments.js';
import { arg, stringOption, type Command, type CommandContext } from './command.js';
import { ExitCode, UsageError } from './errors.js';
import type { ConnectionInfo } from './gateway-client.js';
import { columns, inline } from './output.js';

function connectionLines(c: ConnectionInfo): string[] {
  return columns([
    ['connection', c.name],
    ['connector', c.connector],
    ['version', String(c.version)],
    ['settings', inline(c.settings)],
    ['secret settings', inline(c.secret_settings)],
    ['updated', `${c.updated_at} by ${c.updated_by}`],
  ]);
}

const fieldOptions = {
  settings: { type: 'string', value: 'JSON', description: 'the settings (shown to readers), a JSON object' },
  'settings-file': { type: 'string', value: 'FILE', description: 'the settings from a JSON file ("-": stdin)' },
  'secrets-file': {
    type: 'string',
    value: 'FILE',
    description: 'the secret settings from a JSON file ("-": stdin); never shown again',
  },
} as const;

/** `settings` and `secret_settings` from the options; absent ones are left out. */
async function fields(context: CommandContext): Promise<Record<string, unknown>> {
  const text = stringOption(context, 'settings');
  const file = stringOption(context, 'settings-file');
  const secrets = stringOption(context, 'secrets-file');
  if (text !== undefined && file !== undefined) throw new UsageError('give --settings or --settings-file, not both');
  if (file === '-' && secrets === '-')
    throw new UsageError('only one of --settings-file and --secrets-file can read stdin');
  const settings =
    text !== undefined
      ? jsonObjectArgument('--settings', text)
      : file !== undefined
        ? await readJsonObjectFile(file, context.io.stdin)
        : undefined;
  const secretSettings = secrets === undefined ? undefined : await readJsonObjectFile(secrets, context.io.stdin);
  return {
    ...(settings === undefined ? {} : { settings }),
    ...(secretSettings === undefined ? {} : { secret_settings: secretSettings }),
  };
}

const FIELDS_HELP = [
  'Fields per connector (README, Named connections): postgres settings { host, port?, database, user,',
  'ssl?, pool_max? }, secrets { password? }; redis settings { host, port?, db?, username?, tls? },',
  'secrets { password? }; http settings { base_url, headers? }, secrets { headers? }; nats settings',
  '{ servers, user?, tls? }, secrets { password? }; email settings { host, port?, secure?, user?, from? },',
  'secrets { password? }.',
  'Secret settings come from a file or stdin only: echo \'{"password":"…"}\' | weft connections create … --secrets-file -',
].join('\n');

export const connectionsListCommand: Command = {
  name: 'connections list',
  args: '',
  summary: "the tenant's named connections (never a secret)",
  options: {},
  arity: [0, 0],
  async run(context) {
    context.out.answer(await context.client.listConnections(), ({ items }) => {
      if (items.length === 0) return 'no connections';
      return columns([
        ['CONNECTION', 'CONNECTOR', 'VERSION', 'UPDATED BY'],
        ...items.map((c) => [c.name, c.connector, String(c.version), c.updated_by]),
      ]);
    });
    return undefined;
  },
};

export const connectionsShowCommand: Command = {
  name: 'connections show',
  args: '<name>',
  summary: 'one connection: its settings, which secret settings are set (as ***)',
  options: {},
  arity: [1, 1],
  async run(context) {
    context.out.answer(await context.client.connection(arg(context, 0)), connectionLines);
    return undefined;
  },
};

export const connectionsCreateCommand: Command = {
  name: 'connections create',
  args: '<name>',
  summary: 'create a named connection',
  details: FIELDS_HELP,
  options: {
    connector: { type: 'string', value: 'CONNECTOR', description: 'postgres, redis, http, nats, email or ai' },
    ...fieldOptions,
  },
  arity: [1, 1],
  async run(context) {
    const connector = stringOption(context, 'connector');
    if (connector === undefined) throw new UsageError('--connector <postgres|redis|http|nats|email> is required');
    const body = { name: arg(context, 0), connector, settings: {}, ...(await fields(context)) };
    context.out.answer(await context.client.createConnection(body), (c) => [
      `connection ${c.name} created`,
      ...connectionLines(c).map((line) => `  ${line}`),
    ]);
    return undefined;
  },
};

export const connectionsReplaceCommand: Command = {
  name: 'connections replace',
  args: '<name>',
  summary: 'replace (rotate) settings and/or secret settings; what is not given stays',
  details: FIELDS_HELP,
  options: fieldOptions,
  arity: [1, 1],
  async run(context) {
    const body = await fields(context);
    if (Object.keys(body).length === 0) {
      throw new UsageError('give --settings, --settings-file or --secrets-file: nothing to replace');
    }
    context.out.answer(await context.client.replaceConnection(arg(context, 0), body), (c) => [
      `connection ${c.name} replaced: version ${c.version}`,
      ...connectionLines(c).map((line) => `  ${line}`),
    ]);
    return undefined;
  },
};

export const connectionsTestCommand: Command = {
  name: 'connections test',
  args: '<name>',
  summary: 'one harmless call through the connection, from the gateway; exits 1 when it fails',
  options: {},
  arity: [1, 1],
  async run(context) {
    const answer = await context.client.testConnection(arg(context, 0));
    context.out.answer(answer, (t) =>
      t.ok
        ? `connection ${t.name} works${t.status === undefined ? '' : ` (answered ${t.status})`}`
        : `connection ${t.name} failed: ${t.error?.type ?? 'Error'}: ${t.error?.message ?? ''}`,
    );
    return answer.body.ok ? undefined : ExitCode.runFailed;
  },
};

export const connectionsDeleteCommand: Command = {
  name: 'connections delete',
  args: '<name>',
  summary: 'delete a connection (tasks using it fail ConnectionNotFound from then on)',
  options: {},
  arity: [1, 1],
  async run(context) {
    const name = arg(context, 0);
    context.out.answer(await context.client.deleteConnection(name), () => `connection ${name} deleted`);
    return undefined;
  },
};
