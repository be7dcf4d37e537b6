/**
 * The work budget of one JSONata evaluation. Expressions run inside Temporal's workflow
 * sandbox, where a slow one blocks the worker's only thread and the clock does not move, so
 * the budget is counted, never timed: every evaluated term is a step, and so is every
 * {@link EXPRESSION_LIMITS}.unitsPerStep characters or items of data an operator or function
 * handles. The count is a pure function of the expression and its input, so replay fails at the
 * same point the original run did.
 */
import { RE2JS } from 're2js';

/**
 * Bounds on one evaluation, so a hostile or careless expression fails its node instead of
 * hanging the worker. Documented in the README.
 * - `depth`: nesting of evaluation (recursion);
 * - `sequence`: items in any sequence JSONata builds;
 * - `steps`: evaluation steps on JSONata's own (slow) path, data handled included;
 * - `unitsPerStep`: characters or items handed to a function or operator that count as a step;
 * - `resultBytes`: size of a result, as JSON;
 * - `textLength`: longest string `$pad` and `$join` may build;
 * - `regexInput`: longest string a regular expression is matched against;
 * - `regexUnitsPerStep`: a regular-expression search over n characters costs n² / this many steps,
 *   since a backtracking search may retry at every position (runs started before the linear-time
 *   engine, which replay with V8's backtracking RegExp);
 * - `linearRegexUnitsPerStep`: with the linear-time engine (RE2), a search in a string of n
 *   characters with a pattern compiled to p instructions costs n·p / this many steps, at least
 *   one (re2js reads the whole string for every search, wherever the search starts: measured);
 * - `dateText`: longest timestamp `$toMillis` parses against a picture (its parser is a
 *   regular expression that can take cubic time).
 */
export const EXPRESSION_LIMITS = {
  depth: 200,
  sequence: 100_000,
  steps: 5_000,
  unitsPerStep: 1_000,
  resultBytes: 1_000_000,
  textLength: 1_000_000,
  regexInput: 10_000,
  regexUnitsPerStep: 25_000,
  linearRegexUnitsPerStep: 5_000,
  dateText: 200,
} as const;

/**
 * Work one engine step may do before it lets the workflow activation end. A loop of costly but
 * individually bounded expressions (or a very long loop of cheap ones) never ends an activation
 * by itself, and the workflow sandbox kills activations after a few seconds. Units: a node
 * activation or a fast-path evaluation is one (about 7 µs in the sandbox); a slow-path step is
 * `slowStepUnits` (JSONata's evaluator awaits at every step, and promises are costly in the
 * sandbox: about 250 µs a step, measured). Past `units` (about 0.5 s) the engine parks what is
 * left and resumes it after a `pauseMs` durable timer, in a new activation; a node whose
 * expressions pass `nodeUnits` (about 1.5 s) fails with ExpressionError, since a node cannot be
 * paused half-way. Counted, never timed, so replay pauses and fails at the same points.
 */
export const ACTIVATION_LIMITS = { units: 100_000, nodeUnits: 300_000, slowStepUnits: 50, pauseMs: 1 } as const;

/**
 * Evaluation slices (runs started since the workflow's `weft-expression-slices` patch). The
 * sandbox's limit must hold by construction on a slow or loaded host, not by calibrating
 * ACTIVATION_LIMITS: every `units` work units (200 slow-path steps: about 50 ms at the measured
 * 250 µs a step, 200 ms at 1 ms a step) the run yields on a durable `pauseMs` timer, also in the
 * middle of one JSONata evaluation (JSONata awaits its per-step hook, so an evaluation can be
 * suspended there and resumed in the next activation). Yielding is counted, never timed, so
 * replay yields at the same points. Since a node can now pause half-way, it may use up to
 * `nodeUnits` (40,000 slow-path steps) before it fails with ExpressionError. A built-in call cannot
 * pause half-way: one whose regular-expression searches pass `callUnits` fails.
 */
export const SLICE_LIMITS = { units: 10_000, callUnits: 30_000, nodeUnits: 2_000_000 } as const;

