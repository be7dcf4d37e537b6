/**
 * The faults the harness injects: kill -9 of one process of a role (then its restart), the
 * termination of every PostgreSQL backend on the target's databases, and `all` of it at once.
 * When and whom is drawn from a seeded generator (fast-check's), so a seed replays a schedule.
 */
import fc from 'fast-check';
import pg from 'pg';
import type { ChaosTarget, ManagedProcess, ProcessRole } from './target.js';
import { pause } from '../support/poll.js';

export const FAULT_TYPES = [
  'worker',
  'gateway',
  'dev-server',
  'frontend',
  'history',
  'matching',
  'internal-worker',
  'postgres',
  'all',
] as const;
export type FaultType = (typeof FAULT_TYPES)[number];

/** One fault of a phase: wait `delayMs`, inject it, keep it down `downMs`, restart. */
export interface FaultMoment {
  delayMs: number;
  downMs: number;
  /** Picks the victim among the processes of the role. */
  victim: number;
}

/** The processes a fault type kills (none for `postgres`). */
function victims(target: ChaosTarget, fault: FaultType): ManagedProcess[] {
  if (fault === 'postgres') return [];
  if (fault === 'all') return target.processes.filter((p) => p.role !== 'ui');
  return target.processes.filter((p) => p.role === (fault satisfies ProcessRole));
}

/** Why `fault` cannot run on `target`, or undefined when it can. */
export function unsupported(target: ChaosTarget, fault: FaultType): string | undefined {
  if (fault === 'postgres' || fault === 'all') {
    return target.postgres.databases.length === 0 ? 'the target names no PostgreSQL database' : undefined;
  }
  return victims(target, fault).length === 0 ? `the target has no ${fault} process` : undefined;
}

/** `count` fault moments drawn from `seed`. */
export function faultSchedule(seed: number, count: number): FaultMoment[] {
  const moment = fc.record({
    delayMs: fc.integer({ min: 300, max: 3_000 }),
    downMs: fc.integer({ min: 0, max: 2_000 }),
    victim: fc.nat({ max: 1_000 }),
  });
  // Uniform draws: fast-check's default bias towards small values would pick the same victims.
  return fc.sample(fc.noBias(moment), { seed, numRuns: count });
}

/** Terminates every backend on the target's databases but this one; the count terminated. */
export async function terminateBackends(target: ChaosTarget): Promise<number> {
  const client = new pg.Client({ connectionString: target.postgres.connectionString });
  await client.connect();
  try {
    const result = await client.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid()',
      [target.postgres.databases],
    );
    return result.rowCount ?? 0;
  } finally {
    await client.end();
  }
}

/** Temporal's services come back before the processes that need them. */
const START_ORDER: ProcessRole[] = ['dev-server', 'history', 'matching', 'frontend', 'internal-worker', 'ui'];
const rank = (p: ManagedProcess) => {
  const i = START_ORDER.indexOf(p.role);
  return i === -1 ? START_ORDER.length : i;
};

/** Injects one fault and restarts what it killed; says what it did. */
export async function injectFault(target: ChaosTarget, fault: FaultType, moment: FaultMoment): Promise<string> {
  const all = victims(target, fault);
  const killed = fault === 'all' ? all : all.length === 0 ? [] : [all[moment.victim % all.length] as ManagedProcess];
  // At once: the backends are terminated while the processes die (after, the dead would have none left).
  const [terminated] = await Promise.all([
    fault === 'postgres' || fault === 'all' ? terminateBackends(target) : undefined,
    ...killed.map((p) => p.kill()),
  ]);
  await pause(moment.downMs, 'the time the victims stay down');
  // In rank order: a tier starts once the one before it is ready.
  for (const tier of [...new Set(killed.map(rank))].sort((a, b) => a - b)) {
    await Promise.all(killed.filter((p) => rank(p) === tier).map((p) => p.start()));
  }
  const parts = [];
  if (killed.length > 0) parts.push(`killed ${killed.map((p) => p.name).join(', ')}`);
  if (terminated !== undefined) parts.push(`terminated ${terminated} PostgreSQL backends`);
  return `${parts.join('; ')}; ${killed.length > 0 ? `down ${moment.downMs} ms, restarted` : `then ${moment.downMs} ms`}`;
}
