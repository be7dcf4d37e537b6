/**
 * Per-tenant quotas: what one definition author may ask of the shared engine. Defaults come
 * from the gateway's environment (`WEFT_QUOTA_*`), a tenant's own values from its settings
 * (`PUT /v1/tenants/{tenant}` `quotas`). The gateway checks what it can see in a definition at
 * submit, `/validate` and start ({@link quotaProblems}) and refuses a start over
 * `concurrent_runs`; what only the run can know (the items an expression gives, an `until`
 * date, the work in flight) is checked by the engine against the {@link RunQuotas} the gateway
 * put into the run's input. A run started without quotas (before they existed) runs as before.
 */
import { z } from 'zod';
import type { Definition } from './definition-schema.js';
import { parseDuration } from './duration.js';
import type { Problem } from './problems.js';
import type { RunState } from './run-state.js';
import { DEFAULT_STATE_BYTES, jsonBytes } from './state-size.js';

export const QUOTA_NAMES = [
  'concurrent_runs',
  'inflight',
  'map_concurrency',
  'map_items',
  'timer_horizon',
  'node_visits',
  'response_bytes',
  'state_bytes',
] as const;
export type QuotaName = (typeof QUOTA_NAMES)[number];

/** Every quota as a number; `timer_horizon` in milliseconds. */
export type Quotas = Record<QuotaName, number>;

const DAY_MS = 86_400_000;

/** The defaults when neither `WEFT_QUOTA_*` nor the tenant sets a quota (documented in the README). */
export const QUOTA_DEFAULTS: Readonly<Quotas> = {
  concurrent_runs: 1_000,
  inflight: 200,
  map_concurrency: 50,
  map_items: 10_000,
  timer_horizon: 366 * DAY_MS,
  node_visits: 100_000,
  response_bytes: 10 * 1024 * 1024,
  state_bytes: DEFAULT_STATE_BYTES,
};

/**
 * Temporal's own per-workflow limits (its defaults): pending activities, pending child
 * workflows, pending signals to other workflows and pending cancellation requests. A run past
 * one of them is stuck (every further command fails its workflow task), so `inflight` and
 * `map_concurrency` stay well below them, with room for what a run has in flight besides its
 * nodes' work: compensations, event-mailbox registrations and their unregister signals.
 */
export const TEMPORAL_PENDING_LIMIT = 2_000;

/** The largest value a quota may be set to, by environment or tenant setting. */
export const QUOTA_CEILINGS: Readonly<Quotas> = {
  concurrent_runs: 1_000_000,
  // Half of TEMPORAL_PENDING_LIMIT: activities and child runs count apart there, together here.
  inflight: TEMPORAL_PENDING_LIMIT / 2,
  map_concurrency: TEMPORAL_PENDING_LIMIT / 2,
  // The expression sandbox caps sequences at 100,000 items anyway.
  map_items: 100_000,
  timer_horizon: 100 * 365 * DAY_MS,
  node_visits: 10_000_000,
  response_bytes: 1024 * 1024 * 1024,
  // Below Temporal's 2 MB per payload: continue-as-new carries the state with the definition.
  state_bytes: 1536 * 1024,
};

/** The environment variable of each quota's default. */
export const QUOTA_ENV: Readonly<Record<QuotaName, string>> = {
  concurrent_runs: 'WEFT_QUOTA_CONCURRENT_RUNS',
  inflight: 'WEFT_QUOTA_INFLIGHT',
  map_concurrency: 'WEFT_QUOTA_MAP_CONCURRENCY',
  map_items: 'WEFT_QUOTA_MAP_ITEMS',
  timer_horizon: 'WEFT_QUOTA_TIMER_HORIZON',
  node_visits: 'WEFT_QUOTA_NODE_VISITS',
  response_bytes: 'WEFT_QUOTA_RESPONSE_BYTES',
  state_bytes: 'WEFT_QUOTA_STATE_BYTES',
};

/**
 * What the engine enforces while a run runs, pinned in the run's input when it starts (and kept
 * in its state, so continue-as-new, retries and child runs carry the same values).
 */
export interface RunQuotas {
  /** Activities and child runs in flight at once in one run (parallel branches and map items). */
  inflight: number;
  /** Map items in flight at once: a map's `max_concurrency` (or its item count) is capped to this. */
  map_concurrency: number;
  /** Items one map may be given. */
  map_items: number;
  /** How far ahead of now a timer may be set (wait, event and approval timeouts), in ms. */
  timer_horizon_ms: number;
  /** Set on every connector call as `max_response_bytes`. */
  response_bytes: number;
  /**
   * The bound on the run state's values, in bytes of JSON (`state-size.ts`); absent in runs
   * started before it existed, which get `DEFAULT_STATE_BYTES`.
   */
  state_bytes?: number;
}

export function runQuotas(quotas: Quotas): RunQuotas {
  return {
    inflight: quotas.inflight,
    map_concurrency: quotas.map_concurrency,
    map_items: quotas.map_items,
    timer_horizon_ms: quotas.timer_horizon,
    response_bytes: quotas.response_bytes,
    state_bytes: quotas.state_bytes,
  };
}

