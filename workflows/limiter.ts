/**
 * The limiter of one (tenant, task queue, definition, node, concurrency key): the durable owner
 * of that node's `max_concurrency` permits and its `rate_per_second` token bucket across all runs
 * of the definition. A run asks for a
 * permit with `acquire` (signal-with-start, through the `requestPermit` activity), is sent
 * `permit` signals back (its place in line while it waits, then the grant), and gives the permit
 * back with `release` when the execution ends however it ends (completed, failed, cancelled,
 * skipped; the run sends it from a non-cancellable scope). Waiting runs are granted by their run's
 * priority (`options.priority`, 5 first), in FIFO order within a priority.
 *
 * A rate (`rate_per_second`, `burst`) is a token bucket on workflow time: `burst` tokens, refilled
 * at the rate, one taken per grant; while the first in line waits for a token the limiter sleeps
 * on a durable timer until one is due. The bucket lives in the limiter's history (and is carried
 * across continue-as-new), and a limiter with a rate completes only once its bucket is full again,
 * so a limiter started afresh never grants more than the rate allows.
 * Only signals: they have no in-flight limit, unlike Updates (at most 10 per workflow).
 *
 * A permit is never leaked: every `CHECK_HOLDERS_MS` while it has holders the limiter asks
 * Temporal (`closedPermitHolders` activity) which holders' runs are closed (terminated, timed
 * out, reset away) and takes their permits back; a grant that cannot be delivered (the run is
 * gone) is taken back at once. A limiter is a workflow, so it survives worker and server
 * crashes with its holders and line; it continues-as-new when its history grows and completes
 * when nobody holds or waits.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  getExternalWorkflowHandle,
  proxyActivities,
  proxySinks,
  setHandler,
  type Sinks,
  workflowInfo,
} from '@temporalio/workflow';
import type { LimiterActivities } from '../activities/limiter.js';
import { holderRef } from '../interpreter/run-limits.js';
import type { PermitRate } from '../interpreter/commands.js';

/** How often a limiter with holders checks that their runs are still open. */
export const CHECK_HOLDERS_MS = 30_000;
/** Waiting runs told their place in line again whenever it changes (the first ones in line). */
const POSITION_WINDOW = 20;
/** Signals a limiter sends at once. */
const SEND_BATCH = 100;
/** The limiter continues-as-new once its history holds this many events. */
const LIMITER_CONTINUE_AFTER = 2_000;

/** One execution of the node in one run: a holder of a permit, or waiting for one. */
export interface PermitRequest {
  workflow_id: string;
  /** The Temporal run; "" for a run permit (`options.max_concurrent_runs`), held by the workflow id across continue-as-new. */
  run_id: string;
  /** The execution (exec id) in that run. */
  exec: string;
  /** Its run's priority (`options.priority`, 1-5, 5 first); absent: 3. */
  priority?: number;
}

/** The priority of a request that names none (and of every request before priorities). */
export const DEFAULT_PRIORITY = 3;

/** The token bucket of a rate: how many tokens it held at workflow time `at` (ms). */
export interface Bucket {
  tokens: number;
  at: number;
}

export interface LimiterArgs {
  definition_id: string;
  node: string;
  key: string | null;
  /**
   * The limit the latest `acquire` carried (versions of a definition may differ: the latest wins);
   * null: no concurrency limit (a rate only).
   */
  limit: number | null;
  /** The rate the latest `acquire` carried; absent: none. */
  rate?: PermitRate;
  /** Carried across continue-as-new. */
  resume?: { holders: PermitRequest[]; queue: PermitRequest[]; bucket?: Bucket };
}

export interface LimiterView {
  definition_id: string;
  node: string;
  key: string | null;
  limit: number | null;
  rate?: PermitRate;
  /** Tokens in the rate's bucket now (absent without a rate). */
  tokens?: number;
  holders: PermitRequest[];
  queue: PermitRequest[];
}

/** What a run sends its node's limiter to ask for a permit. */
export type AcquireRequest = PermitRequest & { limit: number | null; rate?: PermitRate };

/** What a limiter sends a run: its place in line (1: next), or that it holds the permit now. */
export interface PermitMessage {
  exec: string;
  limiter: string;
  position?: number;
  granted?: true;
}

/** What the worker counts for limiters (never called on replay). */
export interface FlowSinks extends Sinks {
  weftFlow: {
    /** How many executions wait in this limiter's line now (the waiting gauge sums the keys). */
    waiting(definition_id: string, node: string, count: number): void;
    /** A permit was granted after waiting this long (workflow time, since the request arrived). */
    granted(definition_id: string, node: string, waited_ms: number): void;
  };
}
const { weftFlow } = proxySinks<FlowSinks>();

