/**
 * Graph fuzzing, the generator: fast-check draws a random *plan* (a structured program of
 * steps) and `compile` turns it into a definition of the language, with the facts the checks
 * need (which nodes lie on a branch not taken, loop counts, retry bounds). graph-fuzz-run.ts
 * runs the definitions on the dev server, replays them and checks the invariants.
 *
 * The plan is plain JSON and holds no ports, so a failing seed's plan can be pasted into a
 * regression test as is: `compile(plan, env)` rebuilds the same definition against that test's
 * local HTTP target.
 */
import type { ServerResponse } from 'node:http';
import fc from 'fast-check';
import type { FakeRequest, FakeAnswer } from './fake-openai.js';
import { json, type RecordedRequest } from './http-target.js';

// ---------------------------------------------------------------------------------------------
// Plans: what the generator draws. Every leaf says how it behaves (HTTP status and delay of the
// local target, the model's answer, the harness's decision), so the outcome is decided by the
// plan, not by timing.
// ---------------------------------------------------------------------------------------------

export type Leaf =
  | { kind: 'set' }
  /** An `http` task against the local target: `status` for the first `fail_first` calls, then 200. */
  | { kind: 'task'; status: number; fail_first: number; delay_ms: number; max_attempts: number; compensation: boolean }
  /** An `ai` node against the fake OpenAI server: `fail` answers 500 to every attempt. */
  | { kind: 'ai'; fail: boolean; max_attempts: number }
  | { kind: 'wait'; ms: number }
  /** An `event` node the harness answers (Update `deliver_event`) once it waits. */
  | { kind: 'event' }
  /** An `approval` node the harness decides once it waits: a rejection fails it with `Rejected`. */
  | { kind: 'approval'; approve: boolean }
  /** A `subworkflow` child: one of the stored children (`CHILDREN`). */
  | { kind: 'subworkflow'; child: keyof typeof CHILDREN }
  | { kind: 'map'; items: number; body: 'task' | 'ai' | 'subworkflow'; max_concurrency: number | null };

export type Step =
  | Leaf
  /** Branches run in parallel from one split, then a join (`mode`; `n` of the branches for "n"). */
  | { kind: 'parallel'; branches: Step[][]; mode: 'all' | 'any' | 'n'; n: number }
  /** A condition on a variable whose default the plan fixes, so the branch taken is known. */
  | { kind: 'if'; flag: boolean; then: Step[]; else: Step[] }
  /** A guarded cycle: the body (leaves only) runs `times` times, counted in a variable. */
  | { kind: 'loop'; times: number; body: Leaf[] }
  /** A leaf with an `on: "error"` edge to a handler node; both paths meet at a join. */
  | { kind: 'try'; body: Leaf; merge: 'all' | 'any' };

export type HandlerAction = 'none' | 'retry' | 'compensate' | 'terminate' | 'continue' | 'goto';

export interface Plan {
  steps: Step[];
  /** One definition-level error handler matching every node (or none). */
  handler: HandlerAction;
  /** An `end` node after the last step. */
  end: null | 'completed' | 'failed';
}

/** The child definitions the `subworkflow` leaves and map bodies call (stored before the runs). */
export const CHILDREN = {
  'fuzz-child-ok': {
    id: 'fuzz-child-ok',
    nodes: [
      { id: 'work', type: 'set', assign: { done: 'true' } },
      { id: 'nap', type: 'wait', duration: '20ms' },
    ],
    edges: [{ from: 'work', to: 'nap' }],
  },
  'fuzz-child-fail': {
    id: 'fuzz-child-fail',
    nodes: [{ id: 'stop', type: 'end', status: 'failed', message: 'the child fails on purpose' }],
  },
} as const;

/** The model name the fuzz definitions use; the worker maps it (`activityDeps.ai.models`). */
export const FUZZ_MODEL = 'fuzz-model';

