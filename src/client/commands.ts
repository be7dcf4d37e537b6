/** Every `weft` command, in the groups `weft --help` lists them in, and the options all share. */
import type { Command, OptionSpec } from './command.js';
import {
  approveCommand,
  cancelCommand,
  pauseCommand,
  resumeCommand,
  retryCommand,
  skipCommand,
  varsCommand,
} from './control-commands.js';
import { activateCommand, submitCommand, validateCommand } from './definition-commands.js';
import { emitCommand } from './event-command.js';
import { listCommand, statusCommand } from './inspect-commands.js';
import { runCommand } from './run-command.js';

export const DEFAULT_URL = 'http://localhost:8080';

export const commandGroups: Array<{ title: string; commands: Command[] }> = [
  { title: 'Definitions', commands: [validateCommand, submitCommand, activateCommand] },
  { title: 'Runs', commands: [runCommand, statusCommand, listCommand] },
  {
    title: 'Operating runs',
    commands: [pauseCommand, resumeCommand, cancelCommand, retryCommand, skipCommand, varsCommand, approveCommand],
  },
  { title: 'Events', commands: [emitCommand] },
];

export const commands: ReadonlyMap<string, Command> = new Map(
  commandGroups.flatMap((group) => group.commands.map((command) => [command.name, command] as const)),
);

/** Options every command takes, before or after the command name. */
export const globalOptions: Record<string, OptionSpec> = {
  url: { type: 'string', value: 'URL', description: `the gateway (default: $WEFT_URL, else ${DEFAULT_URL})` },
  json: { type: 'boolean', description: "print the gateway's JSON answer as is: one document on stdout" },
  help: { type: 'boolean', short: 'h', description: 'show usage' },
};