/**
 * Segments (runs since the workflow's `weft-bounded-segments` patch). Slices bound one
 * activation, but a worker that lost a run from its cache replays, in ONE workflow task, every
 * activation since the run's last continue-as-new, against Temporal's 10 s workflow-task
 * timeout. So the counted work of one workflow execution is bounded too: once a run has done
 * `units` work units (10 slices, 2,000 slow-path steps) the engine hands back at the next slice
 * boundary, starts no new work, lets what is in flight end, and continues as new with its state.
 * A node cannot continue as new half-way, so in such runs one node fails past `nodeUnits`
 * (5,000 slow-path steps, one expression's whole step budget) instead of SLICE_LIMITS.nodeUnits.
 * The bound of one segment is then `units` + `nodeUnits` + what the completions of the work in
 * flight at that moment evaluate (each hands back at once). Counted, never timed.
 */
export const SEGMENT_LIMITS = { units: 100_000, nodeUnits: 250_000 } as const;

/**
 * How a run's evaluations are carried out, set by the workflow (the interpreter never imports
 * Temporal). Without settings — in the gateway and activities — evaluations use the linear-time
 * regular-expression engine and are not sliced.
 */
export interface EvaluationSettings {
  /** Runs started before the linear-time engine: V8's backtracking RegExp, charged as before. */
  legacyRegex?: boolean;
  /** Slicing (see {@link SLICE_LIMITS}); absent for runs started before it. */
  slices?: Slices;
}

export interface Slices {
  /** Work units since the run last yielded. Only {@link yieldSlice} sets it back to 0. */
  used: number;
  /** Ends the current activation: the workflow's durable 1 ms sleep (or, in the gateway, a macrotask). */
  pause: () => Promise<void>;
  /** Whether messages (control actions, events) wait to be handled: the engine then hands back instead of pausing. */
  waiting?: () => boolean;
  /** Work units of earlier slices of this workflow execution (see {@link SEGMENT_LIMITS}). */
  spent?: number;
  /**
   * Whether this run bounds its segments ({@link SEGMENT_LIMITS}): the workflow's patch check,
   * asked only once a bound is passed. Absent outside workflows and for runs before the patch.
   */
  bounded?: () => boolean;
}

/** Yields now: the pause ends the activation, so the count starts again. */
export async function yieldSlice(slices: Slices): Promise<void> {
  slices.spent = (slices.spent ?? 0) + slices.used;
  slices.used = 0;
  await slices.pause();
}

/** Whether this workflow execution has done its segment's work: it must hand back and continue as new. */
export function segmentFull(slices: Slices | undefined): boolean {
  if (!slices?.bounded || (slices.spent ?? 0) + slices.used < SEGMENT_LIMITS.units) return false;
  return slices.bounded();
}

/** The node limit `units` of one node's work passed, if any: SLICE_LIMITS', or SEGMENT_LIMITS' in bounded runs. */
export function nodeLimitPassed(units: number, slices: Slices): number | undefined {
  if (units > SLICE_LIMITS.nodeUnits) return SLICE_LIMITS.nodeUnits;
  if (units > SEGMENT_LIMITS.nodeUnits && slices.bounded?.()) return SEGMENT_LIMITS.nodeUnits;
  return undefined;
}

/** Where the expressions evaluated in a context charge their work (see {@link ACTIVATION_LIMITS}). */
export const WORK_METER = Symbol.for('weft.work-meter');

export interface WorkMeter {
  units: number;
  /** `units` when the current node's activation began (a node may use `nodeUnits` from there). */
  nodeStart: number;
  /** The run's evaluation settings, if any. */
  settings?: EvaluationSettings;
}

/** The meter a context carries, if any. */
export function meterOf(context: unknown): WorkMeter | undefined {
  if (!context || typeof context !== 'object') return undefined;
  return (context as { [WORK_METER]?: WorkMeter })[WORK_METER];
}

/** Charges `units` to the meter a context carries, if any; returns what the current node has used. */
export function charge(context: unknown, units: number): number {
  const meter = meterOf(context);
  if (!meter) return 0;
  meter.units += units;
  const slices = meter.settings?.slices;
  if (slices) slices.used += units;
  return meter.units - meter.nodeStart;
}

/** JSONata calls the function bound to this symbol after evaluating every AST node. */
export const EVALUATE_EXIT = Symbol.for('jsonata.__evaluate_exit');

/** A JSONata built-in (`{ _jsonata_function, implementation }`). */
export interface JsonataBuiltin {
  _jsonata_function: true;
  implementation: (...args: unknown[]) => unknown;
}

/**
 * Whether a value is a function rather than data: a JavaScript function, a JSONata built-in or
 * a JSONata lambda. Plain data that merely carries JSONata's marker fields is still data.
 */