/**
 * Leaves. A `risky` leaf (the body of a `try`, whose failure an error edge catches) fails often;
 * elsewhere failures are rare (1 in 8 or so per leaf), so most runs complete and the checks on
 * completed runs get to look, while the error handlers still see uncaught failures.
 */
function leafArb(risky: boolean): fc.Arbitrary<Leaf> {
  const rarely = <T>(usual: T, rare: T) =>
    fc.constantFrom(...(risky ? [usual, rare] : [usual, usual, usual, usual, usual, usual, usual, rare]));
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant<Leaf>({ kind: 'set' }) },
    {
      weight: 4,
      arbitrary: fc
        .record({
          kind: fc.constant('task' as const),
          status: fc.constantFrom(200, 500, 500, 404),
          fail_first: fc.integer({ min: 0, max: 3 }),
          delay_ms: fc.constantFrom(0, 0, 20, 150),
          max_attempts: fc.integer({ min: 1, max: 3 }),
          compensation: fc.boolean(),
          fails: rarely(false, true),
        })
        // A task that should not fail gets fewer failing answers than attempts, and no 404 (not retried).
        .map(({ fails, ...task }) =>
          fails || task.status === 200
            ? task
            : { ...task, status: 500, fail_first: Math.min(task.fail_first, task.max_attempts - 1) },
        ),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('ai' as const),
        fail: rarely(false, true),
        max_attempts: fc.integer({ min: 1, max: 2 }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.constantFrom(1, 10, 100) }) },
    { weight: 1, arbitrary: fc.constant<Leaf>({ kind: 'event' }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('approval' as const), approve: rarely(true, false) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('subworkflow' as const),
        child: rarely<keyof typeof CHILDREN>('fuzz-child-ok', 'fuzz-child-fail'),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('map' as const),
        items: fc.integer({ min: 0, max: 4 }),
        body: fc.constantFrom('task' as const, 'ai' as const, 'subworkflow' as const),
        max_concurrency: fc.option(fc.integer({ min: 1, max: 3 }), { nil: null }),
      }),
    },
  );
}

/** Leaves inside loops: no waits for the harness (an event or approval per iteration would be slow, not different). */
const loopLeafArb = leafArb(false).filter((l) => l.kind !== 'event' && l.kind !== 'approval' && l.kind !== 'map');

/** A step nested up to `depth` deep: leaves, parallel splits, conditions, loops (in branches too) and try blocks. */
function stepArb(depth: number): fc.Arbitrary<Step> {
  if (depth <= 0) return leafArb(false);
  const block = fc.array(stepArb(depth - 1), { minLength: 1, maxLength: 2 });
  const loop: fc.Arbitrary<Step> = fc.record({
    kind: fc.constant('loop' as const),
    times: fc.integer({ min: 1, max: 3 }),
    body: fc.array(loopLeafArb, { minLength: 1, maxLength: 2 }),
  });
  return fc.oneof(
    { weight: 5, arbitrary: leafArb(false) },
    {
      weight: 2,
      arbitrary: fc
        .record({
          kind: fc.constant('parallel' as const),
          branches: fc.array(block, { minLength: 2, maxLength: 3 }),
          mode: fc.constantFrom('all' as const, 'any' as const, 'n' as const),
          n: fc.integer({ min: 1, max: 3 }),
        })
        .map((p) => ({ ...p, n: Math.min(p.n, p.branches.length) })),
    },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('if' as const), flag: fc.boolean(), then: block, else: block }),
    },
    { weight: 1, arbitrary: loop },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('try' as const),
        body: leafArb(true).filter((l) => l.kind !== 'set' && l.kind !== 'wait'),
        merge: fc.constantFrom('all' as const, 'any' as const),
      }),
    },
  );
}

/** The plans the fuzzer draws: up to 4 top-level steps nested 2 deep. */
export const planArb: fc.Arbitrary<Plan> = fc.record({
  steps: fc.array(stepArb(2), { minLength: 1, maxLength: 4 }),
  handler: fc.constantFrom<HandlerAction>('none', 'none', 'retry', 'compensate', 'terminate', 'continue', 'goto'),
  end: fc.constantFrom(null, null, null, 'completed' as const, 'failed' as const),
});

