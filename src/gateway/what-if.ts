/**
 * `POST /v1/definitions/{id}/what-if`: what-if replay of production. The recorded, closed runs
 * of a definition (its active version's, another version's, or the runs named) are re-executed
 * on a candidate version by the definition-test engine (`interpreter/definition-test.ts`), each
 * with its own recorded node outcomes as mocks (`interpreter/recorded-mocks.ts`, what
 * `weft runs export-mocks` prints) and its recorded input and start time. Nothing is called,
 * stored or started. Per run the answer says whether the candidate takes the same path, a
 * different one (where it diverges), or cannot run (a node the recording has no outcome for).
 */
import type { Express } from 'express';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { z } from 'zod';
import { DEFINITION_ID_PATTERN, type VersionedDefinition } from '../../interpreter/definition-schema.js';
import {
  NOT_MOCKED,
  TestLimitExceeded,
  mockProblems,
  pathOf,
  runDefinitionTest,
  type MocksValue,
  type TestRunResult,
} from '../../interpreter/definition-test.js';
import type { Problem } from '../../interpreter/problems.js';
import { runQuotas } from '../../interpreter/quotas.js';
import { recordedMocks } from '../../interpreter/recorded-mocks.js';
import { resolveRunInput } from '../../interpreter/run-input.js';
import { HISTORY_LIMIT, type RunStateView } from '../../interpreter/run-state.js';
import { RunId } from '../auth/ids.js';
import { HttpError, notFound, parseOrThrow, validationFailed } from '../shared/http-error.js';
import { param, type GatewayDeps } from './gateway-deps.js';
import type { RunListItem } from './run-listing.js';
import type { TenantScope } from './tenant-scopes.js';

/** Bounds of one what-if request. */
export const WHAT_IF_LIMITS = {
  /** Runs per request (`limit`, or the length of `runs`). */
  runs: 100,
  /** Runs compared by default. */
  defaultRuns: 20,
  /** Time spent on the runs of one request; runs not reached by then are listed in `unchecked`. */
  ms: 60_000,
} as const;

const VERSION = z.string().regex(/^[1-9][0-9]{0,9}$/, 'expected a version such as "3"');

export const WhatIfBody = z
  .strictObject({
    version: VERSION.meta({ description: 'the candidate: a stored version of the definition' }),
    source_version: VERSION.optional().meta({
      description: "whose recorded runs to replay (default: the definition's active version)",
    }),
    runs: z
      .array(RunId)
      .min(1, 'expected at least one run id')
      .max(WHAT_IF_LIMITS.runs, `expected at most ${WHAT_IF_LIMITS.runs} run ids`)
      .optional()
      .meta({ description: 'replay exactly these closed runs of the definition (any version) instead' }),
    limit: z
      .number()
      .int('expected a whole number')
      .min(1, `expected a whole number from 1 to ${WHAT_IF_LIMITS.runs}`)
      .max(WHAT_IF_LIMITS.runs, `expected a whole number from 1 to ${WHAT_IF_LIMITS.runs}`)
      .optional()
      .meta({ description: `how many of the most recent closed runs (default ${WHAT_IF_LIMITS.defaultRuns})` }),
  })
  .superRefine((body, ctx) => {
    if (body.runs === undefined) return;
    for (const field of ['source_version', 'limit'] as const)
      if (body[field] !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: `"${field}" does not go with "runs" (they name their runs)`,
        });
    const seen = new Set<string>();
    body.runs.forEach((id, i) => {
      if (seen.has(id)) ctx.addIssue({ code: 'custom', path: ['runs', i], message: `run "${id}" is listed twice` });
      seen.add(id);
    });
  });

export type WhatIfRequest = z.output<typeof WhatIfBody>;

/** Where the candidate's path leaves the recorded one. */
export interface Divergence {
  /** The last node both ran before their paths split (null: they differ from the first node on). */
  node: string | null;
  /** The index in the paths of the first difference. */
  index: number;
  /** What each ran there (null: its path ended). */
  recorded: string | null;
  candidate: string | null;
}

export interface WhatIfRun {
  run_id: string;
  /** The version the run ran on. */
  definition_version: string;
  outcome: 'same' | 'different' | 'cannot_run';
  recorded: { status: string; path: string[] };
  /** The candidate's test run (absent when it could not run at all). */
  candidate?: { status: TestRunResult['status']; path: string[]; error?: TestRunResult['error'] };
  /** `different`: where the paths split. */
  divergence?: Divergence;
  /** `cannot_run` because a node needed an outcome the recording does not have. */
  missing?: { node: string; message: string };
  /** `cannot_run` for another reason (the recorded input does not fit the candidate, the step cap, …). */
  reason?: string;
  /** Nodes whose recorded outcome holds a masked (secret-derived) value, replayed as `***`. */
  masked?: string[];
}

