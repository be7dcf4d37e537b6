/**
 * `POST /v1/hooks/{definition_id}`: a webhook starts a run of the definition's active version,
 * with the JSON body as the run input. Only definitions whose active version declares a
 * `webhook` trigger accept hooks. A trigger's `secret` names an environment variable of the
 * gateway holding the shared secret; the caller then signs the raw body
 * (`X-Signature: sha256=<hex HMAC-SHA256>`).
 */
import type { Express, Request } from 'express';
import type { Definition } from '../../interpreter/definition-schema.js';
import { resolveRunInput } from '../../interpreter/run-input.js';
import { DEFAULT_TENANT, TENANT_ID_PATTERN } from '../auth/identity.js';
import { requestIdOf } from './audit.js';
import type { TenantScope } from './tenant-scopes.js';
import { param, type GatewayDeps } from './gateway-deps.js';
import { HttpError, notFound, validationFailed } from './http-error.js';
import { rawBody } from './request-body.js';
import { SIGNATURE_HEADER, signatureMatches } from './webhook-signature.js';

type WebhookTrigger = Extract<Definition['triggers'][number], { type: 'webhook' }>;

/**
 * Throws unless the request satisfies one of the webhook triggers: one without a secret
 * accepts anyone; one with a secret accepts a valid signature under that secret.
 */
async function authorize(
  req: Request,
  hooks: WebhookTrigger[],
  deps: GatewayDeps,
  id: string,
  tenant: string,
): Promise<void> {
  // A caller the gateway authenticated (with the "run" permission: checked by authentication)
  // needs no signature. In local-development mode signatures are checked as configured.
  if (req.identity && req.identity.via !== 'local_dev') return;
  if (hooks.some((hook) => hook.secret === undefined)) {
    if (req.identity) return; // local development: a hook without a secret accepts anyone
    throw new HttpError(
      'unauthorized',
      `authentication is required and the webhook of "${id}" has no secret: call it with an API key, or give its trigger a secret and sign the body`,
    );
  }
  const secrets = await Promise.all(
    hooks.map(async (hook) => ({
      name: hook.secret ?? '',
      value: await webhookSecret(deps, hook.secret ?? '', tenant),
    })),
  );
  const configured = secrets.filter((s): s is { name: string; value: string } => !!s.value);
  if (configured.length === 0) {
    // The operator's mistake, not the caller's: say so without revealing the variable's value.
    deps.logger.warn({ definition: id, variables: secrets.map((s) => s.name) }, 'webhook secret not set');
    throw new HttpError('unavailable', `the webhook secret of "${id}" is not configured on the gateway`);
  }
  const body = rawBody(req);
  const header = req.get(SIGNATURE_HEADER);
  if (!configured.some((s) => signatureMatches(body, header, s.value))) throw badSignature();
}

/**
 * A webhook secret by name: the default tenant's from the gateway's environment (or the injected
 * lookup); another tenant's only from its own `"<tenant>/<NAME>"` entries of the secrets file.
 */
async function webhookSecret(deps: GatewayDeps, name: string, tenant: string): Promise<string | undefined> {
  if (tenant === DEFAULT_TENANT) return (deps.secret ?? ((n: string) => process.env[n]))(name);
  return deps.tenantSecret?.(name, tenant);
}

function badSignature(): HttpError {
  return new HttpError('unauthorized', 'missing or invalid webhook signature', [
    {
      path: '/headers/x-signature',
      message: 'expected "sha256=" and the hex HMAC-SHA256 of the raw request body, keyed with the webhook secret',
    },
  ]);
}

/**
 * The tenant a webhook call is for: the caller's, when authenticated; otherwise the `tenant`
 * query parameter (default: the default tenant), and then only a valid signature lets it in.
 */
function hookScope(req: Request, deps: GatewayDeps): Promise<TenantScope> {
  if (req.identity) return deps.scopes.ofRequest(req);
  const tenant = req.query.tenant;
  if (tenant === undefined) return deps.scopes.of(DEFAULT_TENANT);
  if (typeof tenant !== 'string' || !TENANT_ID_PATTERN.test(tenant)) {
    throw validationFailed([
      { path: '/query/tenant', message: 'expected a tenant id (lower-case letters, digits, "-")' },
    ]);
  }
  return deps.scopes.of(tenant);
}

export function hookRoutes(app: Express, deps: GatewayDeps): void {
  app.post('/v1/hooks/:definition_id', async (req, res) => {
    const id = param(req, 'definition_id');
    const scope = await hookScope(req, deps);
    const definition = await scope.definitions.get(id);
    const hooks = definition?.triggers.filter((t): t is WebhookTrigger => t.type === 'webhook') ?? [];
    // Without credentials, a missing definition looks like a bad signature: no probing for ids.
    if (!req.identity && hooks.length === 0) throw badSignature();
    if (!definition) throw notFound(`definition "${id}"`);
    if (hooks.length === 0) {
      throw new HttpError(
        'not_found',
        `definition "${id}" accepts no webhooks: its active version ${definition.version} has no trigger of type "webhook"`,
      );
    }
    await authorize(req, hooks, deps, id, scope.tenant.id);
    // Webhook senders post whatever they post; an empty body is an empty input.
    const input: unknown = req.body ?? {};
    const resolved = resolveRunInput(definition, input, '');
    if (!resolved.ok)
      throw validationFailed(resolved.problems, 'the webhook body does not match the declared variables');
    const { run, created } = await scope.runs.start(definition, input as Record<string, unknown>, undefined, {
      requestId: requestIdOf(res),
      startedBy: req.identity?.actor ?? `webhook:${id}`,
    });
    scope.control?.noteStarted(run.run_id, definition.id);
    if (created) deps.metrics?.runsStarted.inc({ definition_id: definition.id, trigger: 'webhook' });
    deps.logger.info({ run_id: run.run_id, definition: id, version: definition.version }, 'run started by webhook');
    res.status(202).json(run);
  });
}
