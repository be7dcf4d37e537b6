/**
 * A conservative check that a regular expression cannot backtrack catastrophically. JSONata's
 * regex literals are JavaScript RegExps (flags `i` and `m` only, never `u`), run by V8's
 * backtracking engine inside the workflow sandbox, where one slow match blocks the worker's
 * thread. The check rejects whenever it cannot show the pattern is safe; a pattern it accepts
 * still costs up to about n² on n characters (an unanchored search retries at every position),
 * which the run-time bound on input length keeps small.
 *
 * What it rejects, and why:
 * - backreferences and lookbehind: matching with them is not bounded by any simple rule;
 * - a repeated part (`*`, `+`, `{n,m}` with m > 1) that can match the same text in more than one
 *   way — nested quantifiers like `(a+)+`, `(a*)*`, `(\w+\s?)+`, alternatives that can start
 *   with the same character like `(a|ab)*`, or anything that can match empty text: these take
 *   exponential time on a near-miss;
 * - two parts of variable length in a row (repetitions, alternatives of different lengths) that
 *   can match the same characters, with nothing between them that forces where one ends (`.*a.*b`, `\w+\s*\w+`): each such pair multiplies the work by
 *   n, so n³ or worse for a search; a pattern anchored with `^` is tried once, and may have one;
 * - counted repetitions above {@link REGEX_LIMITS}.count and patterns longer than
 *   {@link REGEX_LIMITS}.length.
 */

/** Bounds on a regular expression's source, checked at submit time. */
export const REGEX_LIMITS = { length: 500, count: 1_000 } as const;

/** A set of UTF-16 code units as sorted, disjoint, non-adjacent inclusive ranges. */
type CharSet = ReadonlyArray<readonly [number, number]>;

const MAX_UNIT = 0xffff;

function normalize(ranges: Array<readonly [number, number]>): CharSet {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

const union = (...sets: CharSet[]): CharSet => normalize(sets.flat());

function complement(set: CharSet): CharSet {
  const out: Array<[number, number]> = [];
  let next = 0;
  for (const [lo, hi] of set) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_UNIT) out.push([next, MAX_UNIT]);
  return out;
}

function overlaps(a: CharSet, b: CharSet): boolean {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const [alo, ahi] = a[i] as readonly [number, number];
    const [blo, bhi] = b[j] as readonly [number, number];
    if (alo <= bhi && blo <= ahi) return true;
    if (ahi < bhi) i++;
    else j++;
  }
  return false;
}

const EMPTY: CharSet = [];
const single = (unit: number): CharSet => [[unit, unit]];
const DIGIT: CharSet = [[0x30, 0x39]];
const WORD: CharSet = normalize([
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
]);
const SPACE: CharSet = normalize(
  [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff]
    .map((u): [number, number] => [u, u])
    .concat([[0x2000, 0x200a]]),
);
const LINE_TERMINATORS: CharSet = normalize([
  [0x0a, 0x0a],
  [0x0d, 0x0d],
  [0x2028, 0x2029],
]);
const DOT = complement(LINE_TERMINATORS);

/**
 * Case-insensitive matching, over-approximated: ASCII letters gain their other case, and any
 * non-ASCII unit stands for all of them (without the `u` flag, V8 never folds non-ASCII into
 * ASCII, so the ASCII part stays exact).
 */
function fold(set: CharSet): CharSet {
  const extra: Array<readonly [number, number]> = [];
  for (const [lo, hi] of set) {
    for (const [from, to, shift] of [
      [0x41, 0x5a, 0x20],
      [0x61, 0x7a, -0x20],
    ] as const) {
      const a = Math.max(lo, from);
      const b = Math.min(hi, to);
      if (a <= b) extra.push([a + shift, b + shift]);
    }
    if (hi >= 0x80) extra.push([0x80, MAX_UNIT]);
  }
  return union(set, extra);
}

type Node =
  | { kind: 'chars'; set: CharSet }
  | { kind: 'assert'; start?: true }
  | { kind: 'look'; body: Node }
  | { kind: 'group'; body: Node }
  | { kind: 'seq'; items: Node[] }
  | { kind: 'alt'; branches: Node[] }
  | { kind: 'repeat'; body: Node; min: number; max: number };

