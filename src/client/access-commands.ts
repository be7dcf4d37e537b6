/**
 * `weft whoami` and `weft keys create|list|revoke`: who the gateway takes the caller for, and
 * the API keys that say so. A new key's secret is printed once; the gateway keeps only its hash.
 */
import { arg, stringOption, stringsOption, type Command } from './command.js';
import { UsageError } from './errors.js';
import type { ApiKeyInfo, CreatedKey } from './gateway-client.js';
import { columns } from './output.js';

export const whoamiCommand: Command = {
  name: 'whoami',
  args: '',
  summary: 'who the gateway takes you for: actor, tenant, roles and permissions',
  details: [
    'The API key comes from --api-key, else $WEFT_API_KEY. While the gateway has no API key at all it',
    'runs in local-development mode, where every caller is an admin of the default tenant.',
  ].join('\n'),
  options: {},
  arity: [0, 0],
  async run(context) {
    const answer = await context.client.whoami();
    context.out.answer(answer, (me) =>
      columns([
        ['actor', me.actor],
        ['tenant', me.tenant],
        ['roles', me.roles.join(', ')],
        ['permissions', me.permissions.join(', ')],
        ['via', me.via],
        ['authentication', me.authentication],
      ]),
    );
    if (!context.json && answer.body.authentication === 'local-development') {
      context.out.note(
        "weft: the gateway is in local-development mode: every caller is an admin. Create a key ('weft keys create') to end it.",
      );
    }
    return undefined;
  },
};

export const keysCreateCommand: Command = {
  name: 'keys create',
  args: '',
  summary: 'create an API key (--name N --role R) and print it, this once',
  details: [
    'Roles: viewer (read), operator (read, run), editor (read, run, edit), approver (read, approve),',
    'admin (everything, including keys and tenants). The key is printed once: the gateway keeps only',
    'its hash. Creating the first key ends local-development mode on every gateway sharing the store.',
    'Admins of the default tenant may create keys in any tenant; other admins in their own.',
  ].join('\n'),
  options: {
    name: { type: 'string', value: 'N', description: 'the key\'s name (letters, digits, ".", "_", "@", "-")' },
    role: {
      type: 'string',
      value: 'R',
      multiple: true,
      description: 'a role: viewer, operator, editor, approver, admin (repeat, or separate with commas)',
    },
    tenant: { type: 'string', value: 'T', description: 'the tenant the key acts in (default: your own)' },
  },
  arity: [0, 0],
  async run(context) {
    const name = stringOption(context, 'name');
    if (name === undefined) throw new UsageError('keys create needs --name N');
    const roles = stringsOption(context, 'role').flatMap((text) => text.split(',').map((role) => role.trim()));
    if (roles.length === 0 || roles.includes('')) throw new UsageError('keys create needs --role R (at least one)');
    const tenant = stringOption(context, 'tenant');
    // The gateway checks the roles against its own list and names the bad one (exit 3).
    const answer = await context.client.createKey({ name, roles, ...(tenant === undefined ? {} : { tenant }) });
    context.out.answer(answer, createdLines);
    return undefined;
  },
};

function createdLines(created: CreatedKey): string[] {
  return [
    `API key "${created.name}" created: id ${created.id}, tenant ${created.tenant}, roles ${created.roles.join(', ')}`,
    '',
    `    ${created.key}`,
    '',
    'This is the only time the key is shown: the gateway keeps only its hash. Store it now (a secret',
    'store, or WEFT_API_KEY for weft); a lost key cannot be shown again, only revoked and replaced.',
  ];
}

export const keysListCommand: Command = {
  name: 'keys list',
  args: '',
  summary: 'list API keys (never their secrets), oldest first',
  details: 'Admins of the default tenant see the keys of every tenant; other admins those of their own.',
  options: {},
  arity: [0, 0],
  async run(context) {
    context.out.answer(await context.client.listKeys(), ({ items }) => {
      if (items.length === 0) return 'no API keys';
      const header = ['ID', 'NAME', 'TENANT', 'ROLES', 'CREATED', 'CREATED BY', 'STATUS'];
      return columns([header, ...items.map(keyRow)]);
    });
    return undefined;
  },
};

function keyRow(key: ApiKeyInfo): string[] {
  const status = key.revoked_at === undefined ? 'active' : `revoked ${key.revoked_at}`;
  return [key.id, key.name, key.tenant, key.roles.join(','), key.created_at, key.created_by, status];
}

export const keysRevokeCommand: Command = {
  name: 'keys revoke',
  args: '<key-id>',
  summary: 'revoke an API key: requests with it are refused from now on',
  details: "The key id is the ID column of 'weft keys list' (the part after wk_ of the key itself).",
  options: {},
  arity: [1, 1],
  async run(context) {
    const answer = await context.client.revokeKey(arg(context, 0));
    context.out.answer(answer, ({ id }) => `API key ${id} revoked`);
    return undefined;
  },
};