const count = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** A duration as people write them: whole days, hours, minutes or seconds when it is one. */
export function formatMs(ms: number): string {
  for (const [unit, size] of [
    ['d', DAY_MS],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${count(ms / size)}${unit}`;
  }
  return `${count(ms)}ms`;
}

/**
 * The smallest value of each quota: `node_visits` never below the language's own default
 * `max_node_visits`; `state_bytes` never below 64 KiB (a run's own bookkeeping needs room).
 */
const QUOTA_FLOORS: Partial<Record<QuotaName, number>> = { node_visits: 1_000, state_bytes: 64 * 1024 };

const quotaInt = (name: QuotaName) =>
  z
    .int(`expected a whole number`)
    .min(QUOTA_FLOORS[name] ?? 1, `expected at least ${count(QUOTA_FLOORS[name] ?? 1)}`)
    .max(QUOTA_CEILINGS[name], `expected at most ${count(QUOTA_CEILINGS[name])}`);

const horizon = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined || ms < 1000 || ms > QUOTA_CEILINGS.timer_horizon) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a duration between 1s and ${formatMs(QUOTA_CEILINGS.timer_horizon)}: milliseconds, or a string such as "30d"`,
    });
    return z.NEVER;
  }
  return ms;
});

/**
 * A tenant's own quotas (`quotas` of `PUT /v1/tenants/{tenant}`): any subset, unknown names
 * refused. `timer_horizon` is a duration (milliseconds or `"30d"`); it is stored as milliseconds.
 */
export const QuotaOverrides = z.strictObject({
  concurrent_runs: quotaInt('concurrent_runs').optional(),
  inflight: quotaInt('inflight').optional(),
  map_concurrency: quotaInt('map_concurrency').optional(),
  map_items: quotaInt('map_items').optional(),
  timer_horizon: horizon.optional(),
  node_visits: quotaInt('node_visits').optional(),
  response_bytes: quotaInt('response_bytes').optional(),
  state_bytes: quotaInt('state_bytes').optional(),
});
export type QuotaOverrides = z.output<typeof QuotaOverrides>;

/** The defaults with a tenant's own values on top. */
export function effectiveQuotas(defaults: Quotas, overrides: QuotaOverrides | undefined): Quotas {
  const quotas = { ...defaults };
  for (const name of QUOTA_NAMES) {
    const value = overrides?.[name];
    if (value !== undefined) quotas[name] = value;
  }
  return quotas;
}

/**
 * The defaults from `WEFT_QUOTA_*`; throws naming every variable that is not a whole number
 * (a duration for `WEFT_QUOTA_TIMER_HORIZON`) within its bounds.
 */
export function quotaDefaultsFromEnv(env: Readonly<Record<string, string | undefined>>): Quotas {
  const raw: Record<string, unknown> = {};
  for (const name of QUOTA_NAMES) {
    const text = env[QUOTA_ENV[name]];
    if (text === undefined || text.trim() === '') continue;
    raw[name] = name === 'timer_horizon' ? text.trim() : /^\d+$/.test(text.trim()) ? Number(text.trim()) : text;
  }
  const parsed = QuotaOverrides.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => `${QUOTA_ENV[String(issue.path[0]) as QuotaName]}: ${issue.message}`)
      .join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  return effectiveQuotas(QUOTA_DEFAULTS, parsed.data);
}

/** The message of every quota refusal: names the quota, its limit and what was asked. */
export function quotaMessage(quota: QuotaName, limit: string, found: string): string {
  return `quota "${quota}" exceeded: at most ${limit} (found ${found})`;
}

/**
 * The number of items of a `map`'s `items` when the expression is a literal: a JSON array, or
 * a range `[a..b]` of integer literals; `undefined` when only the run can tell.
 */