export function isCallable(value: unknown): boolean {
  if (typeof value === 'function') return true;
  if (!value || typeof value !== 'object') return false;
  const v = value as { _jsonata_function?: unknown; implementation?: unknown; _jsonata_lambda?: unknown };
  return (
    (v._jsonata_function === true && typeof v.implementation === 'function') ||
    (v._jsonata_lambda === true &&
      typeof (value as { environment?: { lookup?: unknown } }).environment?.lookup === 'function')
  );
}

const isContainer = (value: unknown): value is object =>
  value !== null && typeof value === 'object' && !isCallable(value);

/**
 * The size of a value in units: characters of strings and keys, plus one per array item,
 * object, number, boolean or null. Counted as a tree (a value referenced twice counts twice,
 * which is what serialising or comparing it costs), remembering the size of every object seen
 * so a shared one is walked once. Stops and returns a number above `cap` as soon as the size
 * passes it, so a value built to be exponentially large is never walked in full. Iterative,
 * because data can nest deeper than the stack.
 */
export function measure(root: unknown, sizes: WeakMap<object, number>, cap: number): number {
  if (typeof root === 'string') return root.length;
  if (!isContainer(root)) return 1;
  const known = sizes.get(root);
  if (known !== undefined) return known;
  interface Frame {
    value: object;
    children: unknown[];
    next: number;
    total: number;
  }
  const onPath = new Set<object>();
  const open = (value: object): Frame => {
    onPath.add(value);
    if (Array.isArray(value)) return { value, children: value, next: 0, total: 1 };
    const keys = Object.keys(value);
    const total = 1 + keys.reduce((sum, key) => sum + key.length, 0);
    return { value, children: keys.map((key) => (value as Record<string, unknown>)[key]), next: 0, total };
  };
  const stack: Frame[] = [open(root)];
  let running = (stack[0] as Frame).total;
  while (running <= cap) {
    const frame = stack[stack.length - 1] as Frame;
    if (frame.next < frame.children.length) {
      const child = frame.children[frame.next++];
      let add = 1;
      if (typeof child === 'string') add = child.length;
      else if (isContainer(child)) {
        const size = sizes.get(child);
        if (size !== undefined) add = size;
        else if (!onPath.has(child)) {
          const opened = open(child);
          stack.push(opened);
          running += opened.total;
          continue;
        }
      }
      frame.total += add;
      running += add;
      continue;
    }
    stack.pop();
    onPath.delete(frame.value);
    sizes.set(frame.value, frame.total);
    const parent = stack[stack.length - 1];
    if (!parent) return frame.total;
    parent.total += frame.total;
  }
  return running;
}

/** The step counter of one evaluation. Throws a plain Error, which the caller reports as an ExpressionError. */
export class Budget {
  private steps = 0;
  private readonly sizes = new WeakMap<object, number>();

  /** Steps counted so far. */
  get used(): number {
    return this.steps;
  }

  /** Counts `count` steps; throws once the budget is spent. */
  step(count = 1): void {
    this.steps += count;
    if (this.steps > EXPRESSION_LIMITS.steps) {
      throw new Error(
        `the expression took more than ${EXPRESSION_LIMITS.steps} evaluation steps (each evaluated term is a step, and so is each ${EXPRESSION_LIMITS.unitsPerStep} characters or items of data a function or operator handles)`,
      );
    }
  }

  /** Counts the data in a value an operator or function handles. */
  handle(value: unknown): void {
    const { steps, unitsPerStep } = EXPRESSION_LIMITS;
    const cap = (steps - this.steps + 1) * unitsPerStep;
    this.step(Math.floor(measure(value, this.sizes, cap) / unitsPerStep));
  }

  /** Admits a regular-expression search over `remaining` of a string of `length` characters. */
  regexSearch(length: number, remaining: number): void {
    if (length > EXPRESSION_LIMITS.regexInput) {
      throw new Error(
        `a regular expression was given a string of ${length} characters; at most ${EXPRESSION_LIMITS.regexInput} are matched`,
      );
    }
    this.step(Math.floor((remaining * remaining) / EXPRESSION_LIMITS.regexUnitsPerStep));
  }

  /** Admits a linear-time regular-expression search of `work` characters × instructions in a string of `length`. */
  regexLinear(length: number, work: number): void {
    if (length > EXPRESSION_LIMITS.regexInput) {
      throw new Error(
        `a regular expression was given a string of ${length} characters; at most ${EXPRESSION_LIMITS.regexInput} are matched`,
      );
    }
    // At least a step a search: a search has a fixed cost however short the text (and $match
    // runs one per match), and every step counts toward the run's slices.
    this.step(Math.max(1, Math.ceil(work / EXPRESSION_LIMITS.linearRegexUnitsPerStep)));
  }
}

