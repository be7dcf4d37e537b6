/**
 * The shape of a `weft` command: its arguments and options (for parsing and for `--help`) and
 * what it does. Commands write through {@link Output}; they return an exit code or throw
 * (`UsageError`, `GatewayError`), and `main` turns what they throw into the exit codes.
 */
import type { ExitCode } from './errors.js';
import type { GatewayClient } from './gateway-client.js';
import type { Output } from './output.js';

/** An option of a command, as `node:util` `parseArgs` takes it plus what `--help` says. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** The value's placeholder in usage (`--limit N`). */
  value?: string;
  /** The option may be given several times (`--role editor --role approver`); its value is a list. */
  multiple?: boolean;
  description: string;
}

export interface Command {
  /** One word (`submit`), or a group and a word (`keys create`). */
  name: string;
  /** The positional arguments as usage shows them: `<run-id> <node>`. */
  args: string;
  /** One line for the command list. */
  summary: string;
  /** More lines for `weft <command> --help`. */
  details?: string;
  options: Record<string, OptionSpec>;
  /** How many positional arguments it takes: [min, max]. */
  arity: [number, number];
  run(context: CommandContext): Promise<ExitCode | undefined>;
}

/** Where a command reads and writes; the real process or a test's stand-ins. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream;
  env: Record<string, string | undefined>;
}

export interface CommandContext {
  client: GatewayClient;
  /** The positional arguments, their number checked against `arity`. */
  args: string[];
  options: Record<string, string | boolean | Array<string | boolean> | undefined>;
  /** `--json`: print the gateway's answers as they are. */
  json: boolean;
  out: Output;
  io: CliIo;
}

/** A string option's value (`undefined` when absent). */
export function stringOption(context: CommandContext, name: string): string | undefined {
  const value = context.options[name];
  return typeof value === 'string' ? value : undefined;
}

/** Every value of a string option given with `multiple` (`[]` when absent). */
export function stringsOption(context: CommandContext, name: string): string[] {
  const value = context.options[name];
  const values = Array.isArray(value) ? value : [value];
  return values.filter((v): v is string => typeof v === 'string');
}

/** The i-th positional argument; `arity` guarantees it is there. */
export function arg(context: CommandContext, index: number): string {
  return context.args[index] ?? '';
}
