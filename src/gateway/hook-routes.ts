/**
 * `POST /v1/hooks/{definition_id}`: a webhook starts a run of the definition's active version,
 * with the JSON body as the run input. Only definitions whose active version declares a
 * `webhook` trigger accept hooks. A trigger's `secret` names an environment variable of the
 * gateway holding the shared secret; the caller then signs the time and the raw body
 * (`X-Signature-Timestamp: <unix seconds>`, `X-Signature: sha256=<hex HMAC-SHA256 of
 * "<timestamp>.<raw body>">`, see `webhook-signature.ts`), and each signed request is accepted
 * once within five minutes. Anonymous calls of a hook that does not exist, has no secret, or whose
 * secret is not configured get the same answer as a bad signature.
 */
import type { Express, Request } from 'express';
import type { Definition } from '../../interpreter/definition-schema.js';
import { resolveRunInput } from '../../interpreter/run-input.js';
import { DEFAULT_TENANT, TENANT_ID_PATTERN } from '../shared/tenants.js';
import { requestIdOf } from './audit.js';
import type { TenantScope } from './tenant-scopes.js';
import { param, type GatewayDeps } from './gateway-deps.js';
import { HttpError, notFound, validationFailed } from '../shared/http-error.js';
import { rawBody } from './request-body.js';
import {
  type ReplayGuard,
  SIGNATURE_HEADER,
  SIGNATURE_WINDOW_SECONDS,
  TIMESTAMP_HEADER,
  verifySignature,
} from './webhook-signature.js';

type WebhookTrigger = Extract<Definition['triggers'][number], { type: 'webhook' }>;

/** Webhook settings of the gateway (`createGateway`), beyond `GatewayDeps`. */
export interface WebhookOptions {
  /** `WEFT_WEBHOOK_BODY_ONLY_SIGNATURES` (default `accept`): signatures of the body alone (no timestamp) are accepted. */
  acceptBodyOnlySignatures?: boolean;
  /** Remembers accepted signatures for the window: in memory unless given (`createGateway` makes one), or Redis (`WEFT_WEBHOOK_NONCE_REDIS_URL`). */
  replay?: ReplayGuard;
  /** The clock, unix seconds; tests leave it. */
  now?: () => number;
}

export type HookRouteDeps = GatewayDeps & { webhooks?: WebhookOptions };

/**
 * Throws unless the request satisfies one of the webhook triggers: one without a secret
 * accepts callers the gateway authenticated (and anyone in local-development mode); one with a
 * secret accepts a valid, fresh, unused signature under that secret. Returns the signature it
 * claimed, if any, so a request that fails later can give it back.
 */
async function authorize(
  req: Request,
  hooks: WebhookTrigger[],
  deps: HookRouteDeps,
  id: string,
  tenant: string,
): Promise<string | undefined> {
  // A caller the gateway authenticated (with the "run" permission: checked by authentication)
  // needs no signature. In local-development mode signatures are checked as configured.
  if (req.identity && req.identity.via !== 'local_dev') return undefined;
  const anonymous = req.identity === undefined;
  if (hooks.some((hook) => hook.secret === undefined)) {
    if (!anonymous) return undefined; // local development: a hook without a secret accepts anyone
    // The same answer as for a hook that does not exist or a bad signature: no probing.
    throw badSignature();
  }
  const secrets = await Promise.all(
    hooks.map(async (hook) => ({
      name: hook.secret ?? '',
      value: await webhookSecret(deps, hook.secret ?? '', tenant),
    })),
  );
  const configured = secrets.flatMap((s) => (s.value ? [s.value] : []));
  if (configured.length === 0) {
    // The operator's mistake, not the caller's: say so without revealing the variable's value,
    // and to anonymous callers only what any bad signature gets.
    deps.logger.warn({ definition: id, variables: secrets.map((s) => s.name) }, 'webhook secret not set');
    if (anonymous) throw badSignature();
    throw new HttpError('unavailable', `the webhook secret of "${id}" is not configured on the gateway`);
  }
  const options = deps.webhooks ?? {};
  const now = (options.now ?? (() => Math.floor(Date.now() / 1000)))();
  const verdict = verifySignature({
    body: rawBody(req),
    signature: req.get(SIGNATURE_HEADER),
    timestamp: req.get(TIMESTAMP_HEADER),
    secrets: configured,
    now,
    acceptBodyOnly: options.acceptBodyOnlySignatures !== false,
  });
  if (!verdict.ok) throw badSignature(verdict.reason);
  const key = `${tenant}/${id}/${verdict.signature}`;
  if (options.replay && !(await claimOnce(options.replay, key, verdict.expiresAt, now, deps))) {
    throw badSignature('replayed');
  }
  return options.replay ? key : undefined;
}