export function literalItemCount(source: string): number | undefined {
  const range = /^\s*\[\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*\]\s*$/.exec(source);
  if (range) return Math.max(0, Number(range[2]) - Number(range[1]) + 1);
  if (!/^\s*\[/.test(source)) return undefined;
  try {
    const value: unknown = JSON.parse(source);
    return Array.isArray(value) ? value.length : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The bound on a definition's JSON and its runs' `state_bytes` together: continue-as-new carries
 * both in one payload, and Temporal refuses a payload over 2 MiB (2,097,152 bytes); the rest is
 * room for the run's bookkeeping that `state_bytes` does not count (history, lineage, errors).
 */
export const RUN_PAYLOAD_BYTES = 1_900_000;

/** A problem that names the quota it breaks (for metrics; answers carry only path and message). */
export interface QuotaProblem extends Problem {
  quota: QuotaName;
}

/**
 * What a definition asks for beyond the quotas, as far as it can be seen without running it:
 * `options.max_node_visits`, a map's literal `max_concurrency` and literal `items`, and the
 * literal durations of waits, event and approval timeouts and the run timeout. Each problem
 * points at the field and names the quota.
 */
export function quotaProblems(definition: Definition, quotas: Quotas): QuotaProblem[] {
  const problems: QuotaProblem[] = [];
  const visits = definition.options.max_node_visits;
  if (visits > quotas.node_visits)
    problems.push({
      quota: 'node_visits',
      path: '/options/max_node_visits',
      message: quotaMessage('node_visits', `${count(quotas.node_visits)} visits per node`, count(visits)),
    });
  const timer = (path: string, value: number | string | undefined) => {
    const ms = value === undefined ? undefined : parseDuration(value);
    if (ms !== undefined && ms > quotas.timer_horizon)
      problems.push({
        quota: 'timer_horizon',
        path,
        message: quotaMessage('timer_horizon', formatMs(quotas.timer_horizon), formatMs(ms)),
      });
  };
  timer('/options/timeout', definition.options.timeout);
  definition.nodes.forEach((node, i) => {
    const at = `/nodes/${i}`;
    if (node.type === 'wait') timer(`${at}/duration`, node.duration);
    if (node.type === 'event' || node.type === 'approval') timer(`${at}/timeout`, node.timeout);
    if (node.type !== 'map') return;
    if (node.max_concurrency !== undefined && node.max_concurrency > quotas.map_concurrency)
      problems.push({
        quota: 'map_concurrency',
        path: `${at}/max_concurrency`,
        message: quotaMessage(
          'map_concurrency',
          `${count(quotas.map_concurrency)} items at once`,
          count(node.max_concurrency),
        ),
      });
    const items = literalItemCount(node.items);
    if (items !== undefined && items > quotas.map_items)
      problems.push({
        quota: 'map_items',
        path: `${at}/items`,
        message: quotaMessage('map_items', `${count(quotas.map_items)} items per map`, count(items)),
      });
  });
  const definitionBytes = jsonBytes(definition);
  if (definitionBytes + quotas.state_bytes > RUN_PAYLOAD_BYTES)
    problems.push({
      quota: 'state_bytes',
      path: '',
      message:
        `the definition (${count(definitionBytes)} bytes of JSON) and its runs' state (quota "state_bytes", ` +
        `${count(quotas.state_bytes)} bytes) are carried together by continue-as-new: at most ` +
        `${count(RUN_PAYLOAD_BYTES)} bytes together (found ${count(definitionBytes + quotas.state_bytes)}); ` +
        `make the definition smaller or lower the tenant's state_bytes`,
    });
  return problems;
}

/** The error type of a node refused by a run-time quota. */
export const QUOTA_EXCEEDED = 'QuotaExceeded';

/** Activities and child runs in flight (compensations, which must run, not counted). */
export function inflightWork(state: RunState): number {
  let n = 0;
  for (const execution of Object.values(state.inflight)) if (execution.kind === 'work' && !execution.compensation) n++;
  return n;
}

/** A run-time refusal: the quota and the node's error message. */
export interface Refusal {
  quota: QuotaName;
  message: string;
}

/** Why one more activity or child run may not start now (`inflight`); undefined when it may. */
export function inflightRefusal(state: RunState): Refusal | undefined {
  const quotas = state.quotas;
  if (!quotas) return undefined;
  const running = inflightWork(state);
  if (running < quotas.inflight) return undefined;
  const message = quotaMessage(
    'inflight',
    `${count(quotas.inflight)} activities or child runs in flight per run`,
    `${count(running)} already in flight`,
  );
  return { quota: 'inflight', message };
}

/** Why a timer may not be set for `deadline` (`timer_horizon`); undefined when it may. */
export function timerRefusal(state: RunState, now: string, deadline: string): Refusal | undefined {
  const quotas = state.quotas;
  if (!quotas) return undefined;
  const ms = Date.parse(deadline) - Date.parse(now);
  if (!(ms > quotas.timer_horizon_ms)) return undefined;
  const message = quotaMessage(
    'timer_horizon',
    `${formatMs(quotas.timer_horizon_ms)} ahead`,
    `${deadline}, ${formatMs(ms)} ahead`,
  );
  return { quota: 'timer_horizon', message };
}

/**
 * A map's concurrency within the quotas, or why it may not start: more items than `map_items`,
 * or no room left under `inflight`. The concurrency is the node's `max_concurrency` (else every
 * item at once), capped by `map_concurrency` and by the room left under `inflight`.
 */
export function mapPlan(
  state: RunState,
  items: number,
  maxConcurrency: number | undefined,
): { concurrency: number } | { refused: Refusal } {
  const wanted = maxConcurrency ?? items;
  const quotas = state.quotas;
  if (!quotas) return { concurrency: wanted };
  if (items > quotas.map_items)
    return {
      refused: {
        quota: 'map_items',
        message: quotaMessage('map_items', `${count(quotas.map_items)} items per map`, count(items)),
      },
    };
  const room = quotas.inflight - inflightWork(state);
  const full = room <= 0 ? inflightRefusal(state) : undefined;
  if (full) return { refused: full };
  return { concurrency: Math.max(1, Math.min(wanted, quotas.map_concurrency, room)) };
}
