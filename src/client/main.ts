/**
 * `weft <command>`: finds the command (one word, or two: `keys create`), parses its arguments
 * with `node:util` `parseArgs`, runs it against the gateway (with the API key, when one is
 * given), and maps the outcome to an exit code (see `errors.ts`).
 */
import { parseArgs } from 'node:util';
import type { CliIo, Command } from './command.js';
import { commands, DEFAULT_URL, families, globalOptions } from './commands.js';
import { ExitCode, GatewayError, UsageError } from './errors.js';
import { GatewayClient } from './gateway-client.js';
import { commandHelp, familyHelp, globalHelp } from './help.js';
import { Output } from './output.js';

/** Runs the command line `argv` (without `node weft.js`); resolves to the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const { name, rest } = commandOf(argv);
  const out = new Output(io, rest.includes('--json'));
  try {
    return await dispatch(name, rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      out.note(`weft: ${err.message}`);
      const topic = helpTopic(name);
      out.note(`Run 'weft ${topic === undefined ? '' : `${topic} `}--help' for usage.`);
      return ExitCode.usage;
    }
    if (err instanceof GatewayError) {
      out.gatewayError(err);
      if (err.status === 401 && !sendsKey(rest, io)) {
        out.note(
          "weft: send an API key: set WEFT_API_KEY=<key> (or pass --api-key); an admin creates one with 'weft keys create'",
        );
      }
      return err.exitCode;
    }
    out.note(`weft: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return ExitCode.internal;
  }
}

/** The command's name (`submit`, or a family and its word: `keys create`) and the arguments without it. */
function commandOf(argv: string[]): { name?: string; rest: string[] } {
  const at = positionalIndex(argv, 0);
  if (at === undefined) return { rest: argv };
  const word = argv[at] ?? '';
  const rest = [...argv.slice(0, at), ...argv.slice(at + 1)];
  if (!families.has(word)) return { name: word, rest };
  const next = positionalIndex(rest, at);
  if (next === undefined) return { name: word, rest };
  return { name: `${word} ${rest[next] ?? ''}`, rest: [...rest.slice(0, next), ...rest.slice(next + 1)] };
}

/** The first argument from `from` on that is neither an option nor a global option's value. */
function positionalIndex(argv: string[], from: number): number | undefined {
  for (let i = from; i < argv.length; i++) {
    const token = argv[i] ?? '';
    if (token === '--') return i + 1 < argv.length ? i + 1 : undefined;
    if (token === '--url' || token === '--api-key') i++;
    else if (!token.startsWith('-')) return i;
  }
  return undefined;
}

/** What `weft … --help` to point to after a usage error: the command, else its family. */
function helpTopic(name: string | undefined): string | undefined {
  if (name === undefined || commands.has(name) || families.has(name)) return name;
  const family = name.split(' ')[0] ?? '';
  return families.has(family) ? family : undefined;
}

function sendsKey(argv: string[], io: CliIo): boolean {
  return Boolean(io.env.WEFT_API_KEY) || argv.some((a) => a === '--api-key' || a.startsWith('--api-key='));
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
    if (positionals.length === 0) return print(io, globalHelp());
    const topic = positionals.join(' ');
    return print(io, families.has(topic) ? familyHelp(topic) : commandHelp(lookup(topic)));
  }
  const words = families.get(name);
  if (words !== undefined) {
    if (argv.includes('--help') || argv.includes('-h')) return print(io, familyHelp(name));
    throw new UsageError(`${name} needs a command: ${words.join(', ')}`);
  }
  const command = lookup(name);
  const { values, positionals } = parse(argv, { ...globalOptions, ...command.options }, true);
  if (values.help === true) return print(io, commandHelp(command));
  checkArity(command, positionals);
  const json = values.json === true;
  const client = new GatewayClient(
    gatewayUrl(values.url, io.env.WEFT_URL),
    apiKey(values['api-key'], io.env.WEFT_API_KEY),
  );
  const out = new Output(io, json);
  return (await command.run({ client, args: positionals, options: values, json, out, io })) ?? ExitCode.ok;
}

function lookup(name: string): Command {
  const command = commands.get(name);
  if (command) return command;
  const [family = '', word] = name.split(' ');
  const words = families.get(family);
  if (words !== undefined && word !== undefined) {
    throw new UsageError(`unknown command "${name}"; the ${family} commands are ${words.join(', ')}`);
  }
  const names = new Set([...commands.keys()].map((known) => known.split(' ')[0]));
  throw new UsageError(`unknown command "${name}"; the commands are ${[...names].join(', ')}`);
}

function parse(argv: string[], options: Command['options'], allowPositionals: boolean) {
  const config = Object.fromEntries(
    Object.entries(options).map(([key, spec]) => [
      key,
      { type: spec.type, ...(spec.short ? { short: spec.short } : {}), ...(spec.multiple ? { multiple: true } : {}) },
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
function gatewayUrl(option: unknown, env: string | undefined): string {
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

/** The API key to send: `--api-key`, else `WEFT_API_KEY`, else none (local-development mode needs none). */
function apiKey(option: unknown, env: string | undefined): string | undefined {
  const key = typeof option === 'string' ? option : env || undefined;
  // fetch refuses such header values with a TypeError that would read like an unreachable gateway.
  if (key !== undefined && !/^[\x21-\x7e]+$/.test(key)) {
    const from = typeof option === 'string' ? '--api-key' : 'WEFT_API_KEY';
    throw new UsageError(`the API key in ${from} must be printable ASCII without spaces`);
  }
  return key;
}

function print(io: CliIo, text: string): number {
  io.stdout.write(text);
  return ExitCode.ok;
}
