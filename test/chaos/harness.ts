/**
 * The chaos harness: one phase per fault type. A phase starts `runs` runs through the gateways
 * (staggered, so faults find them at every stage), posts each run's event once the run waits
 * for it, and meanwhile injects its fault at seeded moments until every run of the phase has
 * finished. Then it checks every accepted run: completed, with the right result read through a
 * gateway, and its event received; and counts the HTTP calls each step made beyond the first.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { CALL_STEPS, EVENT_TYPE, answerCall, chaosDefinition, eventPayload, expectedTotal } from './definition.js';
import { FAULT_TYPES, faultSchedule, injectFault, unsupported, type FaultType } from './faults.js';
import { GatewayClient } from './gateway-client.js';
import type { ChaosTarget, ManagedProcess } from './target.js';
import { pause, until, untilTrue } from '../support/poll.js';

export interface ChaosOptions {
  /** Builds the target; its workers must allow egress to `egressAllow` (the harness's HTTP target). */
  target: (egressAllow: string[]) => Promise<ChaosTarget>;
  /** Fault types, one phase each; absent: every one the target has what it needs for. */
  faults?: FaultType[];
  runs: number;
  seed: number;
  /** Faults injected per phase at most. */
  faultsPerPhase: number;
  /** A run of a phase not finished this long after the phase began counts as lost. */
  phaseTimeoutMs: number;
  log: (message: string) => void;
}

export interface PhaseReport {
  fault: FaultType;
  /** Starts answered 201/200. */
  accepted: number;
  /** Starts that never got an accepting answer in time (not a loss: nothing was accepted). */
  notAccepted: number;
  completed: number;
  /** Completed with another result, failed, or cancelled. */
  wrong: number;
  /** Accepted but not completed when the phase timed out. */
  lost: number;
  eventsAccepted: number;
  eventsLost: number;
  /** HTTP calls beyond the first per (run, step). */
  duplicateCalls: number;
  faultsInjected: number;
  /** Requests the harness sent again during the phase, by why (see `GatewayClient.resent`). */
  resent: GatewayClient['resent'];
  /** Processes found dead after the phase that no fault had killed (restarted). */
  crashed: string[];
  problems: string[];
  seconds: number;
}

interface RunOutcome {
  accepted: boolean;
  eventAccepted: boolean;
  status: 'completed' | 'wrong' | 'lost' | 'not-accepted';
  eventReceived: boolean;
  problem?: string;
}

/** Drives one run: start, event once it waits, result. */
async function driveRun(
  client: GatewayClient,
  definitionId: string,
  key: string,
  n: number,
  deadline: number,
): Promise<RunOutcome> {
  const outcome: RunOutcome = { accepted: false, eventAccepted: false, status: 'not-accepted', eventReceived: false };
  const started = await client.send(
    'POST',
    `/v1/definitions/${definitionId}/runs`,
    { run_id: key, input: { key, n } },
    deadline,
  );
  if (!started || (started.status !== 201 && started.status !== 200)) {
    if (started) outcome.problem = `${key}: start answered ${started.status} ${JSON.stringify(started.body)}`;
    return outcome;
  }
  outcome.accepted = true;
  outcome.status = 'lost';
  // The event goes in once the run waits for it (a run waits only after the timer).
  const waited = await untilTrue(
    `${key} to wait for its event`,
    async () => {
      const state = await client.send('GET', `/v1/runs/${key}`, undefined, deadline);
      const paid = state?.status === 200 ? state.body?.nodes?.paid?.status : undefined;
      if (paid === 'waiting') return true;
      return state?.status === 200 && ['completed', 'failed', 'cancelled'].includes(state.body?.status);
    },
    Math.max(0, deadline - Date.now()),
    500,
  ).then(
    () => true,
    () => false,
  );
  if (!waited) return { ...outcome, problem: `${key}: never waited for its event` };
  const payload = eventPayload(n);
  const event = await client.send(
    'POST',
    '/v1/events',
    { event_type: EVENT_TYPE, correlation_key: key, payload, event_id: `evt-${key}` },
    deadline,
  );
  outcome.eventAccepted = event?.status === 202;
  if (!outcome.eventAccepted) outcome.problem = `${key}: event answered ${event?.status ?? 'nothing in time'}`;
  // A long poll: asked again at once while it answers "running", after 500 ms when it fails.
  const result = await until(
    `${key} to finish`,
    async () => {
      const answer = await client.send('GET', `/v1/runs/${key}/result?wait=true`, undefined, deadline, 75_000);
      if (answer?.status === 200 && answer.body?.status !== 'running') return answer;
      if (answer?.status !== 200) await pause(500, 'before asking a failed long poll again');
      return undefined;
    },
    Math.max(0, deadline - Date.now()),
    0,
  ).catch(() => undefined);
  if (!result) return { ...outcome, problem: outcome.problem ?? `${key}: not finished in time` };
  const total = result.body?.result?.total;
  if (result.body.status === 'completed' && total === expectedTotal(n)) {
    outcome.status = 'completed';
  } else {
    outcome.status = 'wrong';
    outcome.problem = `${key}: ${result.body.status}, total ${total} instead of ${expectedTotal(n)} ${JSON.stringify(result.body.error ?? '')}`;
  }
  // Did the event reach the run? Its `paid` node holds the payload.
  const state = await client.send('GET', `/v1/runs/${key}`, undefined, deadline + 60_000);
  outcome.eventReceived = state?.status === 200 && state.body?.nodes?.paid?.output?.amount === payload.amount;
  return outcome;
}

