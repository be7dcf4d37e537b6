/** Every `weft` command, in the groups `weft --help` lists them in, and the options all share. */
import { keysCreateCommand, keysListCommand, keysRevokeCommand, whoamiCommand } from './access-commands.js';
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
import { exportMocksCommand } from './export-mocks-command.js';
import { testCommand } from './test-command.js';
import { whatIfCommand } from './what-if-command.js';
import { emitCommand } from './event-command.js';
import { listCommand, statusCommand } from './inspect-commands.js';
import { lineageCommand } from './lineage-command.js';
import { historyCommand, publishApproveCommand } from './publishing-commands.js';
import { runCommand } from './run-command.js';
import {
  templatesCreateCommand,
  templatesDeleteCommand,
  templatesInstantiateCommand,
  templatesListCommand,
  templatesShowCommand,
} from './template-commands.js';
import {
  connectionsCreateCommand,
  connectionsDeleteCommand,
  connectionsListCommand,
  connectionsReplaceCommand,
  connectionsShowCommand,
  connectionsTestCommand,
} from './connection-commands.js';
import { tenantsListCommand, tenantsSetCommand, tenantsShowCommand } from './tenant-commands.js';

export const DEFAULT_URL = 'http://localhost:8080';

export const commandGroups: Array<{ title: string; commands: Command[] }> = [
  {
    title: 'Definitions',
    commands: [
      validateCommand,
      testCommand,
      whatIfCommand,
      submitCommand,
      activateCommand,
      historyCommand,
      publishApproveCommand,
    ],
  },
  {
    title: 'Templates',
    commands: [
      templatesListCommand,
      templatesShowCommand,
      templatesCreateCommand,
      templatesDeleteCommand,
      templatesInstantiateCommand,
    ],
  },
  {
    title: 'Connections',
    commands: [
      connectionsListCommand,
      connectionsShowCommand,
      connectionsCreateCommand,
      connectionsReplaceCommand,
      connectionsTestCommand,
      connectionsDeleteCommand,
    ],
  },
  { title: 'Runs', commands: [runCommand, statusCommand, listCommand, lineageCommand, exportMocksCommand] },
  {
    title: 'Operating runs',
    commands: [pauseCommand, resumeCommand, cancelCommand, retryCommand, skipCommand, varsCommand, approveCommand],
  },
  { title: 'Events', commands: [emitCommand] },
  {
    title: 'Access',
    commands: [
      whoamiCommand,
      keysCreateCommand,
      keysListCommand,
      keysRevokeCommand,
      tenantsListCommand,
      tenantsShowCommand,
      tenantsSetCommand,
    ],
  },
];

export const commands: ReadonlyMap<string, Command> = new Map(
  commandGroups.flatMap((group) => group.commands.map((command) => [command.name, command] as const)),
);

/** The first words of two-word commands (`keys` of `keys create`), with their second words. */
export const families: ReadonlyMap<string, string[]> = [...commands.keys()].reduce((map, name) => {
  const [family, word] = name.split(' ');
  if (family !== undefined && word !== undefined) map.set(family, [...(map.get(family) ?? []), word]);
  return map;
}, new Map<string, string[]>());

/** Options every command takes, before or after the command name. */
export const globalOptions: Record<string, OptionSpec> = {
  url: { type: 'string', value: 'URL', description: `the gateway (default: $WEFT_URL, else ${DEFAULT_URL})` },
  'api-key': {
    type: 'string',
    value: 'KEY',
    description: 'the API key to send (default: $WEFT_API_KEY; prefer it: arguments show in process lists)',
  },
  json: { type: 'boolean', description: "print the gateway's JSON answer as is: one document on stdout" },
  help: { type: 'boolean', short: 'h', description: 'show usage' },
};
