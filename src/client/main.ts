/**
 * `weft <command>`: finds the command, parses its arguments with `node:util` `parseArgs`,
 * runs it against the gateway, and maps the outcome to an exit code (see `errors.ts`).
 */
import { parseArgs } from 'node:util';
import type { CliIo, Command } from './command.js';
import { commands, DEFAULT_URL, globalOptions } from './commands.js';
import { ExitCode, GatewayError, UsageError } from './errors.js';
import { GatewayClient } from './gateway-client.js';
import { commandHelp, globalHelp } from './help.js';
import { Output } from './output.js';

/** Runs the command line `argv` (without `node weft.js`); resolves to the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const at = commandIndex(argv);
  const name = at === undefined ? undefined : argv[at];
  const rest = at === undefined ? argv : [...argv.slice(0, at), ...argv.slice(at + 1)];
  const out = new Output(io, rest.includes('--json'));
  try {
    return await dispatch(name, rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      out.note(`weft: ${err.message}`);
      const known = name !== undefined && commands.has(name);
      out.note(`Run 'weft ${known ? `${name} ` : ''}--help' for usage.`);
      return ExitCode.usage;
    }
    if (err instanceof GatewayError) {
      out.gatewayError(err);
      return err.exitCode;
    }
    out.note(`weft: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return ExitCode.internal;
  }
}

/** Where the command name is: the first argument that is neither an option nor an option's value. */
function commandIndex(argv: string[]): number | undefined {
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? '';
    if (token === '--') return i + 1 < argv.length ? i + 1 : undefined;
    if (token === '--url') i++;
    else if (!token.startsWith('-')) return i;
  }
  return undefined;
}

async function dispatch(name: string | undefined, argv: string[], io: CliIo): Promise<number> {
  if (name === undefined) {
    const { values } = parse(argv, globalOptions, false);
    if (values.help === true) return print(io, globalHelp());
    io.stderr.write(globalHelp());
    throw new UsageError('missing command');
  }
  if (name === 'help') {
    const { positionals } = parse(argv, globalOptions, true);
    const topic = positionals[0];
    if (topic === undefined) return print(io, globalHelp());
    return print(io, commandHelp(lookup(topic)));
  }
  const command = lookup(name);
  const { values, positionals } = parse(argv, { ...globalOptions, ...command.options }, true);
  if (values.help === true) return print(io, commandHelp(command));
  checkArity(command, positionals);
  const json = values.json === true;
  const client = new GatewayClient(gatewayUrl(values.url, io.env.WEFT_URL));
  const out = new Output(io, json);
  return (await command.run({ client, args: positionals, options: values, json, out, io })) ?? ExitCode.ok;
}

function lookup(name: string): Command {
  const command = commands.get(name);
  if (!command) throw new UsageError(`unknown command "${name}"; the commands are ${[...commands.keys()].join(', ')}`);
  return command;
}

function parse(argv: string[], options: Command['options'], allowPositionals: boolean) {
  const config = Object.fromEntries(
    Object.entries(options).map(([key, spec]) => [
      key,
      { type: spec.type, ...(spec.short ? { short: spec.short } : {}) },
    ]),
  );
  try {
    return parseArgs({ args: argv, options: config, allowPositionals, strict: true });
  } catch (err) {
    // parseArgs explains at length how to pass a positional that starts with "-"; the first sentence says it.
    const message = err instanceof Error ? err.message : String(err);
    throw new UsageError(message.split(/\.\s/)[0]?.replace(/^Unknown/, 'unknown') ?? message);
  }
}

function checkArity(command: Command, positionals: string[]): void {
  const [min, max] = command.arity;
  if (positionals.length < min) throw new UsageError(`${command.name} needs ${command.args}`);
  if (positionals.length > max) {
    throw new UsageError(`${command.name} takes ${command.args || 'no arguments'}; unexpected "${positionals[max]}"`);
  }
}

/** The gateway's base URL: `--url`, else `WEFT_URL`, else the default. */
function gatewayUrl(option: string | boolean | undefined, env: string | undefined): string {
  const text = typeof option === 'string' ? option : env || DEFAULT_URL;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`the gateway URL "${text}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`the gateway URL "${text}" must start with http:// or https://`);
  }
  return url.href.replace(/\/+$/, '');
}

function print(io: CliIo, text: string): number {
  io.stdout.write(text);
  return ExitCode.ok;
}