// ---------------------------------------------------------------------------------------------
// Compiling a plan into a definition, with what the checks need to know about it.
// ---------------------------------------------------------------------------------------------

export interface FuzzEnv {
  /** Base URL of the local HTTP target serving `fuzzRoutes()`. */
  target: string;
  /** Makes event types and the target's counters unique to this case. */
  caseId: string;
}

export interface NodeFacts {
  type: string;
  /** On a branch the plan's conditions do not take: must never run. */
  dead: boolean;
  /** How many times its loop runs it (1 outside loops). */
  visits: number;
  /** Attempts one execution may make (retry policy), for task and ai nodes and map items. */
  attempts?: number;
  /** Items of a map node. */
  items?: number;
  /** The joins' modes, and how many branches arrive. */
  join?: { mode: 'all' | 'any' | 'n'; n?: number; incoming: number };
  /** The harness answers it: an event, or an approval with this decision. */
  answer?: { event_type: string } | { approved: boolean };
}

export interface Compiled {
  definition: Record<string, unknown>;
  facts: Record<string, NodeFacts>;
  /** Loop bodies: the nodes a guarded cycle runs, and how often. */
  loops: Array<{ nodes: string[]; times: number }>;
}

interface Exit {
  from: string;
  when?: string;
  default?: boolean;
}

