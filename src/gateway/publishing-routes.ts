/**
 * Change history and four-eyes publishing of definitions.
 *
 * `GET /v1/definitions/{id}/history` lists who submitted, activated, approved or rejected which
 * version, each submit with its diff from the version before. `POST
 * /v1/definitions/{id}/versions/{version}/approvals` records an approver's verdict; the author of
 * a version can never approve it. With four-eyes publishing on for the tenant, an approval is
 * what makes a version active (and `PUT /active` refuses versions without one).
 */
import type { Express } from 'express';
import { z } from 'zod';
import { actor, param, type GatewayDeps } from './gateway-deps.js';
import { diffDefinitions } from './definition-diff.js';
import { diffWithoutSecretDefaults } from './secret-defaults.js';
import { activateSchedules, isApproved } from './activation.js';
import { HttpError, notFound, parseOrThrow } from '../shared/http-error.js';

/** The body of `POST /v1/definitions/{id}/versions/{version}/approvals`. */
export const PublishApproval = z.strictObject({
  approved: z.boolean(),
  comment: z.string().max(10_000).optional(),
});

export function publishingRoutes(app: Express, deps: GatewayDeps): void {
  app.get('/v1/definitions/:id/history', async (req, res) => {
    const id = param(req, 'id');
    const { definitions } = await deps.scopes.ofRequest(req);
    if (!(await definitions.versions(id))) throw notFound(`definition "${id}"`);
    const events = await definitions.history(id);
    const items = await Promise.all(
      events.map(async (event) => {
        const version = Number(event.version);
        if (event.action !== 'submitted' || version <= 1) return event;
        const [from, to] = await Promise.all([
          definitions.get(id, String(version - 1)),
          definitions.get(id, event.version),
        ]);
        return from && to ? { ...event, diff: diffWithoutSecretDefaults(diffDefinitions(from, to)) } : event;
      }),
    );
    res.json({ items });
  });

  app.post('/v1/definitions/:id/versions/:version/approvals', async (req, res) => {
    const body = parseOrThrow(PublishApproval, req.body);
    const id = param(req, 'id');
    const version = param(req, 'version');
    const scope = await deps.scopes.ofRequest(req);
    const author = (await scope.definitions.versions(id))?.find((v) => v.version === version)?.created_by;
    if (author === undefined) throw notFound(`version "${version}" of definition "${id}"`);
    const who = actor(req);
    if (who === author) {
      throw new HttpError(
        'forbidden',
        `four-eyes: ${who} submitted version ${version} of "${id}" and cannot approve it; another approver must`,
      );
    }
    const at = new Date().toISOString();
    await scope.definitions.recordChange(id, {
      at,
      actor: who,
      action: body.approved ? 'approved' : 'rejected',
      version,
      ...(body.comment === undefined ? {} : { comment: body.comment }),
    });
    let active = (await scope.definitions.list()).find((d) => d.id === id)?.active_version ?? null;
    if (scope.tenant.fourEyes && body.approved && (await isApproved(scope, id, version))) {
      await scope.definitions.setActive(id, version);
      await scope.definitions.recordChange(id, { at, actor: who, action: 'activated', version });
      await activateSchedules(scope, id, version);
      active = version;
    }
    res.json({ id, version, approved: body.approved, active_version: active });
  });
}