export interface WhatIfReport {
  definition_id: string;
  version: string;
  /** The version whose runs were replayed; null when `runs` named them. */
  source_version: string | null;
  summary: { runs: number; same: number; different: number; cannot_run: number };
  runs: WhatIfRun[];
  /** Runs not compared because the request's time ran out. */
  unchecked?: string[];
}

const CLOSED = new Set(['completed', 'failed']);

/** The first difference of two paths, or undefined when they are equal. */
export function divergenceOf(recorded: string[], candidate: string[]): Divergence | undefined {
  const length = Math.max(recorded.length, candidate.length);
  for (let i = 0; i < length; i++) {
    if (recorded[i] === candidate[i]) continue;
    return {
      node: i === 0 ? null : (recorded[i - 1] ?? null),
      index: i,
      recorded: recorded[i] ?? null,
      candidate: candidate[i] ?? null,
    };
  }
  return undefined;
}

/** The newest closed (completed or failed) runs of one version, newest first. */
async function closedRuns(scope: TenantScope, id: string, version: string, limit: number): Promise<RunListItem[]> {
  const lists = await Promise.all(
    (['completed', 'failed'] as const).map((status) =>
      scope.listing.list({ definition_id: id, version, status, page_size: limit }),
    ),
  );
  return lists
    .flatMap((page) => page.items)
    .sort((a, b) => (a.started_at < b.started_at ? 1 : a.started_at > b.started_at ? -1 : 0))
    .slice(0, limit);
}

/** A recorded run's input and start time, from the first event of its Temporal history. */
async function recordedStart(
  scope: TenantScope,
  runId: string,
): Promise<{ input: Record<string, unknown>; at: string }> {
  const handle = scope.runs.handle(runId);
  const client = handle.client;
  const response = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId: handle.workflowId },
    maximumPageSize: 1,
  });
  const first = response.history?.events?.[0];
  const started = first?.workflowExecutionStartedEventAttributes;
  const [args] = (await decodeArrayFromPayloads(client.options.loadedDataConverter, started?.input?.payloads)) as [
    { input?: Record<string, unknown> } | undefined,
  ];
  const seconds = Number(first?.eventTime?.seconds ?? 0);
  const at = new Date(seconds * 1000 + Math.floor((first?.eventTime?.nanos ?? 0) / 1e6)).toISOString();
  return { input: args?.input ?? {}, at };
}

/** The recorded mocks the candidate can take: those of nodes it has, of the same type. */
function mocksFor(candidate: VersionedDefinition, mocks: MocksValue): MocksValue {
  const fitting: MocksValue = {};
  for (const [node, mock] of Object.entries(mocks))
    if (mockProblems(candidate, { [node]: mock }).length === 0) fitting[node] = mock;
  return fitting;
}

async function replayOne(
  scope: TenantScope,
  candidate: VersionedDefinition,
  runId: string,
  state: RunStateView,
  recordedDefinition: VersionedDefinition,
): Promise<WhatIfRun> {
  const recordedPath = pathOf(state.history);
  const base = {
    run_id: runId,
    definition_version: state.definition_version,
    recorded: { status: state.status, path: recordedPath },
  };
  const cannot = (reason: string): WhatIfRun => ({ ...base, outcome: 'cannot_run', reason });
  // The state keeps its last HISTORY_LIMIT transitions: an older start of the path is gone.
  if (state.history.length >= HISTORY_LIMIT)
    return cannot(`the run's recorded history is longer than the ${HISTORY_LIMIT} transitions its state keeps`);
  const { mocks, masked } = recordedMocks(recordedDefinition, state.nodes);
  const start = await recordedStart(scope, runId);
  const resolved = resolveRunInput(candidate, start.input, '/input');
  if (!resolved.ok)
    return cannot(
      `the recorded input does not fit version ${candidate.version}: ${resolved.problems.map((p) => `${p.path} ${p.message}`).join('; ')}`,
    );
  let result: TestRunResult;
  try {
    result = await runDefinitionTest(candidate, start.input, resolved.variables, mocksFor(candidate, mocks), {
      now: start.at,
      pause: () => new Promise<void>((resolve) => setImmediate(resolve)),
      quotas: runQuotas(scope.tenant.quotas),
      runId,
    });
  } catch (err) {
    if (err instanceof TestLimitExceeded) return cannot(err.message);
    throw err;
  }
  const candidateView = {
    status: result.status,
    path: result.path,
    ...(result.error ? { error: result.error } : {}),
  };
  const extra = { candidate: candidateView, ...(masked.length > 0 ? { masked } : {}) };
  const notMocked = Object.entries(result.nodes).find(([, n]) => n.error?.type === NOT_MOCKED);
  if (notMocked)
    return {
      ...base,
      ...extra,
      outcome: 'cannot_run',
      missing: { node: notMocked[0], message: notMocked[1].error?.message ?? 'not mocked' },
    };
  const divergence = divergenceOf(recordedPath, result.path);
  return divergence ? { ...base, ...extra, outcome: 'different', divergence } : { ...base, ...extra, outcome: 'same' };
}