/** Builds a definition from a plan. Pure: the same plan and env give the same definition. */
export function compile(plan: Plan, env: FuzzEnv): Compiled {
  const nodes: Array<Record<string, unknown>> = [];
  const edges: Array<Record<string, unknown>> = [];
  const variables: Array<Record<string, unknown>> = [];
  const facts: Record<string, NodeFacts> = {};
  const loops: Compiled['loops'] = [];
  let seq = 0;
  const id = (prefix: string) => `${prefix}${++seq}`;
  const key = (node: string) => encodeURIComponent(`${env.caseId}.${node}`);

  const add = (node: Record<string, unknown>, fact: Omit<NodeFacts, 'type'>, from: Exit[]): string => {
    nodes.push(node);
    facts[node.id as string] = { type: node.type as string, ...fact };
    for (const exit of from) edges.push({ ...exit, to: node.id });
    return node.id as string;
  };
  const taskBody = (node: string, leaf: Extract<Leaf, { kind: 'task' }>) => ({
    connector: 'http',
    action: 'request',
    inputs: {
      url: `${env.target}/fuzz?status=${leaf.status}&fail_first=${leaf.fail_first}&delay=${leaf.delay_ms}&key=${key(node)}`,
    },
    timeout: '20s',
    retry_policy: { max_attempts: leaf.max_attempts, initial_interval: '50ms', backoff_coefficient: 1 },
  });
  const aiBody = (fail: boolean, max_attempts: number, prompt: string) => ({
    model: FUZZ_MODEL,
    prompt_template: `${prompt} answer:${fail ? 'fail' : 'ok'}`,
    timeout: '20s',
    retry_policy: { max_attempts, initial_interval: '50ms', backoff_coefficient: 1 },
  });

  function leaf(l: Leaf, from: Exit[], dead: boolean, visits: number): string {
    switch (l.kind) {
      case 'set': {
        const n = id('set');
        return add({ id: n, type: 'set', assign: { [`v_${n}`]: `${seq}` } }, { dead, visits }, from);
      }
      case 'task': {
        const n = id('task');
        const compensation = l.compensation
          ? {
              compensation: {
                connector: 'http',
                action: 'request',
                inputs: { url: `${env.target}/undo?key=${key(n)}` },
              },
            }
          : {};
        return add(
          { id: n, type: 'task', output: `out_${n}`, ...taskBody(n, l), ...compensation },
          { dead, visits, attempts: l.max_attempts },
          from,
        );
      }
      case 'ai': {
        const n = id('ai');
        return add(
          { id: n, type: 'ai', output: `out_${n}`, ...aiBody(l.fail, l.max_attempts, `step ${n}`) },
          { dead, visits, attempts: l.max_attempts },
          from,
        );
      }
      case 'wait': {
        const n = id('wait');
        return add({ id: n, type: 'wait', duration: `${l.ms}ms` }, { dead, visits }, from);
      }
      case 'event': {
        const n = id('event');
        const event_type = `fuzz.${env.caseId}.${n}`;
        return add(
          { id: n, type: 'event', event_type, correlation_key: 'null', output: `out_${n}` },
          { dead, visits, answer: { event_type } },
          from,
        );
      }
      case 'approval': {
        const n = id('approval');
        return add(
          { id: n, type: 'approval', output: `out_${n}` },
          { dead, visits, answer: { approved: l.approve } },
          from,
        );
      }
      case 'subworkflow': {
        const n = id('sub');
        return add({ id: n, type: 'subworkflow', definition: l.child, inputs: {} }, { dead, visits }, from);
      }
      case 'map': {
        const n = id('map');
        const items = JSON.stringify(Array.from({ length: l.items }, (_, i) => i));
        const body =
          l.body === 'task'
            ? {
                task: {
                  ...taskBody(n, {
                    kind: 'task',
                    status: 200,
                    fail_first: 0,
                    delay_ms: 10,
                    max_attempts: 2,
                    compensation: false,
                  }),
                },
              }
            : l.body === 'ai'
              ? { ai: aiBody(false, 2, 'item {{ item }}') }
              : { subworkflow: { definition: 'fuzz-child-ok', inputs: {} } };
        return add(
          {
            id: n,
            type: 'map',
            items,
            output: `out_${n}`,
            ...body,
            ...(l.max_concurrency === null ? {} : { max_concurrency: l.max_concurrency }),
          },
          { dead, visits, items: l.items, ...(l.body === 'subworkflow' ? {} : { attempts: 2 }) },
          from,
        );
      }
    }
  }

  function join(mode: 'all' | 'any' | 'n', n: number | undefined, from: Exit[], dead: boolean): string {
    const j = id('join');
    return add(
      { id: j, type: 'join', mode, ...(mode === 'n' ? { n } : {}) },
      { dead, visits: 1, join: { mode, ...(mode === 'n' ? { n } : {}), incoming: from.length } },
      from,
    );
  }

  function block(steps: Step[], from: Exit[], dead: boolean): Exit[] {
    let exits = from;
    for (const s of steps) exits = step(s, exits, dead);
    return exits;
  }

  function step(s: Step, from: Exit[], dead: boolean): Exit[] {
    switch (s.kind) {
      case 'parallel': {
        const ends = s.branches.flatMap((b) => block(b, from, dead));
        return [{ from: join(s.mode, s.mode === 'n' ? s.n : undefined, ends, dead) }];
      }
      case 'if': {
        const flag = id('flag');
        variables.push({ name: flag, type: 'boolean', default: s.flag });
        const c = add({ id: id('cond'), type: 'condition', expression: `vars.${flag}` }, { dead, visits: 1 }, from);
        // Each branch opens with a set node, so the edge carrying `when`/`default` has one target.
        const thenEnds = block(
          [{ kind: 'set' }, ...s.then],
          [{ from: c, when: `vars.${flag} = true` }],
          dead || !s.flag,
        );
        const elseEnds = block([{ kind: 'set' }, ...s.else], [{ from: c, default: true }], dead || s.flag);
        return [{ from: join('all', undefined, [...thenEnds, ...elseEnds], dead) }];
      }
      case 'loop': {
        const counter = id('i');
        variables.push({ name: counter, type: 'number', default: 0 });
        const init = add({ id: id('init'), type: 'set', assign: { [counter]: '0' } }, { dead, visits: 1 }, from);
        const body: string[] = [];
        let exits: Exit[] = [{ from: init }];
        for (const l of s.body) {
          const n = leaf(l, exits, dead, s.times);
          body.push(n);
          exits = [{ from: n }];
        }
        const inc = add(
          { id: id('inc'), type: 'set', assign: { [counter]: `vars.${counter} + 1` } },
          { dead, visits: s.times },
          exits,
        );
        body.push(inc);
        const check = add(
          { id: id('check'), type: 'condition', expression: `vars.${counter} < ${s.times}` },
          { dead, visits: s.times },
          [{ from: inc }],
        );
        body.push(check);
        edges.push({ from: check, to: body[0], when: `vars.${counter} < ${s.times}` });
        if (!dead) loops.push({ nodes: body, times: s.times });
        const done = add(
          { id: id('done'), type: 'set', assign: { [`v_${counter}_done`]: 'true' } },
          { dead, visits: 1 },
          [{ from: check, default: true }],
        );
        return [{ from: done }];
      }
      case 'try': {
        const body = leaf(s.body, from, dead, 1);
        const h = id('handled');
        nodes.push({ id: h, type: 'set', assign: { [`err_${h}`]: 'error.type' } });
        facts[h] = { type: 'set', dead, visits: 1 };
        edges.push({ from: body, to: h, on: 'error' });
        return [{ from: join(s.merge, undefined, [{ from: body }, { from: h }], dead) }];
      }
      default:
        return [{ from: leaf(s, from, dead, 1) }];
    }
  }

  const last = block(plan.steps, [], false);
  const finish = add({ id: 'finish', type: 'set', assign: { finished: 'true' } }, { dead: false, visits: 1 }, last);
  if (plan.end) {
    add(
      {
        id: 'stop',
        type: 'end',
        status: plan.end,
        result: '{"finished": vars.finished}',
        message: 'the plan ends here',
      },
      { dead: false, visits: 1 },
      [{ from: finish }],
    );
  }
  const handlers =
    plan.handler === 'none'
      ? []
      : [
          {
            id: 'any-failure',
            action: plan.handler,
            ...(plan.handler === 'retry' ? { retry_policy: { max_attempts: 1, initial_interval: '50ms' } } : {}),
            ...(plan.handler === 'goto' ? { target: 'finish' } : {}),
          },
        ];
  const definition = {
    id: `fuzz-${env.caseId}`.toLowerCase().slice(0, 64),
    variables,
    nodes,
    edges,
    error_handlers: handlers,
  };
  return { definition, facts, loops };
}

