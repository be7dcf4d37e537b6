/** The usage texts: `weft --help`, `weft <command> --help` and `weft <family> --help` (`weft keys --help`). */
import type { Command, OptionSpec } from './command.js';
import { commandGroups, commands, globalOptions } from './commands.js';
import { columns } from './output.js';

const EXIT_CODES = [
  ['0', 'success'],
  ['1', 'run --wait: the run finished failed or cancelled; test: a case failed or was refused'],
  ['2', 'usage error: unknown command or option, missing argument, unreadable file, invalid JSON argument'],
  ['3', 'the gateway refused the request (4xx): its error code, message and details are on stderr'],
  ['4', 'the gateway or the Temporal server is unreachable, or the gateway answered 5xx'],
];

function synopsis(command: Command): string {
  return [command.name, command.args].filter((part) => part !== '').join(' ');
}

function optionLines(options: Record<string, OptionSpec>): string[] {
  return columns(
    Object.entries(options).map(([name, spec]) => [
      `  ${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.value ? ` ${spec.value}` : ''}`,
      spec.description,
    ]),
  );
}

/** `weft --help`. */
export function globalHelp(): string {
  const lines = [
    'weft: the command line of the weft gateway (graph workflows on Temporal)',
    '',
    'Usage: weft [--url URL] [--api-key KEY] [--json] <command> [arguments] [options]',
  ];
  const rows = commandGroups.flatMap((group) => [
    ['', ''],
    [group.title, ''],
    ...group.commands.map((command) => [`  ${synopsis(command)}`, command.summary]),
  ]);
  lines.push(...columns(rows));
  lines.push('', 'Options of every command', ...optionLines(globalOptions));
  lines.push('', 'Exit codes', ...columns(EXIT_CODES.map(([code, meaning]) => [`  ${code}`, meaning ?? ''])));
  lines.push('', "Run 'weft <command> --help' for the options of a command.");
  return `${lines.join('\n')}\n`;
}

/** `weft <command> --help`. */
export function commandHelp(command: Command): string {
  const hasOptions = Object.keys(command.options).length > 0;
  const lines = [`Usage: weft ${synopsis(command)}${hasOptions ? ' [options]' : ''}`, '', command.summary];
  if (command.details) lines.push('', command.details);
  if (hasOptions) lines.push('', 'Options', ...optionLines(command.options));
  lines.push('', 'Options of every command', ...optionLines(globalOptions));
  lines.push('', "Exit codes: see 'weft --help'.");
  return `${lines.join('\n')}\n`;
}

/** `weft keys --help`: the commands of a family. */
export function familyHelp(family: string): string {
  const members = [...commands.values()].filter((command) => command.name.startsWith(`${family} `));
  const lines = [`Usage: weft ${family} <command> [arguments] [options]`, ''];
  lines.push(...columns(members.map((command) => [`  ${synopsis(command)}`, command.summary])));
  lines.push('', "Run 'weft <command> --help' for the options of a command.");
  return `${lines.join('\n')}\n`;
}