/** Runs a what-if replay for the caller's tenant; throws the route's 400 / 404 problems. */
export async function whatIf(id: string, raw: unknown, scope: TenantScope): Promise<WhatIfReport> {
  if (!DEFINITION_ID_PATTERN.test(id)) throw notFound(`definition "${id}"`);
  const body = parseOrThrow(WhatIfBody, raw);
  const candidate = await scope.definitions.get(id, body.version);
  if (!candidate) {
    const any = await scope.definitions.get(id);
    if (!any) throw notFound(`definition "${id}"`);
    throw validationFailed([{ path: '/version', message: `definition "${id}" has no version "${body.version}"` }]);
  }
  let sourceVersion: string | null = null;
  let runIds: string[];
  const states = new Map<string, RunStateView>();
  if (body.runs === undefined) {
    if (body.source_version === undefined) {
      const active = await scope.definitions.get(id);
      if (!active)
        throw validationFailed([
          { path: '/source_version', message: `definition "${id}" has no active version: name one` },
        ]);
      sourceVersion = active.version;
    } else {
      if (!(await scope.definitions.get(id, body.source_version)))
        throw validationFailed([
          { path: '/source_version', message: `definition "${id}" has no version "${body.source_version}"` },
        ]);
      sourceVersion = body.source_version;
    }
    runIds = (await closedRuns(scope, id, sourceVersion, body.limit ?? WHAT_IF_LIMITS.defaultRuns)).map(
      (r) => r.run_id,
    );
  } else {
    runIds = body.runs;
    const problems: Problem[] = [];
    for (const [i, runId] of body.runs.entries()) {
      let state: RunStateView;
      try {
        state = await scope.runs.state(runId);
      } catch (err) {
        if (err instanceof HttpError && err.code === 'not_found') {
          problems.push({ path: `/runs/${i}`, message: `no run "${runId}"` });
          continue;
        }
        throw err;
      }
      if (state.definition_id !== id)
        problems.push({
          path: `/runs/${i}`,
          message: `run "${runId}" is a run of definition "${state.definition_id}"`,
        });
      else if (!CLOSED.has(state.status))
        problems.push({
          path: `/runs/${i}`,
          message: `run "${runId}" is ${state.status}: only completed and failed runs have a recorded path to compare`,
        });
      else states.set(runId, state);
    }
    if (problems.length > 0) throw validationFailed(problems, 'the runs cannot be replayed');
  }

  const deadline = Date.now() + WHAT_IF_LIMITS.ms;
  const versions = new Map<string, VersionedDefinition>();
  const runs: WhatIfRun[] = [];
  const unchecked: string[] = [];
  for (const runId of runIds) {
    if (Date.now() > deadline) {
      unchecked.push(runId);
      continue;
    }
    const state = states.get(runId) ?? (await scope.runs.state(runId));
    let recordedDefinition = versions.get(state.definition_version);
    if (!recordedDefinition) {
      recordedDefinition = await scope.definitions.get(id, state.definition_version);
      if (!recordedDefinition) throw notFound(`version "${state.definition_version}" of definition "${id}"`);
      versions.set(state.definition_version, recordedDefinition);
    }
    runs.push(await replayOne(scope, candidate, runId, state, recordedDefinition));
  }
  const count = (outcome: WhatIfRun['outcome']) => runs.filter((r) => r.outcome === outcome).length;
  return {
    definition_id: id,
    version: candidate.version,
    source_version: sourceVersion,
    summary: { runs: runs.length, same: count('same'), different: count('different'), cannot_run: count('cannot_run') },
    runs,
    ...(unchecked.length > 0 ? { unchecked } : {}),
  };
}

export function whatIfRoutes(app: Express, deps: GatewayDeps): void {
  app.post('/v1/definitions/:id/what-if', async (req, res) => {
    res.json(await whatIf(param(req, 'id'), req.body ?? {}, await deps.scopes.ofRequest(req)));
  });
}
