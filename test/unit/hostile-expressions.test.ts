/**
 * Hostile expressions as a data table: each is refused when the definition is submitted, or
 * fails its evaluation with ExpressionError, or evaluates to a harmless value. Every row runs
 * through the functions validation and the engine use (expressionSyntaxError, evaluate,
 * evaluateSync, renderTemplate/templateErrors), and checks that Object.prototype is untouched.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import jsonata from 'jsonata';
import {
  ExpressionError,
  NeedsAsync,
  evaluate,
  evaluateSync,
  expressionSyntaxError,
  renderTemplate,
  templateErrors,
} from '../../interpreter/expressions.js';
import { validateDefinition } from '../../interpreter/validate-definition.js';

type Expect = 'reject-at-submit' | 'fails' | { value: unknown };
interface Row {
  expression: string;
  expect: Expect;
  /** What the refusal or failure message must say. */
  error?: RegExp;
}

const context = {
  vars: {
    name: 'Ada',
    n: 3,
    // Data shaped like JSONata's own function objects must stay data.
    fake_lambda: { _jsonata_lambda: true, arguments: [], body: { type: 'regex', value: '(a+)+$' }, input: {} },
    fake_builtin: { _jsonata_function: true, implementation: 'process.exit', signature: {} },
  },
  input: {},
};

const own = (json: string): unknown => JSON.parse(json) as unknown;
const SUBMIT = 'reject-at-submit';
const FAILS = 'fails';
const value = (v: unknown): Expect => ({ value: v });
/** A sequence of objects that doubles in size at every level, sharing its halves: 2^levels × 1000 numbers. */
const doubling = (levels: number, tail: string) =>
  `($v0 := {"x": [1..1000]}; ${Array.from({ length: levels }, (_, i) => `$v${i + 1} := {"p": $v${i}, "q": $v${i}}`).join('; ')}; ${tail})`;

