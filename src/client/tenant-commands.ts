/**
 * `weft tenants list|show|set`: tenants and their settings (Temporal namespace, task queue,
 * four-eyes publishing). Setting a tenant that does not exist creates it.
 */
import { arg, stringOption, type Command, type CommandContext } from './command.js';
import { UsageError } from './errors.js';
import type { TenantInfo, TenantSettings } from './gateway-client.js';
import { columns } from './output.js';

/** What a tenant without its own namespace or task queue uses. */
const GATEWAY_DEFAULT = "(the gateway's)";

const yesNo = (value: boolean) => (value ? 'yes' : 'no');

function tenantLines(tenant: TenantInfo): string[] {
  return columns([
    ['tenant', tenant.id],
    ['four-eyes', yesNo(tenant.four_eyes)],
    ['namespace', tenant.namespace ?? GATEWAY_DEFAULT],
    ['task queue', tenant.task_queue ?? GATEWAY_DEFAULT],
    // The default tenant has no record (so no creation) until someone sets it.
    ...(tenant.created_at === undefined ? [] : [['created', tenant.created_at]]),
    ...(tenant.created_by === undefined ? [] : [['created by', tenant.created_by]]),
  ]);
}

export const tenantsListCommand: Command = {
  name: 'tenants list',
  args: '',
  summary: 'list tenants and their settings',
  details:
    'Admins of the default tenant see every tenant; other admins their own. The default tenant is listed once it has settings.',
  options: {},
  arity: [0, 0],
  async run(context) {
    context.out.answer(await context.client.listTenants(), ({ items }) => {
      if (items.length === 0) return 'no tenants besides default';
      const rows = items.map((t) => [
        t.id,
        yesNo(t.four_eyes),
        t.namespace ?? GATEWAY_DEFAULT,
        t.task_queue ?? GATEWAY_DEFAULT,
        t.created_by ?? '',
      ]);
      return columns([['TENANT', 'FOUR-EYES', 'NAMESPACE', 'TASK QUEUE', 'CREATED BY'], ...rows]);
    });
    return undefined;
  },
};

export const tenantsShowCommand: Command = {
  name: 'tenants show',
  args: '<tenant>',
  summary: "a tenant's settings",
  options: {},
  arity: [1, 1],
  async run(context) {
    context.out.answer(await context.client.tenant(arg(context, 0)), tenantLines);
    return undefined;
  },
};

export const tenantsSetCommand: Command = {
  name: 'tenants set',
  args: '<tenant>',
  summary: 'create a tenant or change its settings (others stay as they are)',
  details: [
    'Tenant ids are lower-case letters, digits and "-". With four-eyes publishing on, a submitted',
    "version becomes active only once an approver other than its author approves it ('weft",
    "definitions approve'). Only admins of the default tenant create tenants or set --namespace and",
    '--task-queue; the namespace must exist and a worker must poll the task queue.',
  ].join('\n'),
  options: {
    namespace: { type: 'string', value: 'NS', description: "the Temporal namespace of the tenant's runs" },
    'task-queue': { type: 'string', value: 'Q', description: "the task queue of the tenant's runs" },
    'four-eyes': { type: 'string', value: 'true|false', description: 'four-eyes publishing of definitions' },
  },
  arity: [1, 1],
  async run(context) {
    const id = arg(context, 0);
    const answer = await context.client.putTenant(id, settings(context));
    context.out.answer(answer, (tenant) => [
      `tenant ${tenant.id} ${answer.status === 201 ? 'created' : 'updated'}`,
      ...tenantLines(tenant).map((line) => `  ${line}`),
    ]);
    return undefined;
  },
};

function settings(context: CommandContext): TenantSettings {
  const namespace = stringOption(context, 'namespace');
  const taskQueue = stringOption(context, 'task-queue');
  const fourEyes = stringOption(context, 'four-eyes');
  if (fourEyes !== undefined && fourEyes !== 'true' && fourEyes !== 'false') {
    throw new UsageError(`--four-eyes must be true or false, got "${fourEyes}"`);
  }
  return {
    ...(namespace === undefined ? {} : { namespace }),
    ...(taskQueue === undefined ? {} : { task_queue: taskQueue }),
    ...(fourEyes === undefined ? {} : { four_eyes: fourEyes === 'true' }),
  };
}