/** Calls beyond the first per (run, step), over the runs of `keys`. */
function duplicates(target: HttpTarget, keys: Set<string>): number {
  const counts = new Map<string, number>();
  for (const req of target.requests) {
    const run = req.query.run;
    if (req.path !== '/call' || run === undefined || !keys.has(run)) continue;
    const slot = `${run}/${req.query.step}`;
    counts.set(slot, (counts.get(slot) ?? 0) + 1);
  }
  let extra = 0;
  for (const key of keys) for (const step of CALL_STEPS) extra += Math.max(0, (counts.get(`${key}/${step}`) ?? 0) - 1);
  return extra;
}

async function runPhase(
  options: ChaosOptions,
  target: ChaosTarget,
  http: HttpTarget,
  client: GatewayClient,
  definitionId: string,
  nonce: string,
  fault: FaultType,
  index: number,
): Promise<PhaseReport> {
  const began = Date.now();
  const resentBefore = { ...client.resent };
  const deadline = began + options.phaseTimeoutMs;
  const phaseSeed = options.seed * 1_000 + index;
  // Starts arrive spread out (0.1 to 0.6 s apart), so a fault meets runs at every stage.
  const gaps = fc.sample(fc.noBias(fc.integer({ min: 100, max: 600 })), { seed: phaseSeed, numRuns: options.runs });
  const keys = Array.from({ length: options.runs }, (_, i) => `chaos-${nonce}-${fault}-${i + 1}`);
  let finished = false;
  const drivers = (async () => {
    const runs: Array<Promise<RunOutcome>> = [];
    for (const [i, key] of keys.entries()) {
      runs.push(driveRun(client, definitionId, key, i + 1, deadline));
      await pause(gaps[i] ?? 0, 'starts spread out');
    }
    return Promise.all(runs);
  })().finally(() => (finished = true));

  let faultsInjected = 0;
  const faulting = (async () => {
    for (const moment of faultSchedule(phaseSeed, options.faultsPerPhase)) {
      await pause(moment.delayMs, 'the fault schedule');
      // The first fault always lands (a short phase may be over by then); the others only while runs go on.
      if (finished && faultsInjected > 0) return;
      const what = await injectFault(target, fault, moment);
      faultsInjected++;
      options.log(`[${fault}] fault ${faultsInjected}: ${what}`);
    }
  })();
  const [outcomes] = await Promise.all([drivers, faulting]);

  const crashed = await restartDead(target.processes);
  const count = (status: RunOutcome['status']) => outcomes.filter((o) => o.status === status).length;
  return {
    fault,
    accepted: outcomes.filter((o) => o.accepted).length,
    notAccepted: count('not-accepted'),
    completed: count('completed'),
    wrong: count('wrong'),
    lost: count('lost'),
    eventsAccepted: outcomes.filter((o) => o.eventAccepted).length,
    eventsLost: outcomes.filter((o) => o.eventAccepted && !o.eventReceived).length,
    duplicateCalls: duplicates(http, new Set(keys)),
    faultsInjected,
    resent: {
      unanswered: client.resent.unanswered - resentBefore.unanswered,
      limited: client.resent.limited - resentBefore.limited,
      serverErrors: client.resent.serverErrors - resentBefore.serverErrors,
    },
    crashed,
    problems: outcomes.flatMap((o) => (o.problem ? [o.problem] : [])),
    seconds: Math.round((Date.now() - began) / 1000),
  };
}

/** Restarts processes that died with no fault killing them; their names. */
async function restartDead(processes: ManagedProcess[]): Promise<string[]> {
  const dead = processes.filter((p) => p.role !== 'dev-server' && p.pid() !== undefined && !alive(p.pid() as number));
  for (const p of dead) await p.start();
  return dead.map((p) => p.name);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The fault types asked for, each checked against the target; by default every one it supports. */
function chooseFaults(target: ChaosTarget, asked: FaultType[] | undefined): FaultType[] {
  if (!asked) return FAULT_TYPES.filter((f) => !unsupported(target, f));
  const refused = asked.flatMap((f) => {
    const why = unsupported(target, f);
    return why ? [`${f}: ${why}`] : [];
  });
  if (refused.length > 0) throw new Error(`--faults: ${refused.join('; ')}`);
  return asked;
}

/** Runs every phase against a fresh target; the reports, one per fault type. */
export async function runChaos(options: ChaosOptions): Promise<PhaseReport[]> {
  const http = await startHttpTarget({ '/call': answerCall });
  const { host } = new URL(http.url);
  let target: ChaosTarget | undefined;
  try {
    target = await options.target([host]);
    const faults = chooseFaults(target, options.faults);
    const client = new GatewayClient(target.gateways);
    const nonce = randomBytes(3).toString('hex');
    const definitionId = `chaos-${nonce}`;
    const submitted = await client.send(
      'POST',
      '/v1/definitions',
      chaosDefinition(definitionId, http.url),
      Date.now() + 120_000,
    );
    if (submitted?.status !== 201) throw new Error(`the chaos definition was refused: ${JSON.stringify(submitted)}`);
    const reports: PhaseReport[] = [];
    for (const [index, fault] of faults.entries()) {
      options.log(`[${fault}] ${options.runs} runs, up to ${options.faultsPerPhase} faults`);
      const report = await runPhase(options, target, http, client, definitionId, nonce, fault, index);
      options.log(`[${fault}] done in ${report.seconds} s`);
      reports.push(report);
    }
    return reports;
  } finally {
    await target?.close();
    await http.close();
  }
}