/** Why a pattern is refused; caught by {@link regexSafetyError}. */
class Unsafe extends Error {}

const HEX = /^[0-9a-fA-F]+$/;

/** A parser for the JavaScript regex syntax without the `u` flag (Annex B), enough to analyse it. */
class Parser {
  private pos = 0;
  constructor(
    private readonly src: string,
    private readonly ignoreCase: boolean,
  ) {}

  parse(): Node {
    const node = this.alternation();
    if (this.pos < this.src.length) throw new Unsafe(`unexpected ")" at ${this.pos}`);
    return node;
  }

  private peek(offset = 0): string | undefined {
    return this.src[this.pos + offset];
  }

  private chars(set: CharSet): Node {
    return { kind: 'chars', set: this.ignoreCase ? fold(set) : set };
  }

  private alternation(): Node {
    const branches = [this.sequence()];
    while (this.peek() === '|') {
      this.pos++;
      branches.push(this.sequence());
    }
    return branches.length === 1 ? (branches[0] as Node) : { kind: 'alt', branches };
  }

  private sequence(): Node {
    const items: Node[] = [];
    while (this.pos < this.src.length && this.peek() !== '|' && this.peek() !== ')') {
      items.push(this.quantified(this.atom()));
    }
    return items.length === 1 ? (items[0] as Node) : { kind: 'seq', items };
  }

