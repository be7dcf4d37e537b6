/**
 * Replays recorded run histories against the current workflow code, so a change to the
 * interpreter that would break runs already in flight is caught before it ships. Histories
 * come from files (the Web UI's JSON export, `temporal workflow show --output json`, or
 * `npm run replay -- --export <run id>`) or straight from Temporal for one definition.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { DefinitionIdKey } from '../shared/search-attributes.js';
import { workflowBundle } from '../worker/create-worker.js';

export interface ReplayOutcome {
  name: string;
  ok: boolean;
  /** The non-determinism (or other failure) found, when not ok. */
  error?: string;
}

/** Every `.json` file under the given files or folders. */
export function historyFiles(paths: string[]): string[] {
  return paths.flatMap((path) => {
    if (!statSync(path).isDirectory()) return [path];
    return readdirSync(path)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => join(path, f));
  });
}

type History = ReturnType<typeof historyFromJSON>;

/**
 * Parses a history export: `{ events: [...] }` in Temporal's JSON form. Our recorded files also
 * carry `workflowId`, which replay needs wherever the workflow derives ids from its own
 * (child runs); exports without it replay under the file's name.
 */
export function loadHistory(path: string): { history: History; workflowId: string } {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as { workflowId?: unknown; events?: unknown };
  const workflowId = typeof raw.workflowId === 'string' ? raw.workflowId : basename(path, '.json');
  return { history: historyFromJSON({ events: raw.events }), workflowId };
}

/** The node behind a history event, from the summary the workflow put on its command. */
function nodeAt(history: History, eventId: number): string | undefined {
  const event = history.events?.find((e) => Number(e.eventId) === eventId);
  const summary = event?.userMetadata?.summary;
  // An encrypted summary (WEFT_CODEC_KEYS) names no node readably; the child id may still.
  if (summary?.data && Buffer.from(summary.metadata?.encoding ?? []).toString() === 'json/plain') {
    const text = JSON.parse(Buffer.from(summary.data).toString()) as unknown;
    if (typeof text === 'string') return text.split(':')[0];
  }
  const child = event?.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
  return child ? child.split('.').pop()?.replace(/-\d+$/, '') : undefined;
}

/** Replay has no tracing; an encrypting converter's failures are converted inside the bundle. */
function replayVariant(dataConverter: DataConverter | undefined) {
  return { traced: false, encodedFailures: dataConverter?.failureConverterPath !== undefined };
}

function describe(err: unknown, history?: History): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
  const text = `${err.name}: ${err.message}${cause}`;
  const eventId = /HistoryEvent\(id: (\d+)/.exec(text)?.[1];
  const node = history && eventId ? nodeAt(history, Number(eventId)) : undefined;
  return node ? `at history event ${eventId}, node "${node}": ${text}` : text;
}

/**
 * Replays each history; never throws for a failing history, only reports it. Histories of
 * encrypted runs need the `dataConverter` that decrypts them.
 */
export async function replayFiles(
  paths: string[],
  workflowsPath?: string,
  dataConverter?: DataConverter,
): Promise<ReplayOutcome[]> {
  const { bundle } = await workflowBundle(workflowsPath, replayVariant(dataConverter));
  const outcomes: ReplayOutcome[] = [];
  for (const file of historyFiles(paths)) {
    const name = basename(file);
    let loaded: ReturnType<typeof loadHistory> | undefined;
    try {
      loaded = loadHistory(file);
      await Worker.runReplayHistory(
        { workflowBundle: bundle, replayName: name, ...(dataConverter ? { dataConverter } : {}) },
        loaded.history,
        loaded.workflowId,
      );
      outcomes.push({ name, ok: true });
    } catch (err) {
      outcomes.push({ name, ok: false, error: describe(err, loaded?.history) });
    }
  }
  return outcomes;
}

/**
 * The closed runs of one definition, newest first, straight from the visibility API: the
 * client's own listing decodes every run's memo, which fails on encrypted runs when the
 * client has no codec, and replay needs only ids and histories.
 */
async function* closedRuns(client: Client, definitionId: string, limit: number) {
  const query = `${DefinitionIdKey.name} = ${JSON.stringify(definitionId)} AND ExecutionStatus != "Running"`;
  let nextPageToken: Uint8Array | undefined;
  let listed = 0;
  do {
    const page = await client.workflowService.listWorkflowExecutions({
      namespace: client.options.namespace,
      query,
      pageSize: limit,
      ...(nextPageToken ? { nextPageToken } : {}),
    });
    for (const execution of page.executions ?? []) {
      const workflowId = execution.execution?.workflowId;
      if (!workflowId) continue;
      const runId = execution.execution?.runId ?? undefined;
      yield { workflowId, history: await client.workflow.getHandle(workflowId, runId).fetchHistory() };
      if (++listed >= limit) return;
    }
    nextPageToken = page.nextPageToken && page.nextPageToken.length > 0 ? page.nextPageToken : undefined;
  } while (nextPageToken);
}

/** Replays the most recent closed runs of one definition, fetched from Temporal (decrypted with `dataConverter`). */
export async function replayDefinition(
  client: Client,
  definitionId: string,
  limit = 20,
  dataConverter?: DataConverter,
): Promise<ReplayOutcome[]> {
  const { bundle } = await workflowBundle(undefined, replayVariant(dataConverter));
  const outcomes: ReplayOutcome[] = [];
  const options = { workflowBundle: bundle, ...(dataConverter ? { dataConverter } : {}) };
  for await (const result of Worker.runReplayHistories(options, closedRuns(client, definitionId, limit))) {
    outcomes.push(
      result.error
        ? { name: result.workflowId, ok: false, error: describe(result.error) }
        : { name: result.workflowId, ok: true },
    );
    if (outcomes.length >= limit) break;
  }
  return outcomes;
}