const rows: Row[] = [
  // Prototype, constructor and host objects: property lookups see own data only.
  { expression: 'constructor', expect: value(undefined) },
  { expression: '__proto__', expect: value(undefined) },
  { expression: '$.constructor', expect: value(undefined) },
  { expression: '$$.__proto__', expect: value(undefined) },
  { expression: 'vars.name.constructor', expect: value(undefined) },
  { expression: '$string.constructor', expect: value(undefined) },
  { expression: '$string.implementation', expect: value(undefined) },
  { expression: '$string("x").constructor', expect: value(undefined) },
  { expression: '$lookup($, "constructor")', expect: value(undefined) },
  { expression: '$lookup($string, "implementation")', expect: value(undefined) },
  { expression: '$keys($string)', expect: value(undefined) },
  { expression: '$spread($string)', expect: value(undefined) },
  { expression: '$sift($, function($v, $k){ $k = "constructor" })', expect: value(undefined) },
  { expression: '$each(vars, function($v, $k){ $k })', expect: value(['name', 'n', 'fake_lambda', 'fake_builtin']) },
  { expression: '(function($x){ $x }).environment', expect: value(undefined) },
  { expression: 'process', expect: value(undefined) },
  { expression: 'process.env', expect: value(undefined) },
  { expression: '$process', expect: value(undefined) },
  { expression: 'globalThis', expect: value(undefined) },
  { expression: '$globalThis', expect: value(undefined) },
  { expression: 'this', expect: value(undefined) },
  { expression: '$require', expect: value(undefined) },
  { expression: '$jmespath', expect: value(undefined) },
  // Calling through a property, or a function that is neither allowed nor defined here.
  { expression: 'constructor.constructor("return process")()', expect: SUBMIT, error: /properties of data/ },
  { expression: '$$.constructor.constructor("return this")()', expect: SUBMIT, error: /properties of data/ },
  { expression: '$string.constructor("return process")()', expect: SUBMIT, error: /properties of data/ },
  { expression: 'require("child_process")', expect: SUBMIT, error: /properties of data/ },
  { expression: 'process.getBuiltinModule("fs")', expect: SUBMIT, error: /properties of data/ },
  { expression: '{"f": function(){ 1 }}.f()', expect: SUBMIT, error: /properties of data/ },
  { expression: '$require("fs")', expect: SUBMIT, error: /\$require\(\) is not a function/ },
  { expression: '$getBuiltinModule("fs")', expect: SUBMIT, error: /\$getBuiltinModule\(\) is not a function/ },
  { expression: '$jmespath($, "a")', expect: SUBMIT, error: /\$jmespath\(\) is not a function/ },
  { expression: 'vars ~> $process', expect: SUBMIT, error: /\$process\(\) is not a function/ },
  // $eval would run text nobody checked at submit time.
  { expression: '$eval("1 + 1")', expect: SUBMIT, error: /\$eval is not available/ },
  { expression: '($e := $eval; $e("$match(\\"a\\", /(a+)+/)"))', expect: SUBMIT, error: /\$eval is not available/ },
  { expression: '$map(["1"], $eval)', expect: SUBMIT, error: /\$eval is not available/ },
  { expression: '"1" ~> $eval', expect: SUBMIT, error: /\$eval is not available/ },
  { expression: '($eval := function($x){ $x }; $eval(1))', expect: SUBMIT, error: /\$eval is not available/ },
  // The transform operator copies its input with $clone; redefining it would change data in place.
  { expression: '($clone := function($x){ $x }; vars ~> |$|{"n": 4}|)', expect: SUBMIT, error: /\$clone cannot/ },
  { expression: '(function($clone){ vars ~> |$|{"n": 4}| })(1)', expect: SUBMIT, error: /\$clone cannot/ },
  // Data that looks like a JSONata function cannot be invoked.
  { expression: '($f := vars.fake_lambda; $f(1))', expect: FAILS },
  { expression: '($f := vars.fake_builtin; $f(1))', expect: FAILS },
  // Functions are not data: a result holding one keeps only the data.
  { expression: 'function($x){ $x }', expect: value(undefined) },
  { expression: '$string', expect: value(undefined) },
  { expression: '[$string, 1]', expect: value([null, 1]) },
  { expression: '{"f": function(){ 1 }, "a": 2}', expect: value({ a: 2 }) },
  // Prototype pollution: "__proto__" keys stay own data, Object.prototype is never reached.
  { expression: '{"__proto__": {"polluted": true}}', expect: value(own('{"__proto__": {"polluted": true}}')) },
  { expression: '{"__proto__": {"polluted": true}}.polluted', expect: value(undefined) },
  {
    expression: '$merge([{"__proto__": {"polluted": true}}])',
    expect: value(own('{"__proto__": {"polluted": true}}')),
  },
  {
    // A one-item sequence is its item.
    expression: '$spread({"__proto__": {"polluted": true}})',
    expect: value(own('{"__proto__": {"polluted": true}}')),
  },
  {
    expression: '$sift({"__proto__": {"polluted": true}}, function($v){ true })',
    expect: value(own('{"__proto__": {"polluted": true}}')),
  },
  { expression: '$clone({"__proto__": {"polluted": true}})', expect: value(own('{"__proto__": {"polluted": true}}')) },
  { expression: '{"a": 1} ~> |$|{"__proto__": {"polluted": true}}|', expect: value({ a: 1 }) },
  {
    expression: '{"a": 1} ~> |$|{"constructor": {"prototype": {"polluted": true}}}|',
    expect: value({ a: 1, constructor: { prototype: { polluted: true } } }),
  },
  { expression: '{"a": 1}@$__proto__.$__proto__', expect: value({ a: 1 }) },
  // Regular expressions that backtrack catastrophically are refused at submit time.
  { expression: '$match(vars.name, /(a+)+$/)', expect: SUBMIT, error: /nested|more than one way/ },
  { expression: '$contains(vars.name, /(a*)*b/)', expect: SUBMIT, error: /empty text/ },
  { expression: '$replace(vars.name, /(a+)*b/, "")', expect: SUBMIT, error: /more than one way/ },
  { expression: '$split(vars.name, /(a|a)*/)', expect: SUBMIT, error: /same character/ },
  { expression: '$match(vars.name, /(a|ab)*c/)', expect: SUBMIT, error: /same character/ },
  { expression: '$match(vars.name, /^(\\w+\\s?)+$/)', expect: SUBMIT, error: /more than one way/ },
  { expression: '$match(vars.name, /(x+x+)+y/)', expect: SUBMIT, error: /more than one way/ },
  { expression: '$match(vars.name, /.*a.*b/)', expect: SUBMIT, error: /variable length in a row/ },
  { expression: '$match(vars.name, /^(a+)(a+)(a+)$/)', expect: SUBMIT, error: /variable length in a row/ },
  { expression: '$match(vars.name, /(a)\\1/)', expect: SUBMIT, error: /backreferences/ },
  { expression: '$match(vars.name, /(?:a|aa)(?:a|aa)(?:a|aa)b/)', expect: SUBMIT, error: /variable length in a row/ },
  { expression: '$match(vars.name, /a{0,3}a{0,3}a{0,3}b/)', expect: SUBMIT, error: /variable length in a row/ },
  { expression: '$match(vars.name, /(?<n>a)\\k<n>/)', expect: SUBMIT, error: /backreferences/ },
  { expression: '$match(vars.name, /(?<=a)b/)', expect: SUBMIT, error: /lookbehind/ },
  { expression: '$match(vars.name, /(?<!a)b/)', expect: SUBMIT, error: /lookbehind/ },
  { expression: '$match(vars.name, /(a{100}){100}/)', expect: SUBMIT, error: /multiply to more than 1000/ },
  { expression: `$match(vars.name, /${'a'.repeat(501)}/)`, expect: SUBMIT, error: /longer than 500 characters/ },
  { expression: '($r := /(a+)+$/; $match(vars.name, $r))', expect: SUBMIT, error: /more than one way/ },
  { expression: '$match(vars.name, /(A|a)+/i)', expect: SUBMIT, error: /same character/ },
  // Ordinary regular expressions are accepted and work.
  { expression: '$match("2024-01-02", /^\\d{4}-\\d{2}-\\d{2}$/).match', expect: value('2024-01-02') },
  { expression: '$contains("ada@example.com", /^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$/)', expect: value(true) },
  { expression: '$split("a , b,c", /\\s*,\\s*/)', expect: value(['a', 'b', 'c']) },
  { expression: '$replace("v1.2.3", /(\\.\\d+)+$/, "")', expect: value('v1') },
  { expression: '$match("a.b.example.org", /([a-z0-9-]+\\.)+[a-z]{2,}/).match', expect: value('a.b.example.org') },
  { expression: '/a/("aa").match', expect: value('a') },
  // At run time a regular expression sees at most 10,000 characters, and each search is charged.
  { expression: '$contains($pad("", 10001, "a"), /a+b/)', expect: FAILS, error: /at most 10000 are matched/ },
  { expression: '/a+b/($pad("", 10001, "a"))', expect: FAILS, error: /at most 10000 are matched/ },
  { expression: '$contains($pad("", 10000, "a"), /a+b/)', expect: value(false) },
  // Searches run on RE2, in time linear in the input, and are charged linearly: these were
  // charged n² for the backtracking engine, and are cheap now.
  { expression: '$count([1..10].$contains($pad("", 9000, "a"), /a+b/))', expect: value(10) },
  { expression: '($r := /a+b/; $count([1..100].$contains($pad("", 3000, "a"), $r)))', expect: value(100) },
  { expression: '[1..2000].$contains($pad("", 10000, "a"), /a+b/)', expect: FAILS, error: /evaluation steps/ },
  // Lookaround is refused at submit (RE2 cannot run it); /a*(?=a*b)/ once ran in cubic time.
  { expression: '$contains($pad("", 5000, "a"), /a*(?=a*b)/)', expect: SUBMIT, error: /linear-time regex engine/ },
  { expression: '/a(?!b)/("ab")', expect: SUBMIT, error: /linear-time regex engine/ },
  // re2js reads the whole string on every search, so each of $match's searches is charged for it.
  { expression: '$count($match($pad("", 1000, "ab"), /b/))', expect: value(500) },
  { expression: '$count($match($pad("", 5000, "ab"), /b/))', expect: FAILS, error: /evaluation steps/ },
  // Giant outputs.
  { expression: '[1..10000000]', expect: FAILS, error: /sequence length/ },
  { expression: '[1..100000000]', expect: FAILS, error: /must not exceed 1e7/ },
  { expression: '$count([1..100000].[$, $])', expect: FAILS, error: /evaluation steps|sequence/ },
  { expression: '$pad("", 2000000, "x")', expect: FAILS, error: /larger than/ },
  { expression: '$pad("", 1e300)', expect: FAILS, error: /larger than/ },
  { expression: '$pad("", -1e9, "ab")', expect: FAILS, error: /larger than/ },
  { expression: '$join($split($pad("", 10000, "a"), ""), $pad("", 50000, "b"))', expect: FAILS, error: /larger than/ },
  {
    expression: '($s := $pad("", 1000000, "a"); $s & $s & $s & $s & $s & $s)',
    expect: FAILS,
    error: /evaluation steps/,
  },
  {
    expression: '$reduce([1..2000], function($acc, $x){ $acc & $acc & "x" }, "x")',
    expect: FAILS,
    error: /evaluation steps/,
  },
  { expression: '[1..90000].{"n": $, "s": "xxxxxxxxxxxxxxxxxxxx"}', expect: FAILS, error: /evaluation steps/ },
  { expression: doubling(12, '$v12'), expect: FAILS, error: /larger than/ },
  { expression: doubling(30, '$string($v30)'), expect: FAILS, error: /evaluation steps/ },
  { expression: doubling(30, '$v30 = $v30.p'), expect: FAILS, error: /evaluation steps/ },
  { expression: doubling(30, '$distinct([$v30, $v30])'), expect: FAILS, error: /evaluation steps/ },
  { expression: doubling(30, '$v30 ~> |p|{"z": 1}|'), expect: FAILS, error: /evaluation steps/ },
  { expression: '$count($distinct([1..100000]))', expect: value(100000) },
  { expression: '$count($sort($reverse([1..100000])))', expect: value(100000) },
  { expression: '$sort([1..100000], function($a, $b){ $a < $b })[0]', expect: FAILS, error: /evaluation steps/ },
  { expression: `$toMillis("${'one '.repeat(60)}", "[Yw]")`, expect: FAILS, error: /at most 200 characters/ },
  { expression: '$toMillis("2024-01-02", "[Y0001]-[M01]-[D01]")', expect: value(1704153600000) },
  // Infinite recursion and deep nesting.
  { expression: '($f := function($x){ $f($x) }; $f(1))', expect: FAILS, error: /evaluation steps/ },
  { expression: '($f := function($x){ 1 + $f($x) }; $f(1))', expect: FAILS, error: /stack|evaluation steps/i },
  { expression: '($f := function($n){ $n = 0 ? [] : [$f($n - 1)] }; $f(1000))', expect: FAILS, error: /stack/i },
  { expression: '$reduce([1..400], function($acc, $x){ {"a": $acc} }, {}) ~> $keys()', expect: value('a') },
  { expression: `${'['.repeat(5000)}1${']'.repeat(5000)}`, expect: SUBMIT, error: /invalid JSONata/ },
  { expression: `${'('.repeat(5000)}1${')'.repeat(5000)}`, expect: SUBMIT, error: /invalid JSONata/ },
];