  private quantified(atom: Node): Node {
    let min: number;
    let max: number;
    const ch = this.peek();
    if (ch === '*' || ch === '+' || ch === '?') {
      this.pos++;
      [min, max] = ch === '*' ? [0, Infinity] : ch === '+' ? [1, Infinity] : [0, 1];
    } else if (ch === '{') {
      const counted = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos));
      // Without the `u` flag a "{" that does not start a valid count is a literal character.
      if (!counted) return atom;
      this.pos += counted[0].length;
      min = Number(counted[1]);
      max = counted[2] === undefined ? min : counted[3] === '' ? Infinity : Number(counted[3]);
      if (min > REGEX_LIMITS.count || (max !== Infinity && max > REGEX_LIMITS.count)) {
        throw new Unsafe(`a counted repetition ${counted[0]} is above ${REGEX_LIMITS.count}`);
      }
    } else {
      return atom;
    }
    if (this.peek() === '?') this.pos++;
    if (atom.kind === 'assert') throw new Unsafe('a quantifier follows an anchor');
    return { kind: 'repeat', body: atom, min, max };
  }

  private atom(): Node {
    const ch = this.src[this.pos++] as string;
    switch (ch) {
      case '^':
        return { kind: 'assert', start: true };
      case '$':
        return { kind: 'assert' };
      case '.':
        return this.chars(DOT);
      case '[':
        return this.chars(this.charClass());
      case '(':
        return this.group();
      case '\\':
        return this.escape();
      case '*':
      case '+':
      case '?':
        throw new Unsafe(`"${ch}" has nothing to repeat`);
      default:
        return this.chars(single(ch.charCodeAt(0)));
    }
  }

  private group(): Node {
    let kind: 'group' | 'look' = 'group';
    if (this.peek() === '?') {
      const next = this.peek(1);
      if (next === ':') this.pos += 2;
      else if (next === '=' || next === '!') {
        this.pos += 2;
        kind = 'look';
      } else if (next === '<' && (this.peek(2) === '=' || this.peek(2) === '!')) {
        throw new Unsafe('lookbehind ((?<=…) or (?<!…)) is not allowed');
      } else if (next === '<') {
        const close = this.src.indexOf('>', this.pos);
        if (close < 0) throw new Unsafe('an unterminated group name');
        this.pos = close + 1;
      } else {
        throw new Unsafe(`an unknown group "(?${next ?? ''}"`);
      }
    }
    const body = this.alternation();
    if (this.src[this.pos++] !== ')') throw new Unsafe('an unterminated group');
    return { kind, body };
  }

  /** An escape outside a class; `\1`…`\9` and `\k` are backreferences. */
  private escape(): Node {
    const ch = this.src[this.pos++];
    if (ch === undefined) throw new Unsafe('a trailing backslash');
    if (ch === 'b' || ch === 'B') return { kind: 'assert' };
    if (/[1-9]/.test(ch) || ch === 'k') throw new Unsafe(`backreferences (\\${ch}) are not allowed`);
    const set = this.classEscape(ch) ?? single(this.characterEscape(ch));
    return this.chars(set);
  }

  /** `\d \D \w \W \s \S` as sets; undefined for any other escape. */
  private classEscape(ch: string): CharSet | undefined {
    switch (ch) {
      case 'd':
        return DIGIT;
      case 'D':
        return complement(DIGIT);
      case 'w':
        return WORD;
      case 'W':
        return complement(WORD);
      case 's':
        return SPACE;
      case 'S':
        return complement(SPACE);
      default:
        return undefined;
    }
  }

  /** The code unit an escape such as `\n`, `\x41`, `\u0041`, `\0` or `\.` stands for. */
  private characterEscape(ch: string): number {
    const controls: Record<string, number> = { f: 0x0c, n: 0x0a, r: 0x0d, t: 0x09, v: 0x0b };
    if (ch in controls) return controls[ch] as number;
    if (ch === 'x' || ch === 'u') {
      const digits = this.src.slice(this.pos, this.pos + (ch === 'x' ? 2 : 4));
      if (digits.length === (ch === 'x' ? 2 : 4) && HEX.test(digits)) {
        this.pos += digits.length;
        return parseInt(digits, 16);
      }
      return ch.charCodeAt(0);
    }
    if (ch === 'c') {
      const letter = this.peek();
      if (letter && /[a-zA-Z]/.test(letter)) {
        this.pos++;
        return letter.charCodeAt(0) % 32;
      }
      throw new Unsafe('"\\c" without a control letter');
    }
    if (/[0-7]/.test(ch)) {
      // Legacy octal escapes (\0, \012, …), allowed without the `u` flag.
      let digits = ch;
      while (digits.length < 3 && /[0-7]/.test(this.peek() ?? '')) digits += this.src[this.pos++] as string;
      return parseInt(digits, 8) & 0xff;
    }
    return ch.charCodeAt(0);
  }

  /** A `[...]` class, after its "[". */
  private charClass(): CharSet {
    const negate = this.peek() === '^';
    if (negate) this.pos++;
    const parts: CharSet[] = [];
    const unit = (): CharSet | number => {
      const ch = this.src[this.pos++];
      if (ch === undefined) throw new Unsafe('an unterminated character class');
      if (ch !== '\\') return ch.charCodeAt(0);
      const esc = this.src[this.pos++];
      if (esc === undefined) throw new Unsafe('a trailing backslash');
      if (esc === 'b') return 0x08;
      if (esc === 'c' && /[0-9_]/.test(this.peek() ?? '')) {
        this.pos++;
        return [[0, 0x1f]];
      }
      if (esc === 'c' && !/[a-zA-Z]/.test(this.peek() ?? ''))
        return [
          [0x5c, 0x5c],
          [0x63, 0x63],
        ];
      if (/[89]/.test(esc) || esc === 'k') return esc.charCodeAt(0);
      return this.classEscape(esc) ?? this.characterEscape(esc);
    };
    while (this.peek() !== ']') {
      const lo = unit();
      if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== undefined) {
        this.pos++;
        const hi = unit();
        if (typeof lo === 'number' && typeof hi === 'number') {
          if (lo > hi) throw new Unsafe('a character range out of order');
          parts.push([[lo, hi]]);
        } else {
          // A class escape at either end makes "-" a literal (Annex B).
          for (const part of [lo, single(0x2d), hi]) parts.push(typeof part === 'number' ? single(part) : part);
        }
      } else {
        parts.push(typeof lo === 'number' ? single(lo) : lo);
      }
    }
    this.pos++;
    const set = union(...parts);
    return negate ? complement(set) : set;
  }
}

function nullable(node: Node): boolean {
  switch (node.kind) {
    case 'chars':
      return false;
    case 'assert':
    case 'look':
      return true;
    case 'group':
      return nullable(node.body);
    case 'seq':
      return node.items.every(nullable);
    case 'alt':
      return node.branches.some(nullable);
    case 'repeat':
      return node.min === 0 || nullable(node.body);
  }
}

