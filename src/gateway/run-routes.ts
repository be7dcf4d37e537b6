/**
 * The run routes: start a run of a definition (idempotent by `run_id`), list runs, and read a
 * run's state and result.
 */
import type { Express, Request } from 'express';
import { z } from 'zod';
import { resolveRunInput } from '../../interpreter/run-input.js';
import { RUN_ID_PATTERN, RunId } from '../auth/ids.js';
import { requestIdOf } from './audit.js';
import { actor, param, type GatewayDeps } from './gateway-deps.js';
import { notFound, parseOrThrow, validationFailed } from '../shared/http-error.js';
import { ListRunsQuery } from './run-listing.js';

/** A definition version a request names. */
export const DefinitionVersion = z.string().regex(/^[1-9][0-9]*$/, 'expected a version such as "3"');

/** The body of `POST /v1/definitions/{id}/runs`. */
export const StartRunBody = z.strictObject({
  input: z.record(z.string(), z.unknown()).optional(),
  version: DefinitionVersion.optional(),
  run_id: RunId.optional(),
  priority: z.int().min(1).max(5).optional().meta({
    description:
      "This run's priority, 1 (lowest) to 5 (highest), over the definition's options.priority (default 3): orders the line of runs queued under options.max_concurrent_runs and sets Temporal's task priority (6 - priority).",
  }),
});

/** A run id from the path; one that no run could have is simply not found. */
function runId(req: Request): string {
  const id = param(req, 'run_id');
  if (!RUN_ID_PATTERN.test(id)) throw notFound(`run "${id}"`);
  return id;
}

export function runRoutes(app: Express, deps: GatewayDeps): void {
  app.post('/v1/definitions/:id/runs', async (req, res) => {
    const body = parseOrThrow(StartRunBody, req.body ?? {});
    const id = param(req, 'id');
    const scope = await deps.scopes.ofRequest(req);
    const definition = await scope.definitions.get(id, body.version);
    if (!definition) {
      throw notFound(
        body.version === undefined ? `definition "${id}"` : `version "${body.version}" of definition "${id}"`,
      );
    }
    const input = body.input ?? {};
    const resolved = resolveRunInput(definition, input);
    if (!resolved.ok) throw validationFailed(resolved.problems, 'the run input does not match the declared variables');
    if (body.run_id !== undefined && definition.options.debounce !== undefined) {
      throw validationFailed([
        {
          path: '/run_id',
          message: `version ${definition.version} of "${id}" has options.debounce: a burst of starts becomes one run, whose run_id the debouncer chooses (the answer names it)`,
        },
      ]);
    }
    const outcome = await scope.runs.start(definition, input, body.run_id, {
      requestId: requestIdOf(res),
      startedBy: actor(req),
      ...(body.priority === undefined ? {} : { priority: body.priority }),
    });
    if (outcome.debounced) {
      deps.logger.info({ run_id: outcome.debounced.run_id, definition: id }, 'start debounced');
      res.status(202).json(outcome.debounced);
      return;
    }
    const { run, created } = outcome;
    if (created) deps.metrics?.runsStarted.inc({ definition_id: definition.id, trigger: 'api' });
    if (created) deps.logger.info({ run_id: run.run_id, definition: id, version: definition.version }, 'run started');
    res.status(created ? 201 : 200).json(run);
  });

  app.get('/v1/runs', async (req, res) => {
    const query = parseOrThrow(ListRunsQuery, req.query, '/query');
    res.json(await (await deps.scopes.ofRequest(req)).listing.list(query));
  });

  app.get('/v1/runs/:run_id', async (req, res) => {
    const { runs, control } = await deps.scopes.ofRequest(req);
    const state = await runs.state(runId(req));
    // A closed run links to the runs that retried or reran it (they link back through `retry_of` / `rerun_of`).
    const closed = state.status === 'failed' || state.status === 'completed' || state.status === 'cancelled';
    // Best effort: the run's state answers even when visibility cannot list its links right now.
    const none = { retried_by: [], rerun_by: [] };
    const linked = closed && control ? await control.linkedRuns(runId(req)).catch(() => none) : none;
    // The run in Temporal's Web UI, as `POST /v1/definitions/{id}/runs` answers it (weft Studio links to it).
    const ui_url = runs.uiUrl(state.workflow_id, state.instance_id);
    res.json({
      ...state,
      ui_url,
      ...(linked.retried_by.length > 0 ? { retried_by: linked.retried_by } : {}),
      ...(linked.rerun_by.length > 0 ? { rerun_by: linked.rerun_by } : {}),
    });
  });

  app.get('/v1/runs/:run_id/result', async (req, res) => {
    const wait = req.query.wait;
    if (wait !== undefined && wait !== 'true' && wait !== 'false') {
      throw validationFailed([{ path: '/query/wait', message: 'expected "true" or "false"' }]);
    }
    const { runs } = await deps.scopes.ofRequest(req);
    res.json(await runs.result(runId(req), wait === 'true' ? 60_000 : 0));
  });
}