/** Evaluates with the synchronous fast path where it answers, checking it agrees. */
function checkSync(expression: string, expected: unknown): void {
  try {
    assert.deepEqual(evaluateSync(expression, context), expected);
  } catch (err) {
    if (!(err instanceof NeedsAsync)) throw err;
  }
}

function assertPrototypeUntouched(keys: string[]): void {
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype), keys);
}

describe('hostile expressions', () => {
  for (const row of rows) {
    test(row.expression.length > 100 ? `${row.expression.slice(0, 100)}…` : row.expression, async () => {
      const prototypeKeys = Object.getOwnPropertyNames(Object.prototype);
      const refusal = expressionSyntaxError(row.expression);
      if (row.expect === SUBMIT) {
        assert.ok(refusal, 'expected a refusal at submit time');
        if (row.error) assert.match(refusal, row.error);
        // The engine refuses it too, should a definition reach it unvalidated.
        await assert.rejects(evaluate(row.expression, context), ExpressionError);
        assert.throws(() => evaluateSync(row.expression, context), ExpressionError);
      } else {
        assert.equal(refusal, undefined);
        if (row.expect === FAILS) {
          await assert.rejects(evaluate(row.expression, context), (err: unknown) => {
            assert.ok(err instanceof ExpressionError, `expected an ExpressionError, got ${String(err)}`);
            if (row.error) assert.match(err.message, row.error);
            return true;
          });
        } else {
          assert.deepEqual(await evaluate(row.expression, context), row.expect.value);
          checkSync(row.expression, row.expect.value);
        }
      }
      assertPrototypeUntouched(prototypeKeys);
    });
  }
});