/** The characters a non-empty match can start (`first`) or end (`last`) with. */
function edge(node: Node, side: 'first' | 'last'): CharSet {
  switch (node.kind) {
    case 'chars':
      return node.set;
    case 'assert':
    case 'look':
      return EMPTY;
    case 'group':
      return edge(node.body, side);
    case 'seq': {
      const sets: CharSet[] = [];
      for (const item of side === 'first' ? node.items : [...node.items].reverse()) {
        sets.push(edge(item, side));
        if (!nullable(item)) break;
      }
      return union(...sets);
    }
    case 'alt':
      return union(...node.branches.map((branch) => edge(branch, side)));
    case 'repeat':
      return node.max === 0 ? EMPTY : edge(node.body, side);
  }
}

const first = (node: Node): CharSet => edge(node, 'first');
const last = (node: Node): CharSet => edge(node, 'last');

/** Every character a match can consume. */
function consumed(node: Node): CharSet {
  switch (node.kind) {
    case 'chars':
      return node.set;
    case 'assert':
    case 'look':
      return EMPTY;
    case 'group':
      return consumed(node.body);
    case 'seq':
      return union(...node.items.map(consumed));
    case 'alt':
      return union(...node.branches.map(consumed));
    case 'repeat':
      return node.max === 0 ? EMPTY : consumed(node.body);
  }
}

/** The shortest and longest text a node can match (Infinity when unbounded). */
function lengths(node: Node): [number, number] {
  switch (node.kind) {
    case 'chars':
      return [1, 1];
    case 'assert':
    case 'look':
      return [0, 0];
    case 'group':
      return lengths(node.body);
    case 'seq':
      return node.items.map(lengths).reduce(([a, b], [c, d]) => [a + c, b + d], [0, 0]);
    case 'alt': {
      const all = node.branches.map(lengths);
      return [Math.min(...all.map(([a]) => a)), Math.max(...all.map(([, b]) => b))];
    }
    case 'repeat': {
      const [min, max] = lengths(node.body);
      return [min * node.min, node.max === 0 || max === 0 ? 0 : max * node.max];
    }
  }
}

/** Whether a node can match texts of different lengths, so where it ends is a choice. */
function variable(node: Node): boolean {
  const [min, max] = lengths(node);
  return max > min;
}

const NESTED = 'a quantifier inside a repeated part can match the same text in more than one way (like (a+)+)';

/**
 * Checks that a part repeated by an enclosing quantifier matches any text in at most one way,
 * given `next`: the characters that can follow it (within the iteration, or starting the next).
 */
function deterministic(node: Node, next: CharSet): void {
  switch (node.kind) {
    case 'chars':
    case 'assert':
      return;
    case 'look':
      throw new Unsafe('a lookahead inside a repeated part');
    case 'group':
      return deterministic(node.body, next);
    case 'seq':
      node.items.forEach((item, i) => deterministic(item, follow(node.items.slice(i + 1), next)));
      return;
    case 'alt': {
      const starts = node.branches.map(first);
      for (let i = 0; i < node.branches.length; i++) {
        if (nullable(node.branches[i] as Node)) throw new Unsafe('a repeated part can match empty text (like (a|)*)');
        for (let j = i + 1; j < starts.length; j++) {
          if (overlaps(starts[i] as CharSet, starts[j] as CharSet)) {
            throw new Unsafe('alternatives inside a repeated part can start with the same character (like (a|ab)*)');
          }
        }
      }
      node.branches.forEach((branch) => deterministic(branch, next));
      return;
    }
    case 'repeat': {
      if (node.max === 0) return;
      if (nullable(node.body)) throw new Unsafe('a repeated part can match empty text (like (a*)*)');
      // The repetition must stop exactly where the next character cannot start another round.
      if (node.max > node.min && overlaps(first(node.body), next)) throw new Unsafe(NESTED);
      deterministic(node.body, node.max > 1 ? union(first(node.body), next) : next);
      return;
    }
  }
}

