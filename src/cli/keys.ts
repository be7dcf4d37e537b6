/**
 * `npm run keys -- create --name root --role admin [--tenant default]`: creates an API key
 * directly in the definition store (`DATABASE_URL`, as the gateway reads it), without a gateway.
 * This is how a fresh install gets its first admin key when the gateway must never run in
 * local-development mode (`WEFT_AUTH=required`), or how an operator with database access
 * replaces a lost admin key. The key is printed once; only its hash is stored. Exit codes: 0
 * created, 1 refused (unknown tenant, name taken, store unreachable), 2 usage.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { issueApiKey, KeyNameTaken } from '../auth/api-keys.js';
import { DEFAULT_TENANT } from '../shared/tenants.js';
import { loadConfig } from '../config.js';
import { CreateKeyBody } from '../gateway/access-routes.js';
import { openDefinitionStore } from '../store/open-store.js';

/** Who created the key, as the key listing and the audit log show it. */
const ACTOR = 'bootstrap-cli';

const USAGE = [
  'Usage: npm run keys -- create --name N --role R [--role R2] [--tenant T]',
  '',
  'Creates an API key directly in the store named by DATABASE_URL (default sqlite:$WEFT_DATA_DIR/definitions.db)',
  'and prints it once. Roles: viewer, operator, editor, approver, admin. The tenant must exist unless it is',
  '"default". Gateways using the store require an API key on every request from then on.',
  '',
].join('\n');

class Refused extends Error {}

function usageError(message: string): never {
  process.stderr.write(`keys: ${message}\n${USAGE}`);
  process.exit(2);
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        name: { type: 'string' },
        role: { type: 'string', multiple: true },
        tenant: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    return usageError((err instanceof Error ? err.message : String(err)).split(/\.\s/)[0] ?? '');
  }
}

/** The request as the gateway's `POST /v1/keys` takes it, checked by the same schema; problems name the option. */
function request(values: ReturnType<typeof parse>['values']) {
  if (values.name === undefined) usageError('create needs --name N');
  const roles = (values.role ?? []).flatMap((text) => text.split(',').map((role) => role.trim()));
  if (roles.length === 0) usageError('create needs --role R (at least one)');
  const parsed = CreateKeyBody.safeParse({
    name: values.name,
    roles,
    ...(values.tenant === undefined ? {} : { tenant: values.tenant }),
  });
  if (!parsed.success) {
    const option: Record<string, string> = { name: '--name', roles: '--role', tenant: '--tenant' };
    const problems = parsed.error.issues.map((issue) => {
      const field = String(issue.path[0] ?? '');
      const at = issue.path[1];
      const value = field === 'roles' && typeof at === 'number' ? ` "${roles[at] ?? ''}"` : '';
      return `${option[field] ?? field}${value}: ${issue.message}`;
    });
    usageError(problems.join('; '));
  }
  return parsed.data;
}

async function create(body: ReturnType<typeof request>): Promise<void> {
  const config = loadConfig();
  const store = await openDefinitionStore(config.databaseUrl);
  try {
    const tenant = body.tenant ?? DEFAULT_TENANT;
    if (tenant !== DEFAULT_TENANT && (await store.access.getTenant(tenant)) === undefined) {
      throw new Refused(
        `tenant "${tenant}" does not exist: create it first (weft tenants set ${tenant}, as an admin of the default tenant), or create this key in the default tenant`,
      );
    }
    const wasEnforced = await store.access.anyApiKeys();
    const at = new Date().toISOString();
    let issued: Awaited<ReturnType<typeof issueApiKey>>;
    try {
      issued = await issueApiKey(store.access, { name: body.name, roles: body.roles, tenant }, ACTOR, at);
    } catch (err) {
      if (err instanceof KeyNameTaken) throw new Refused(err.message);
      throw err;
    }
    const { record } = issued;
    // The gateway audits keys it creates; a key made behind its back is audited here, as the gateway would.
    await store.appendAudit({
      at,
      actor: ACTOR,
      tenant,
      action: 'key.create',
      target: body.name,
      request_id: randomUUID(),
      status: 201,
    });
    process.stdout.write(
      [
        `API key "${record.name}" created: id ${record.id}, tenant ${tenant}, roles ${record.roles.join(', ')}`,
        '',
        `    ${issued.key}`,
        '',
        'This is the only time the key is shown: only its hash is stored. Store it now (a secret store, or',
        'WEFT_API_KEY for weft); a lost key cannot be shown again, only revoked and replaced.',
        ...(wasEnforced
          ? []
          : ['Gateways using this store now require an API key on every request (local-development mode is over).']),
        '',
      ].join('\n'),
    );
  } finally {
    await store.close();
  }
}

const { values, positionals } = parse(process.argv.slice(2));
if (values.help === true) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (positionals[0] !== 'create') {
  usageError(positionals[0] === undefined ? 'missing command: create' : `unknown command "${positionals[0]}"`);
}
if (positionals.length > 1) usageError(`create takes no arguments; unexpected "${positionals[1]}"`);
try {
  await create(request(values));
} catch (err) {
  process.stderr.write(`keys: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