const templates: Array<{ template: string; expect: Expect; error?: RegExp }> = [
  { template: '${process.env.HOME}', expect: value('${process.env.HOME}') },
  { template: '#{process.env.HOME} `${this}`', expect: value('#{process.env.HOME} `${this}`') },
  { template: 'x {{ $jmespath }} y', expect: value('x  y') },
  { template: '{{ $jmespath($, "a") }}', expect: SUBMIT, error: /\$jmespath\(\) is not a function/ },
  { template: '{{ (function(){})() }}', expect: SUBMIT, error: /invalid JSONata/ },
  { template: '{{ (function(){ 1 })() }}', expect: value(1) },
  { template: 'a {{ constructor.constructor("return process")() }}', expect: SUBMIT, error: /properties of data/ },
  { template: '{{ vars.name }} {{ $eval("vars") }}', expect: SUBMIT, error: /\$eval is not available/ },
  { template: '{{ $match(vars.name, /(a+)+$/) }}', expect: SUBMIT, error: /more than one way/ },
  { template: '{{ {"__proto__": {"polluted": true}} }}', expect: value(own('{"__proto__": {"polluted": true}}')) },
  { template: 'n={{ [1..10000000] }}', expect: FAILS, error: /sequence length/ },
];

describe('hostile templates', () => {
  for (const row of templates) {
    test(row.template, async () => {
      const prototypeKeys = Object.getOwnPropertyNames(Object.prototype);
      const problems = templateErrors({ field: row.template });
      if (row.expect === SUBMIT) {
        assert.equal(problems.length, 1, JSON.stringify(problems));
        assert.equal(problems[0]?.[0], '/field');
        if (row.error) assert.match(problems[0]?.[1] ?? '', row.error);
        await assert.rejects(renderTemplate(row.template, context), ExpressionError);
      } else {
        assert.deepEqual(problems, []);
        if (row.expect === FAILS) {
          await assert.rejects(renderTemplate(row.template, context), (err: unknown) => {
            assert.ok(err instanceof ExpressionError);
            if (row.error) assert.match(err.message, row.error);
            return true;
          });
        } else {
          assert.deepEqual(await renderTemplate(row.template, context), row.expect.value);
        }
      }
      assertPrototypeUntouched(prototypeKeys);
    });
  }
});