/**
 * A stand-in for `RegExp` that JSONata uses for regex literals (its `RegexEngine` option): it
 * refuses strings above {@link EXPRESSION_LIMITS}.regexInput characters and charges each new
 * search to the budget. JSONata's `$match`, `$replace` and `$split` resume a search where the
 * last match ended; only a search that does not resume one is charged, since together the
 * resumed ones cost no more than the first.
 */
export function boundedRegExp(budget: Budget): new (pattern: RegExp) => Pick<RegExp, 'exec' | 'lastIndex'> {
  return class BoundedRegExp {
    private readonly re: RegExp;
    private resumable: { text: string; index: number } | undefined;

    constructor(pattern: RegExp) {
      this.re = new RegExp(pattern.source, pattern.flags);
    }

    get lastIndex(): number {
      return this.re.lastIndex;
    }

    set lastIndex(index: number) {
      this.re.lastIndex = index;
    }

    exec(text: string): RegExpExecArray | null {
      if (typeof text !== 'string') throw new Error('a regular expression can only be matched against a string');
      const resumes = this.resumable?.text === text && this.resumable.index === this.re.lastIndex;
      if (!resumes) budget.regexSearch(text.length, Math.max(text.length - this.re.lastIndex, 0));
      const match = this.re.exec(text);
      this.resumable = match ? { text, index: this.re.lastIndex } : undefined;
      return match;
    }
  };
}

/**
 * Translates a JSONata regex literal (a JavaScript RegExp with flags `i`/`m`, plus the `g`
 * JSONata adds) for RE2. Throws when RE2 cannot run it (lookaround, backreferences), which is
 * refused at submit time.
 */
export function compileLinear(pattern: RegExp): RE2JS {
  let flags = 0;
  if (pattern.flags.includes('i')) flags |= RE2JS.CASE_INSENSITIVE;
  if (pattern.flags.includes('m')) flags |= RE2JS.MULTILINE;
  if (pattern.flags.includes('s')) flags |= RE2JS.DOTALL;
  return RE2JS.compile(RE2JS.translateRegExp(pattern.source), flags);
}

/** Why RE2 cannot run a regular expression, or `undefined` when it can. */
export function linearRegexError(pattern: RegExp): string | undefined {
  try {
    compileLinear(pattern);
    return undefined;
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return `regular expression /${pattern.source}/ cannot run on the linear-time regex engine (RE2: no lookahead, lookbehind or backreferences): ${detail}`;
  }
}

/**
 * The RegExp stand-in for new runs, the gateway and activities: RE2 (re2js, pure JavaScript),
 * which matches in time linear in the input whatever the pattern, so no pattern can backtrack.
 * It keeps the {@link EXPRESSION_LIMITS}.regexInput cap and charges every search n·p steps
 * (n characters searched, p instructions of the compiled pattern; see linearRegexUnitsPerStep).
 */
export function linearRegExp(
  budget: Budget,
  beforeSearch?: () => void,
): new (pattern: RegExp) => Pick<RegExp, 'exec' | 'lastIndex'> {
  return class LinearRegExp {
    private readonly re: RE2JS;
    private readonly size: number;
    private matcher: { text: string; matcher: ReturnType<RE2JS['matcher']> } | undefined;
    lastIndex = 0;

    constructor(pattern: RegExp) {
      this.re = compileLinear(pattern);
      this.size = Math.max(1, this.re.programSize());
    }

    exec(text: string): RegExpExecArray | null {
      if (typeof text !== 'string') throw new Error('a regular expression can only be matched against a string');
      budget.regexLinear(text.length, text.length * this.size);
      beforeSearch?.();
      if (this.matcher?.text !== text) this.matcher = { text, matcher: this.re.matcher(text) };
      const { matcher } = this.matcher;
      if (this.lastIndex > text.length || !matcher.find(this.lastIndex)) {
        this.lastIndex = 0;
        return null;
      }
      const groups: Array<string | undefined> = [];
      for (let i = 0; i <= matcher.groupCount(); i++) groups.push(matcher.group(i) ?? undefined);
      const match = Object.assign(groups, { index: matcher.start(), input: text }) as unknown as RegExpExecArray;
      this.lastIndex = matcher.end();
      return match;
    }
  };
}
