/**
 * Routes that steer runs and feed them events: pause, resume, cancel, retry, rerun, skip,
 * variables, approvals, and `POST /v1/events`.
 */
import type { Express, Request } from 'express';
import { z } from 'zod';
import { NODE_ID_PATTERN } from '../../interpreter/definition-schema.js';
import { EventId, RUN_ID_PATTERN } from '../auth/ids.js';
import { rolesHeld } from '../auth/roles.js';
import { requestIdOf } from './audit.js';
import { actor, type GatewayDeps } from './gateway-deps.js';
import { HttpError, notFound, parseOrThrow } from '../shared/http-error.js';
import type { RunControl } from './run-control.js';
import { DefinitionVersion } from './run-routes.js';

const Reason = z.strictObject({ reason: z.string().max(1_000).optional() });
const NodeId = z.string().regex(NODE_ID_PATTERN, 'expected a node id');

export const bodies = {
  pause: Reason,
  resume: z.strictObject({
    reason: z.string().max(1_000).optional(),
    max_cost_usd: z.number().nonnegative().optional(),
  }),
  cancel: z.strictObject({
    reason: z.string().max(1_000).optional(),
    // Terminates through Temporal without the run's cooperation (a run whose workflow task keeps failing).
    force: z.boolean().optional(),
  }),
  retry: z.strictObject({ node: NodeId.optional(), version: DefinitionVersion.optional() }),
  skip: z.strictObject({ node: NodeId, output: z.unknown().optional() }),
};

export const Variables = z.strictObject({ variables: z.record(z.string(), z.unknown()) });
/** The body of `POST /v1/runs/{run_id}/rerun`. */
export const Rerun = z.strictObject({
  from: NodeId,
  version: DefinitionVersion.optional(),
  variables: z.record(z.string(), z.unknown()).optional(),
});
export const Approval = z.strictObject({ approved: z.boolean(), comment: z.string().max(10_000).optional() });
const CorrelationKey = z.union([z.string().max(1_000), z.number(), z.null()]);
export const EventBody = z.strictObject({
  event_type: z.string().min(1).max(200),
  correlation_key: CorrelationKey.optional(),
  payload: z.unknown(),
  event_id: EventId.optional(),
});

export type ControlRouteDeps = Pick<GatewayDeps, 'scopes'>;

async function controlOf(req: Request, deps: ControlRouteDeps): Promise<RunControl> {
  const { control } = await deps.scopes.ofRequest(req);
  if (!control) throw new HttpError('unavailable', 'run control is not available on this gateway');
  return control;
}

/** A run id from the path; one that no run could have is simply not found (as in `run-routes`). */
function runId(req: Request): string {
  const value = req.params.run_id;
  const id = typeof value === 'string' ? value : '';
  if (!RUN_ID_PATTERN.test(id)) throw notFound(`run "${id}"`);
  return id;
}

export function controlRoutes(app: Express, deps: ControlRouteDeps): void {
  for (const action of Object.keys(bodies) as Array<keyof typeof bodies>) {
    app.post(`/v1/runs/:run_id/${action}`, async (req, res) => {
      const body = parseOrThrow(bodies[action], req.body ?? {}) as Record<string, unknown>;
      const outcome = await (
        await controlOf(req, deps)
      ).control(runId(req), {
        ...body,
        type: action,
        by: actor(req),
        request_id: requestIdOf(res),
      } as never);
      // Retrying a closed failed run starts a new run: its id comes back with the acceptance.
      res
        .status(202)
        .json(outcome.run_id === undefined ? { accepted: true } : { accepted: true, run_id: outcome.run_id });
    });
  }

  app.post('/v1/runs/:run_id/rerun', async (req, res) => {
    const body = parseOrThrow(Rerun, req.body ?? {});
    const outcome = await (
      await controlOf(req, deps)
    ).rerun(runId(req), { ...body, by: actor(req), request_id: requestIdOf(res) });
    res.status(202).json(outcome);
  });

  app.patch('/v1/runs/:run_id/variables', async (req, res) => {
    const { variables } = parseOrThrow(Variables, req.body);
    const control = await controlOf(req, deps);
    await control.control(runId(req), {
      type: 'set_variables',
      variables,
      by: actor(req),
      request_id: requestIdOf(res),
    });
    res.json({ variables: await control.variables(runId(req)) });
  });

  app.post('/v1/runs/:run_id/approvals/:node', async (req, res) => {
    const node = parseOrThrow(NodeId, req.params.node, '/params/node');
    const body = parseOrThrow(Approval, req.body);
    await (
      await controlOf(req, deps)
    ).control(runId(req), {
      type: 'approve',
      node,
      approved: body.approved,
      ...(body.comment === undefined ? {} : { comment: body.comment }),
      by: actor(req),
      // Approvers may be listed by role: the run decides with the roles the caller holds.
      roles: rolesHeld(req.identity?.roles ?? []),
      request_id: requestIdOf(res),
    });
    res.status(202).json({ accepted: true });
  });

  app.post('/v1/events', async (req, res) => {
    const event = parseOrThrow(EventBody, req.body);
    res.status(202).json(await (await controlOf(req, deps)).deliver(event));
  });
}