// ---------------------------------------------------------------------------------------------
// The local services' behaviour the plans choose.
// ---------------------------------------------------------------------------------------------

/** Routes for `startHttpTarget`: `/fuzz` answers `status` to the first `fail_first` calls per key, then 200. */
export function fuzzRoutes(): Record<string, (req: RecordedRequest, res: ServerResponse) => void> {
  const calls = new Map<string, number>();
  return {
    '/fuzz': (req, res) => {
      const k = req.query.key ?? '';
      const nth = (calls.get(k) ?? 0) + 1;
      calls.set(k, nth);
      const status = nth <= Number(req.query.fail_first ?? 0) ? Number(req.query.status ?? 200) : 200;
      setTimeout(() => json(res, status, { nth, key: k }), Number(req.query.delay ?? 0));
    },
    '/undo': (_req, res) => json(res, 200, { undone: true }),
  };
}

/** The fake model's answer: a 500 for prompts that ask for a failure, else a short text. */
export function fuzzModelAnswer(request: FakeRequest): FakeAnswer {
  const prompt = String(request.body?.messages?.at(-1)?.content ?? '');
  return prompt.includes('answer:fail') ? { status: 500 } : { content: `ok: ${prompt.slice(0, 40)}` };
}

/** The plans of one profile: fast-check's sample for a seed, so a seed reproduces them all. */
export function fuzzPlans(seed: number, runs: number): Plan[] {
  return fc.sample(planArb, { seed, numRuns: runs });
}
