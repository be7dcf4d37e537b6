/**
 * Graph fuzzing, the runner: runs compiled plans (graph-fuzz.ts) on the dev server with a worker
 * in this process and a harness answering their events and approvals, replays each history (and
 * its children's) against the current workflow code with `Worker.runReplayHistory`, and checks
 * the interpreter's invariants (`checkInvariants`). Used by test/integration/graph-fuzz.test.ts
 * (a short seed-fixed profile) and test/fuzz/graph-fuzz.ts (`npm run fuzz`, the long one).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { validateDefinition } from '../../interpreter/validate-definition.js';
import type { RunStateView } from '../../interpreter/run-state.js';
import { workflowBundle } from '../../src/worker/create-worker.js';
import { CHILDREN, compile, FUZZ_MODEL, fuzzModelAnswer, fuzzRoutes, type Compiled, type Plan } from './graph-fuzz.js';
import { SqliteDefinitionStore } from '../../src/store/sqlite-store.js';
import { startFakeOpenAi } from './fake-openai.js';
import { startHttpTarget } from './http-target.js';
import { runState, startRun, versioned } from './runs.js';
import { connectClient, startTestWorker, unique } from './temporal.js';
import { pause } from './poll.js';

// ---------------------------------------------------------------------------------------------
// Running one case, replaying it, checking invariants.
// ---------------------------------------------------------------------------------------------

type History = NonNullable<Awaited<ReturnType<WorkflowHandleWithFirstExecutionRunId['fetchHistory']>>>;

export interface CaseOutcome {
  workflowId: string;
  state: RunStateView;
  /** The run's history, then each child run's, by workflow id. */
  histories: Array<{ workflowId: string; history: History }>;
  /** Problems found; empty when every invariant holds and every history replays. */
  problems: string[];
}

/** How long one run may take before it counts as stuck (the machine is slow and shared). */
export const RUN_BOUND_MS = 120_000;

/**
 * Runs a compiled case to its end, answering its events and approvals as they wait. A run still
 * open after RUN_BOUND_MS is a stuck run: reported, then terminated.
 */
export async function runCase(client: Client, taskQueue: string, compiled: Compiled): Promise<CaseOutcome> {
  const checked = validateDefinition(compiled.definition);
  if (!checked.ok) {
    // The generator's own bug: every plan must compile to a valid definition.
    throw new Error(`the generator made an invalid definition: ${JSON.stringify(checked.problems)}`);
  }
  const handle = await startRun(client, taskQueue, compiled.definition);
  const problems: string[] = [];
  const answered = new Map<string, number>();
  const deadline = Date.now() + RUN_BOUND_MS;
  let closed = false;
  void handle.result().then(
    () => (closed = true),
    () => (closed = true),
  );
  while (!closed) {
    if (Date.now() > deadline) {
      // A workflow task that keeps failing (a poisoned run) is the usual reason: name its failure.
      const events = (await handle.fetchHistory().catch(() => undefined))?.events ?? [];
      const failed = [...events]
        .reverse()
        .find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes;
      const why = failed?.failure ? `; its workflow task fails: ${failed.failure.message ?? ''}` : '';
      problems.push(`stuck: the run was still open after ${RUN_BOUND_MS} ms${why}`);
      await handle.terminate('graph fuzz: stuck run').catch(() => undefined);
      break;
    }
    const state = await runState(handle).catch(() => undefined);
    for (const [node, record] of Object.entries(state?.nodes ?? {})) {
      const answer = compiled.facts[node]?.answer;
      if (!answer || record.status !== 'waiting') continue;
      // One answer per wait: a node waits again when a `retry` handler runs it once more.
      const waits = Math.max(1, state?.history.filter((t) => t.node === node && t.to === 'waiting').length ?? 0);
      if ((answered.get(node) ?? 0) >= waits) continue;
      answered.set(node, (answered.get(node) ?? 0) + 1);
      try {
        if ('event_type' in answer) {
          await handle.executeUpdate('deliver_event', {
            args: [{ event_type: answer.event_type, correlation_key: null, payload: { from: 'fuzz' } }],
          });
        } else {
          await handle.executeUpdate('control', {
            args: [{ type: 'approve', by: 'fuzz', node, approved: answer.approved, comment: 'fuzz' }],
          });
        }
      } catch {
        // Refused because the run ended meanwhile (another branch failed it, an `end` closed it):
        // the answer came too late, which is allowed. Refused while the node still waits (Temporal
        // fails an update whose workflow task failed, e.g. with UnhandledCommand as the run was
        // closing): answer again on the next look, as a caller of a failed update must (the gateway's events go
        // through the event mailbox instead). A run
        // that never takes it is reported stuck at the bound above.
        const now = await runState(handle).catch(() => undefined);
        if (now?.status === 'running' && now.nodes[node]?.status === 'waiting') {
          answered.set(node, (answered.get(node) ?? 1) - 1);
        }
      }
    }
    // A driver, not a wait: each look answers what waits, and the bound above names a stuck run.
    await pause(100, 'between looks at the run it drives');
  }
  const state = await runState(handle);
  const histories = await runHistories(client, handle.workflowId);
  problems.push(...checkInvariants(compiled, state, histories[0]?.history ?? {}));
  return { workflowId: handle.workflowId, state, histories, problems };
}