/** Claims a signature; a replay guard that cannot answer (Redis away) refuses with 503, never lets it through. */
async function claimOnce(
  replay: ReplayGuard,
  key: string,
  expiresAt: number,
  now: number,
  deps: HookRouteDeps,
): Promise<boolean> {
  try {
    return await replay.claim(key, expiresAt, now);
  } catch (err) {
    deps.logger.error({ err }, 'webhook replay guard unavailable');
    throw new HttpError(
      'unavailable',
      'the webhook replay guard (WEFT_WEBHOOK_NONCE_REDIS_URL) cannot be reached; retry later',
    );
  }
}

/**
 * A webhook secret by name: the default tenant's from the gateway's environment (or the injected
 * lookup); another tenant's only from its own `"<tenant>/<NAME>"` entries of the secrets file.
 */
async function webhookSecret(deps: GatewayDeps, name: string, tenant: string): Promise<string | undefined> {
  if (tenant === DEFAULT_TENANT) return (deps.secret ?? ((n: string) => process.env[n]))(name);
  return deps.tenantSecret?.(name, tenant);
}

const REFUSALS = {
  // Also the answer to every anonymous call of a hook that does not exist, has no secret or
  // whose secret is not configured: all look alike.
  signature: {
    path: '/headers/x-signature',
    message:
      'expected "sha256=" and the hex HMAC-SHA256 of "<X-Signature-Timestamp>.<raw body>", keyed with the webhook secret (or an API key)',
  },
  // Only after a signature over the timestamp matched: the caller holds the secret.
  timestamp: {
    path: '/headers/x-signature-timestamp',
    message: `the signed timestamp is more than ${SIGNATURE_WINDOW_SECONDS} seconds from the gateway's clock: sign each request when it is sent`,
  },
  body_only: {
    path: '/headers/x-signature-timestamp',
    message:
      'missing: the signature covers the body only, which can be replayed; sign "<unix seconds>.<raw body>" and send the seconds in X-Signature-Timestamp',
  },
  replayed: {
    path: '/headers/x-signature',
    message: `this signed request was already accepted: each is accepted once within ${SIGNATURE_WINDOW_SECONDS} seconds`,
  },
} as const;

function badSignature(reason: keyof typeof REFUSALS = 'signature'): HttpError {
  return new HttpError('unauthorized', 'missing or invalid webhook signature', [REFUSALS[reason]]);
}

/**
 * The tenant a webhook call is for: the caller's, when authenticated; otherwise the `tenant`
 * query parameter (default: the default tenant), and then only a valid signature lets it in.
 */
function hookScope(req: Request, deps: HookRouteDeps): Promise<TenantScope> {
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

export function hookRoutes(app: Express, deps: HookRouteDeps): void {
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
    const claimed = await authorize(req, hooks, deps, id, scope.tenant.id);
    try {
      // Webhook senders post whatever they post; an empty body is an empty input.
      const input: unknown = req.body ?? {};
      const resolved = resolveRunInput(definition, input, '');
      if (!resolved.ok)
        throw validationFailed(resolved.problems, 'the webhook body does not match the declared variables');
      const outcome = await scope.runs.start(definition, input as Record<string, unknown>, undefined, {
        requestId: requestIdOf(res),
        startedBy: req.identity?.actor ?? `webhook:${id}`,
      });
      // options.debounce: the start joined a burst; the answer names the run the burst becomes.
      if (outcome.debounced) {
        res.status(202).json(outcome.debounced);
        return;
      }
      const { run, created } = outcome;
      if (created) deps.metrics?.runsStarted.inc({ definition_id: definition.id, trigger: 'webhook' });
      deps.logger.info({ run_id: run.run_id, definition: id, version: definition.version }, 'run started by webhook');
      res.status(202).json(run);
    } catch (err) {
      // Not accepted (Temporal down, say): the sender may retry the same signed request.
      if (claimed !== undefined) await Promise.resolve(deps.webhooks?.replay?.release(claimed)).catch(() => undefined);
      throw err;
    }
  });
}