export const acquireSignal = defineSignal<[AcquireRequest]>('acquire');
export const releaseSignal = defineSignal<[PermitRequest]>('release');
export const limiterQuery = defineQuery<LimiterView>('limiter');
/**
 * Takes a permit at once if one is free and nobody waits, else refuses (nothing queued): how a
 * start with `on_limit: "skip"` learns synchronously whether it may run (update-with-start).
 */
export const tryAcquireUpdate = defineUpdate<
  { granted: boolean; holders: number },
  [PermitRequest & { limit: number }]
>('try_acquire');

const same = (a: PermitRequest, b: PermitRequest) =>
  a.workflow_id === b.workflow_id && a.run_id === b.run_id && a.exec === b.exec;

export async function permitLimiter(args: LimiterArgs): Promise<void> {
  const info = workflowInfo();
  let limit = args.limit;
  let rate = args.rate;
  const holders: PermitRequest[] = args.resume?.holders ?? [];
  const queue: PermitRequest[] = args.resume?.queue ?? [];
  // Full when the limiter starts: it completed (or never ran) only with a full bucket.
  const bucket: Bucket = args.resume?.bucket ?? { tokens: rate?.burst ?? 0, at: Date.now() };
  /** The bucket's tokens now (refilled at the rate since it was last looked at). */
  const refill = () => {
    const now = Date.now();
    if (rate) bucket.tokens = Math.min(rate.burst, bucket.tokens + ((now - bucket.at) * rate.per_second) / 1000);
    bucket.at = now;
  };
  /** Milliseconds until the bucket holds `tokens` (at least 1). */
  const until = (tokens: number, r: PermitRate) =>
    Math.max(1, Math.ceil(((tokens - bucket.tokens) * 1000) / r.per_second));
  const room = () => limit === null || holders.length < limit;
  /** The place in line each waiting request was last told (by `${workflow_id} ${run_id} ${exec}`). */
  const told = new Map<string, number>();
  /** When each waiting request joined the line (workflow time; not carried across continue-as-new). */
  const joined = new Map<string, number>();
  /** The line's length the worker was last told (-1: not yet in this run). */
  let reported = -1;
  const outbox: { to: PermitRequest; message: PermitMessage }[] = [];
  let changed = true;
  const { closedPermitHolders } = proxyActivities<LimiterActivities>({
    startToCloseTimeout: '1 minute',
    summary: 'check that permit holders are open',
    retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 5 },
  });
  const id = (r: PermitRequest) => `${r.workflow_id} ${r.run_id} ${r.exec}`;

  setHandler(acquireSignal, (request) => {
    refill();
    limit = request.limit;
    if (request.rate && !rate) bucket.tokens = request.rate.burst;
    rate = request.rate;
    const asked: PermitRequest = {
      workflow_id: request.workflow_id,
      run_id: request.run_id,
      exec: request.exec,
      ...(request.priority === undefined ? {} : { priority: request.priority }),
    };
    // Asked twice (a retried activity): granted again if held, else keeps its place.
    if (holders.some((h) => same(h, asked))) {
      outbox.push({ to: asked, message: { exec: asked.exec, limiter: info.workflowId, granted: true } });
    } else if (!queue.some((q) => same(q, asked))) {
      // Behind every request of its priority or higher, ahead of the lower ones.
      const priority = asked.priority ?? DEFAULT_PRIORITY;
      const behind = queue.findIndex((q) => (q.priority ?? DEFAULT_PRIORITY) < priority);
      joined.set(id(asked), Date.now());
      if (behind < 0) queue.push(asked);
      else queue.splice(behind, 0, asked);
    }
    changed = true;
  });
  setHandler(tryAcquireUpdate, (request) => {
    limit = request.limit;
    const asked: PermitRequest = { workflow_id: request.workflow_id, run_id: request.run_id, exec: request.exec };
    changed = true;
    if (holders.some((h) => same(h, asked))) return { granted: true, holders: holders.length };
    if (!room() || queue.length > 0) return { granted: false, holders: holders.length };
    holders.push(asked);
    return { granted: true, holders: holders.length };
  });
  setHandler(releaseSignal, (request) => {
    const held = holders.findIndex((h) => same(h, request));
    if (held >= 0) holders.splice(held, 1);
    const waiting = queue.findIndex((q) => same(q, request));
    if (waiting >= 0) queue.splice(waiting, 1);
    told.delete(id(request));
    joined.delete(id(request));
    changed = true;
  });
  setHandler(limiterQuery, () => ({
    definition_id: args.definition_id,
    node: args.node,
    key: args.key,
    limit,
    // A query must not change the state: the tokens as a refill now would make them.
    ...(rate
      ? { rate, tokens: Math.min(rate.burst, bucket.tokens + ((Date.now() - bucket.at) * rate.per_second) / 1000) }
      : {}),
    holders: [...holders],
    queue: [...queue],
  }));

  const drop = (request: PermitRequest) => {
    const held = holders.findIndex((h) => same(h, request));
    if (held >= 0) holders.splice(held, 1);
    changed = true;
  };

  let nextCheck = Date.now() + CHECK_HOLDERS_MS;
  /**
   * When the limiter must look again without a signal: its holders' next check, the next token
   * while the first in line waits for one, the bucket full again when nobody holds or waits.
   */
  const wake = (): number | undefined => {
    const times: number[] = [];
    if (holders.length > 0) times.push(Math.max(1, nextCheck - Date.now()));
    if (rate && queue.length > 0 && room() && bucket.tokens < 1) times.push(until(1, rate));
    if (rate && holders.length === 0 && queue.length === 0 && bucket.tokens < rate.burst)
      times.push(until(rate.burst, rate));
    return times.length > 0 ? Math.min(...times) : undefined;
  };
  for (;;) {
    await condition(() => changed || outbox.length > 0, wake());
    changed = false;
    refill();
    if (holders.length > 0 && Date.now() >= nextCheck) {
      const checked = [...holders];
      const closed = new Set(await closedPermitHolders(checked).catch(() => [] as string[]));
      for (const holder of checked) if (closed.has(holderRef(holder))) drop(holder);
      nextCheck = Date.now() + CHECK_HOLDERS_MS;
    } else if (holders.length === 0) {
      nextCheck = Date.now() + CHECK_HOLDERS_MS;
    }
    while (room() && queue.length > 0 && (!rate || bucket.tokens >= 1)) {
      if (rate) bucket.tokens -= 1;
      const next = queue.shift() as PermitRequest;
      told.delete(id(next));
      const since = joined.get(id(next));
      joined.delete(id(next));
      if (since !== undefined) weftFlow.granted(args.definition_id, args.node, Date.now() - since);
      holders.push(next);
      outbox.push({ to: next, message: { exec: next.exec, limiter: info.workflowId, granted: true } });
    }
    queue.slice(0, POSITION_WINDOW).forEach((waiting, i) => {
      if (told.get(id(waiting)) === i + 1) return;
      told.set(id(waiting), i + 1);
      outbox.push({ to: waiting, message: { exec: waiting.exec, limiter: info.workflowId, position: i + 1 } });
    });
    // Beyond the window a waiting run is told its place once, when it joins the line.
    for (const waiting of queue.slice(POSITION_WINDOW)) {
      if (told.has(id(waiting))) continue;
      told.set(id(waiting), queue.indexOf(waiting) + 1);
      outbox.push({
        to: waiting,
        message: { exec: waiting.exec, limiter: info.workflowId, position: queue.indexOf(waiting) + 1 },
      });
    }
    while (outbox.length > 0) {
      const batch = outbox.splice(0, SEND_BATCH);
      await Promise.all(
        batch.map(({ to, message }) =>
          getExternalWorkflowHandle(to.workflow_id, to.run_id)
            .signal('permit', message)
            // The run is closed (or never existed): it holds and waits for nothing any more.
            .catch(() => {
              drop(to);
              const waiting = queue.findIndex((q) => same(q, to));
              if (waiting >= 0) queue.splice(waiting, 1);
            }),
        ),
      );
    }
    if (queue.length !== reported) {
      reported = queue.length;
      weftFlow.waiting(args.definition_id, args.node, reported);
    }
    if (changed) continue;
    // With a rate the limiter lives on until its bucket is full: a new one starts full.
    if (holders.length === 0 && queue.length === 0 && (!rate || bucket.tokens >= rate.burst)) {
      await condition(allHandlersFinished);
      // A signal arriving with the completion makes Temporal retry this task with it, so none is lost.
      return;
    }
    const now = workflowInfo();
    if (now.historyLength >= LIMITER_CONTINUE_AFTER || now.continueAsNewSuggested) {
      await condition(allHandlersFinished);
      refill();
      return continueAsNew<typeof permitLimiter>({
        ...args,
        limit,
        rate,
        resume: { holders, queue, ...(rate ? { bucket } : {}) },
      });
    }
  }
}
