/**
 * `GET /v1/runs/{run_id}/lineage`: for each variable of a run, which node wrote it, from which
 * inputs, and when. Answered by the workflow's `lineage` query, so closed runs answer too.
 * `GET /v1/runs/{run_id}/nodes/{node}/input`: the resolved input of a node's most recent call.
 */
import type { Express, Request } from 'express';
import { param, type GatewayDeps } from './gateway-deps.js';
import { notFound } from '../shared/http-error.js';

/** The ids a run can have (see the start route); anything else cannot name a run. */
const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;

function runId(req: Request): string {
  const id = param(req, 'run_id');
  if (!RUN_ID_PATTERN.test(id)) throw notFound(`run "${id}"`);
  return id;
}

export function lineageRoutes(app: Express, deps: Pick<GatewayDeps, 'scopes'>): void {
  app.get('/v1/runs/:run_id/lineage', async (req, res) => {
    const { runs } = await deps.scopes.ofRequest(req);
    res.json(await runs.lineage(runId(req)));
  });
  // The resolved input of a node's most recent call (`node-input.ts`).
  app.get('/v1/runs/:run_id/nodes/:node/input', async (req, res) => {
    const { runs } = await deps.scopes.ofRequest(req);
    res.json(await runs.nodeInput(runId(req), param(req, 'node')));
  });
}