describe('validation reports hostile expressions with a JSON pointer', () => {
  test('set assignments, conditions and task templates', () => {
    const result = validateDefinition({
      id: 'hostile',
      nodes: [
        { id: 'a', type: 'set', assign: { ok: '$sum([1, 2])', bad: '$eval("1")' } },
        { id: 'b', type: 'condition', expression: '$match(vars.ok, /(a|ab)*c/)' },
        {
          id: 'c',
          type: 'task',
          connector: 'http',
          action: 'request',
          inputs: { url: 'http://x.test', query: { q: 'id={{ constructor.constructor("x")() }}' } },
        },
      ],
      edges: [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
      ],
    });
    assert.ok(!result.ok);
    const byPath = Object.fromEntries(result.problems.map((p) => [p.path, p.message]));
    assert.deepEqual(Object.keys(byPath).sort(), [
      '/nodes/0/assign/bad',
      '/nodes/1/expression',
      '/nodes/2/inputs/query/q',
    ]);
    assert.match(byPath['/nodes/0/assign/bad'] ?? '', /\$eval is not available/);
    assert.match(byPath['/nodes/1/expression'] ?? '', /same character/);
    assert.match(byPath['/nodes/2/inputs/query/q'] ?? '', /properties of data/);
  });

  test('a variable (or set target) named __proto__ is refused', () => {
    const result = validateDefinition({
      id: 'proto',
      variables: [{ name: '__proto__', type: 'object' }],
      nodes: [{ id: 'a', type: 'set', assign: { __proto__x: '1' } }],
      edges: [],
    });
    assert.ok(!result.ok);
    assert.deepEqual(
      result.problems.map((p) => p.path),
      ['/variables/0/name'],
    );
    const assigned = validateDefinition({
      id: 'proto',
      nodes: [{ id: 'a', type: 'set', assign: JSON.parse('{"__proto__": "1"}') as Record<string, string> }],
      edges: [],
    });
    assert.ok(!assigned.ok);
    assert.ok(
      assigned.problems.some((p) => p.path.startsWith('/nodes/0/assign')),
      JSON.stringify(assigned.problems),
    );
  });
});