/** The characters that can come first after `items`, then `next` when they can all be empty. */
function follow(items: Node[], next: CharSet): CharSet {
  const sets: CharSet[] = [];
  for (const item of items) {
    sets.push(first(item));
    if (!nullable(item)) return union(...sets);
  }
  return union(...sets, next);
}

/**
 * What the walk knows about where it is: whether the whole pattern is anchored at its start
 * (one starting position, so a search costs what one attempt costs), whether it is inside a
 * repeated part, and how many pairs of competing repetitions it has found.
 */
interface Context {
  anchored: boolean;
  repeated: boolean;
  pairs: number;
}

const COMPETING =
  'two parts of variable length in a row can match the same characters with nothing that fixes where one ends (like .*a.*b or \\w+\\s*\\w+)';

/**
 * Finds pairs `A … B` of parts of variable length over common characters where the split between them
 * is not fixed: B (or what lies between) can take over A's last characters. Each such pair
 * multiplies the work of one attempt by the length of the text. An unanchored search already
 * makes one attempt per position, so a pair is refused there; a pattern anchored with `^` may
 * have one pair, outside any repetition.
 */
function checkNeighbours(items: Node[], context: Context): void {
  items.forEach((a, i) => {
    if (!variable(a)) return;
    const set = consumed(a);
    const tail = last(a);
    let between: CharSet = EMPTY;
    for (const b of items.slice(i + 1)) {
      if (!overlaps(first(b), set)) {
        // B cannot take any of A's characters; when B is required, it fixes where A ends.
        if (!nullable(b)) return;
      } else if (variable(b) && overlaps(set, consumed(b)) && overlaps(tail, union(between, consumed(b)))) {
        if (!context.anchored || context.repeated || context.pairs > 0) throw new Unsafe(COMPETING);
        context.pairs++;
      }
      between = union(between, consumed(b));
    }
  });
}

/** Walks the tree, checking every repetition and every sequence, and the nesting of counts. */
function check(node: Node, weight: number, context: Context): void {
  switch (node.kind) {
    case 'chars':
    case 'assert':
      return;
    case 'look':
    case 'group':
      return check(node.body, weight, context);
    case 'seq':
      checkNeighbours(node.items, context);
      node.items.forEach((item) => check(item, weight, context));
      return;
    case 'alt':
      node.branches.forEach((branch) => check(branch, weight, context));
      return;
    case 'repeat': {
      if (node.max > 1) {
        if (nullable(node.body)) throw new Unsafe('a repeated part can match empty text (like (a*)*)');
        deterministic(node.body, first(node.body));
      }
      const nested = weight * (node.max === Infinity ? Math.max(node.min, 1) : node.max);
      if (nested > REGEX_LIMITS.count) {
        throw new Unsafe(`nested counted repetitions multiply to more than ${REGEX_LIMITS.count}`);
      }
      return check(node.body, nested, { ...context, repeated: context.repeated || node.max > 1 });
    }
  }
}

/** Whether every alternative of the pattern starts with `^` (and `^` means the start of the text). */
function anchoredAtStart(node: Node, flags: string): boolean {
  if (flags.includes('m')) return false;
  const branches = node.kind === 'alt' ? node.branches : [node];
  return branches.every((branch) => {
    const head = branch.kind === 'seq' ? branch.items[0] : branch;
    return head?.kind === 'assert' && head.start === true;
  });
}

/**
 * Returns why the regular expression `/source/flags` could take too long to match, or
 * `undefined` when it is safe to run. Conservative: a pattern the analysis cannot show to be
 * safe is refused, with a reason a user can act on.
 */
export function regexSafetyError(source: string, flags: string): string | undefined {
  const shown = `/${source}/${flags.replace('g', '')}`;
  if (source.length > REGEX_LIMITS.length) {
    return `regular expression ${shown.slice(0, 40)}… is longer than ${REGEX_LIMITS.length} characters`;
  }
  try {
    const tree = new Parser(source, flags.includes('i')).parse();
    check(tree, 1, { anchored: anchoredAtStart(tree, flags), repeated: false, pairs: 0 });
    return undefined;
  } catch (err) {
    if (!(err instanceof Unsafe)) throw err;
    return `regular expression ${shown} could take too long to match: ${err.message}`;
  }
}