/** The run's history and, recursively, its child runs' (each child replays on its own). */
async function runHistories(client: Client, workflowId: string): Promise<CaseOutcome['histories']> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const children = (history.events ?? []).flatMap((e) => {
    const child = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId;
    return child ? [child] : [];
  });
  const nested = await Promise.all(children.map((child) => runHistories(client, child)));
  return [{ workflowId, history }, ...nested.flat()];
}

let bundle: Promise<Awaited<ReturnType<typeof workflowBundle>>['bundle']> | undefined;

/** Replays every history with the same workflow bundle a worker runs; returns the failures. */
export async function replayAll(histories: CaseOutcome['histories']): Promise<string[]> {
  bundle ??= workflowBundle(undefined, { traced: false, encodedFailures: false }).then((b) => b.bundle);
  const workflowBundleCode = await bundle;
  const failures: string[] = [];
  for (const { workflowId, history } of histories) {
    try {
      await Worker.runReplayHistory(
        { workflowBundle: workflowBundleCode, replayName: workflowId },
        history,
        workflowId,
      );
    } catch (err) {
      failures.push(
        `replay of ${workflowId} diverged: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
      );
    }
  }
  return failures;
}

/** The history as Temporal's JSON, as test/histories stores it (for a failing case's report). */
export function historyJson(workflowId: string, history: History): string {
  const { events } = JSON.parse(historyToJSON(history)) as { events: unknown[] };
  return JSON.stringify({ workflowId, events });
}

/**
 * The interpreter's invariants, checked from the run's final state and its Temporal history.
 * Each returns a sentence naming the node when it does not hold.
 */
export function checkInvariants(compiled: Compiled, state: RunStateView, history: History): string[] {
  const problems: string[] = [];
  const { facts } = compiled;
  const transitions = (node: string, to: string) => state.history.filter((t) => t.node === node && t.to === to).length;
  const endedEarly = state.nodes.stop?.status === 'completed' || state.status === 'failed';

  // 1. Every run ends: the run is closed as completed or failed (never left running or paused:
  //    nothing in these plans pauses it); in a closed run no node is left running or waiting
  //    (work a closing run cut off reads `cancelled`), and in a completed run none is pending —
  //    except what an `end` node cut off before it was reached.
  if (state.status !== 'completed' && state.status !== 'failed') {
    problems.push(`every run ends: the run closed with status "${state.status}"`);
  }
  const cutOff = state.nodes.stop?.status === 'completed' ? ['cancelled', 'pending'] : [];
  for (const [node, record] of Object.entries(state.nodes)) {
    if (state.status === 'failed' && (record.status === 'running' || record.status === 'waiting')) {
      problems.push(`every run ends: node "${node}" is "${record.status}" in a failed run`);
    }
    if (state.status === 'completed' && !['completed', 'skipped', 'failed', ...cutOff].includes(record.status)) {
      problems.push(`every run ends: node "${node}" is "${record.status}" in a completed run`);
    }
  }

  // 2. A join fires once: no join (none sits on a cycle in these plans) completes more than
  //    once, and in a completed run that did not end early a live join completed exactly once.
  for (const [node, fact] of Object.entries(facts)) {
    if (!fact.join) continue;
    const fired = transitions(node, 'completed');
    if (fired > 1) problems.push(`a join fires once: join "${node}" completed ${fired} times`);
    if (state.status === 'completed' && !endedEarly && !fact.dead && state.nodes[node]?.status !== 'completed') {
      problems.push(`a join fires once: live join "${node}" ended "${state.nodes[node]?.status}"`);
    }
  }

  // 3. Dead paths propagate: a node on a branch the conditions did not take never runs (no
  //    transition to running, waiting or completed, no activity or child in the history), and
  //    in a completed run that did not end early it ends `skipped`.
  const activities = activityAttempts(history);
  for (const [node, fact] of Object.entries(facts)) {
    if (!fact.dead) continue;
    const ran = ['running', 'waiting', 'completed', 'failed'].reduce((sum, to) => sum + transitions(node, to), 0);
    if (ran > 0 || (activities.get(node) ?? 0) > 0) {
      problems.push(`dead paths propagate: node "${node}" on a branch not taken ran`);
    }
    const status = state.nodes[node]?.status;
    if (state.status === 'completed' && !endedEarly && status !== 'skipped') {
      problems.push(`dead paths propagate: node "${node}" on a branch not taken ended "${status}", not skipped`);
    }
  }

  // 4. Retries are bounded: the attempts Temporal made for a node's activities (summed over its
  //    scheduled activities, each `attempt` from its started event) are at most its retry bound
  //    × its visits (× its items for a map), plus one handler retry of one attempt per failure.
  for (const [node, fact] of Object.entries(facts)) {
    if (fact.attempts === undefined) continue;
    const made = activities.get(node) ?? 0;
    const executions = fact.visits * (fact.items ?? 1);
    const bound = fact.attempts * executions + executions;
    if (made > bound) problems.push(`retries are bounded: node "${node}" made ${made} attempts, bound ${bound}`);
  }

  // 5. A guarded loop runs its body exactly `times` times when the run completed without an
  //    early end (every body node completed that often), never more.
  for (const loop of compiled.loops) {
    for (const node of loop.nodes) {
      const done = transitions(node, 'completed');
      if (done > loop.times) problems.push(`loops are bounded: "${node}" completed ${done} times, guard ${loop.times}`);
      if (
        state.status === 'completed' &&
        !endedEarly &&
        state.nodes[node]?.status === 'completed' &&
        done !== loop.times
      ) {
        problems.push(`loops are bounded: "${node}" completed ${done} times, expected ${loop.times}`);
      }
    }
  }
  return problems;
}

/** Attempts per node of its connector and model activities (compensations excluded). */
function activityAttempts(history: History): Map<string, number> {
  const events = history.events ?? [];
  const scheduled = new Map<string, string>();
  for (const e of events) {
    const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (type !== 'runConnector' && type !== 'runAi') continue;
    const summary = e.userMetadata?.summary?.data
      ? JSON.parse(Buffer.from(e.userMetadata.summary.data).toString())
      : '';
    if (typeof summary !== 'string' || summary.includes(': compensation')) continue;
    scheduled.set(String(e.eventId), summary.split(':')[0] ?? '');
  }
  const attempts = new Map<string, number>();
  for (const e of events) {
    const started = e.activityTaskStartedEventAttributes;
    const node = started ? scheduled.get(String(started.scheduledEventId)) : undefined;
    if (node) attempts.set(node, (attempts.get(node) ?? 0) + (started?.attempt ?? 1));
  }
  return attempts;
}

// ---------------------------------------------------------------------------------------------
// The harness: local services, a worker in this process, and a pool of cases.
// ---------------------------------------------------------------------------------------------

export interface FuzzFailure {
  seed: number;
  index: number;
  plan: Plan;
  definition: Record<string, unknown>;
  problems: string[];
}

export interface FuzzReport {
  runs: number;
  completed: number;
  failed: number;
  failures: FuzzFailure[];
  /** Node types each run's definition had, counted over the profile (coverage). */
  types: Record<string, number>;
}

/**
 * Starts the local HTTP target, the fake model server, a definition store holding CHILDREN and a
 * worker in this process on its own task queue (TEMPORAL_ADDRESS must be set), runs `plans`
 * `concurrency` at a time, replays every history, and stops everything again.
 */
export async function fuzz(seed: number, plans: Plan[], concurrency = 3): Promise<FuzzReport> {
  const dir = mkdtempSync(join(tmpdir(), 'weft-graph-fuzz-'));
  const store = new SqliteDefinitionStore(join(dir, 'defs.db'));
  const target = await startHttpTarget(fuzzRoutes());
  const fake = await startFakeOpenAi();
  // The queue is shared by concurrent runs, so every answer is the same function of its prompt.
  fake.enqueue(...Array.from({ length: 20 * plans.length + 100 }, () => fuzzModelAnswer));
  const taskQueue = unique('graph-fuzz');
  const worker = await startTestWorker(taskQueue, {
    definitions: store,
    activityDeps: { ai: { baseURL: fake.url, apiKey: fake.apiKey, models: { [FUZZ_MODEL]: 'gpt-test-mini' } } },
  });
  const { client, connection } = await connectClient();
  const report: FuzzReport = { runs: 0, completed: 0, failed: 0, failures: [], types: {} };
  try {
    for (const child of Object.values(CHILDREN)) await store.submit(versioned(child), 'graph-fuzz');
    const run = async (plan: Plan, index: number): Promise<void> => {
      const compiled = compile(plan, { target: target.url, caseId: `s${seed}-${index}-${unique('c').slice(2)}` });
      for (const type of new Set(Object.values(compiled.facts).map((f) => f.type))) {
        report.types[type] = (report.types[type] ?? 0) + 1;
      }
      let problems: string[];
      try {
        const outcome = await runCase(client, taskQueue, compiled);
        problems = [...outcome.problems, ...(await replayAll(outcome.histories))];
        if (outcome.state.status === 'completed') report.completed++;
        else report.failed++;
      } catch (err) {
        problems = [`the case threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`];
      }
      report.runs++;
      if (problems.length > 0) report.failures.push({ seed, index, plan, definition: compiled.definition, problems });
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < plans.length) {
          const index = next++;
          await run(plans[index] as Plan, index);
        }
      }),
    );
  } finally {
    await worker.shutdown();
    await connection.close();
    await fake.close();
    await target.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return report;
}

/** A failure as text to paste into a regression test: the seed, the plan, what went wrong. */
export function describeFailure(failure: FuzzFailure): string {
  return [
    `graph fuzz: seed ${failure.seed}, case ${failure.index}:`,
    ...failure.problems.map((p) => `  - ${p}`),
    'regression (test/integration/graph-fuzz.test.ts, "regressions"):',
    `  { seed: ${failure.seed}, index: ${failure.index}, plan: ${JSON.stringify(failure.plan)} },`,
    `definition: ${JSON.stringify(failure.definition)}`,
  ].join('\n');
}