describe('the bounded built-ins agree with JSONata', () => {
  // Each expression is evaluated by the checked evaluator and by plain JSONata.
  const same = [
    '$sort([3, 1, 2])',
    '$sort(["b", "a", "C", "a"])',
    '$sort([0.5, -1, 10, -0])',
    '$sort([{"n": 2, "k": "a"}, {"n": 1}, {"n": 2, "k": "b"}], function($a, $b){ $a.n > $b.n })',
    '$sort([1, 2, 3, 4, 5, 6, 7], function($a, $b){ $a % 2 = 0 })',
    '$sort([])',
    '$sort([5])',
    '$sort(nothing)',
    '$sort([1, "a"])',
    '[3, 1, 2]^($)',
    '$distinct([1, 2, 1, "1", null, null, true, true, [1, 2], [1, 2], [2, 1]])',
    '$distinct([{"a": 1, "b": 2}, {"b": 2, "a": 1}, {"a": 1}, {"a": 1, "b": [1, {"c": 2}]}, {"b": [1, {"c": 2}], "a": 1}])',
    '$distinct([1..5].($ % 2))',
    '$distinct(5)',
    '$distinct([])',
    '$distinct(nothing)',
    '$pad("ab", 5)',
    '$pad("ab", -5, "xy")',
    '$pad("ab", 4.7, "-")',
    '$pad("😀", 3, "é")',
    '$pad("ab", 6, "😀x")',
    '$pad("abc", 2)',
    '$pad("abc", 0)',
    '$pad(nothing, 3)',
    '$join(["a", "b", "c"])',
    '$join(["a", "b"], ", ")',
    '$join("a", "-")',
    '$join([])',
    '$join(nothing)',
    '$toMillis("2024-01-02T03:04:05Z")',
    '$toMillis("25/12/2024", "[D]/[M]/[Y]")',
    '$toMillis(nothing)',
  ];
  const reference = async (expression: string) => {
    try {
      return { value: JSON.parse(JSON.stringify((await jsonata(expression).evaluate({})) ?? null)) as unknown };
    } catch (err) {
      return { error: (err as { code?: string }).code };
    }
  };
  for (const expression of same) {
    test(expression, async () => {
      const expected = await reference(expression);
      const actual = await evaluate(expression, {}).then(
        (v) => ({ value: v ?? null }),
        (err: unknown) => ({ error: err instanceof ExpressionError ? 'ExpressionError' : String(err) }),
      );
      if ('error' in expected)
        assert.deepEqual(actual, { error: 'ExpressionError' }, `JSONata failed with ${expected.error}`);
      else assert.deepEqual(actual, expected);
    });
  }
});

describe('expressions outside the run are checked at submit too', () => {
  const refused = ['$eval("1")', 'constructor.constructor("return process")()', '$contains("aab", /a*(?=a*b)/)'];
  const places: Array<[string, (e: string) => Record<string, unknown>, string]> = [
    [
      'trigger filters',
      (e) => ({
        id: 't',
        triggers: [{ type: 'event', event_type: 'x', filters: e }],
        nodes: [{ id: 'a', type: 'set', assign: { x: '1' } }],
      }),
      '/triggers/0/filters',
    ],
    [
      'ai output_mapping',
      (e) => ({
        id: 'o',
        nodes: [{ id: 'a', type: 'ai', model: 'm', prompt_template: 'hi', output_mapping: { answer: e } }],
      }),
      '/nodes/0/output_mapping/answer',
    ],
    [
      'map ai output_mapping',
      (e) => ({
        id: 'o',
        nodes: [
          {
            id: 'a',
            type: 'map',
            items: '[1]',
            ai: { model: 'm', prompt_template: 'hi', output_mapping: { answer: e } },
          },
        ],
      }),
      '/nodes/0/ai/output_mapping/answer',
    ],
    [
      'map ai system',
      (e) => ({
        id: 's',
        nodes: [
          { id: 'a', type: 'map', items: '[1]', ai: { model: 'm', prompt_template: 'hi', system: `{{ ${e} }}` } },
        ],
      }),
      '/nodes/0/ai/system',
    ],
  ];
  for (const [name, definition, path] of places) {
    for (const e of refused) {
      test(`${name}: ${e}`, () => {
        const result = validateDefinition(definition(e));
        assert.equal(result.ok, false);
        assert.ok(
          !result.ok && result.problems.some((p) => p.path === path && /not allowed/.test(p.message)),
          JSON.stringify(result),
        );
      });
    }
  }
  test('an output_mapping value that is not an expression is refused, a JSON Schema mapping is not checked as expressions', () => {
    const mapped = (output_mapping: Record<string, unknown>) =>
      validateDefinition({
        id: 'o',
        nodes: [{ id: 'a', type: 'ai', model: 'm', prompt_template: 'hi', output_mapping }],
      });
    const bad = mapped({ answer: 42 });
    assert.ok(!bad.ok && bad.problems.some((p) => p.path === '/nodes/0/output_mapping/answer'), JSON.stringify(bad));
    assert.equal(mapped({ type: 'object', properties: { a: { type: 'string' } } }).ok, true);
    assert.equal(mapped({ answer: '$uppercase(text)' }).ok, true);
  });
});

describe('$base64encode and $base64decode are pure (the workflow sandbox has no Buffer)', () => {
  for (const text of ['', 'a', 'ab', 'abc', 'héllo wörld', '\u0000\u00ff']) {
    test(JSON.stringify(text), async () => {
      const saved = globalThis.Buffer;
      const encoded = Buffer.from(text, 'latin1').toString('base64');
      // @ts-expect-error: hidden for the test, as the sandbox has none
      globalThis.Buffer = undefined;
      try {
        assert.equal(await evaluate('$base64encode(t)', { t: text }), encoded);
        assert.equal(await evaluate('$base64decode(e)', { e: encoded }), text);
      } finally {
        globalThis.Buffer = saved;
      }
    });
  }
});
