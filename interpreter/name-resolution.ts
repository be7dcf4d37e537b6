/**
 * Submit-time resolution of the names an expression reads, against the evaluation context of the
 * place it stands in. JSONata answers "nothing" for a name that is not there, so a misspelt root
 * (`output = 'hot'`), an n8n-style `$json.x` or a Step Functions-style `$.order_id` would make a
 * condition silently false and a template silently drop its key. Every such name is a problem here.
 *
 * Only names evaluated against the context itself are checked: the first step of a path at the top
 * of the expression (or in a function argument, a block, a lambda body defined there…). Names in
 * predicates, later path steps, groupings, sorts and transforms are relative to the data at hand
 * and cannot be known before the run.
 */
import jsonata from 'jsonata';
import { ALLOWED_FUNCTIONS, REFUSED_FUNCTIONS, boundNames, astNodes, type AstNode } from './expression-safety.js';
import { nearestName } from './near-names.js';

/** What the context of one place holds (see the definition-language contract). */
export interface NameScope {
  /** Variables an expression may read: declared, or written by a node's `output` or a `set`. */
  variables: ReadonlySet<string>;
  /** Declared variables: the only keys the run's input can have. */
  declared: ReadonlySet<string>;
  nodes: ReadonlySet<string>;
  /** On an error path: after an `on: "error"` edge or a `goto` handler. */
  error: boolean;
  /** In a map node's body. */
  item: boolean;
  /** Over an event only (event trigger filters), or with `event` besides the run (event node filters). */
  event?: 'only' | 'also';
  /** The node whose result a bare `output` most likely means (the edge's source, the node's predecessor). */
  subject?: string;
}

/** Fields of the record `nodes.<id>` holds (run-state.ts `NodeRecord`, as far as it is documented). */
export const NODE_RECORD_FIELDS = ['output', 'status', 'attempts', 'error'] as const;
const ERROR_FIELDS = ['type', 'message', 'node', 'attempt'];
const RUN_FIELDS = ['id', 'definition_id', 'definition_version', 'started_at', 'started_by'];
const EVENT_FIELDS = ['event_type', 'correlation_key', 'payload', 'event_id'];
const ALL_ROOTS = ['vars', 'input', 'nodes', 'run', 'error', 'item', 'index', 'event'];
/** What other tools call the roots, too far from them in spelling for `nearestName`. */
const ROOT_ALIASES: ReadonlyMap<string, string> = new Map([
  ['variables', 'vars'],
  ['params', 'input'],
  ['payload', 'input'],
  ['steps', 'nodes'],
]);

function rootsOf(scope: NameScope): string[] {
  if (scope.event === 'only') return ['event'];
  return [
    'vars',
    'input',
    'nodes',
    'run',
    ...(scope.error ? ['error'] : []),
    ...(scope.item ? ['item', 'index'] : []),
    ...(scope.event ? ['event'] : []),
  ];
}

const literalName = (step: AstNode | undefined): string | undefined =>
  step?.type === 'name' && typeof step.value === 'string' ? step.value : undefined;

const didYouMean = (suggestion: string | undefined): string =>
  suggestion === undefined ? '' : `; did you mean "${suggestion}"?`;

const list = (names: readonly string[]): string =>
  names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1] ?? ''}`;

/** The names this context offers, for the message about a name it does not. */
function describeRoots(scope: NameScope): string {
  if (scope.event === 'only') return 'an event filter reads only "event" (the event: event_type, payload, …)';
  const extra = [
    scope.error ? '' : '"error" only on error paths',
    scope.item ? '' : '"item"/"index" only in map bodies',
  ].filter((s) => s.length > 0);
  return `expressions read ${list(rootsOf(scope).map((r) => `"${r}"`))}${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`;
}

/** A likely meaning of a name read where only the context's roots can stand. */
function suggestRoot(name: string, rest: string[], scope: NameScope): string | undefined {
  const tail = rest.length > 0 ? `.${rest.join('.')}` : '';
  if (scope.event === 'only') return ALL_ROOTS.includes(name) ? `event.payload${tail}` : `event.${name}${tail}`;
  if (scope.subject !== undefined && ['output', 'result', 'value', 'status'].includes(name)) {
    return `nodes.${scope.subject}.${name === 'status' ? 'status' : 'output'}${tail}`;
  }
  if (scope.variables.has(name)) return `vars.${name}${tail}`;
  if (scope.nodes.has(name)) return `nodes.${name}.output${tail}`;
  const root = ROOT_ALIASES.get(name) ?? nearestName(name, ALL_ROOTS);
  if (root !== undefined && rootsOf(scope).includes(root)) return `${root}${tail}`;
  const variable = nearestName(name, scope.variables);
  if (variable !== undefined) return `vars.${variable}${tail}`;
  const node = nearestName(name, scope.nodes);
  if (node !== undefined) return `nodes.${node}.output${tail}`;
  return undefined;
}

/** What `$.name` or `$json.name` most likely meant: the run's input, a variable, a node's output. */
function suggestData(name: string | undefined, scope: NameScope): string | undefined {
  if (name === undefined) return scope.subject === undefined ? undefined : `nodes.${scope.subject}.output`;
  if (scope.event === 'only') return `event.payload.${name}`;
  if (scope.declared.has(name)) return `input.${name}`;
  if (scope.variables.has(name)) return `vars.${name}`;
  if (scope.nodes.has(name)) return `nodes.${name}.output`;
  const declared = nearestName(name, scope.declared);
  if (declared !== undefined) return `input.${declared}`;
  const variable = nearestName(name, scope.variables);
  if (variable !== undefined) return `vars.${variable}`;
  return scope.subject === undefined ? undefined : `nodes.${scope.subject}.output.${name}`;
}

/** Problems with a path read from the context, from the root name at `steps[0]`; `shown` prefixes it in messages. */
function rootPathProblem(steps: AstNode[], scope: NameScope, shown: string): string | undefined {
  const names: string[] = [];
  for (const step of steps) {
    const name = literalName(step);
    if (name === undefined) break;
    names.push(name);
    const key = keyFilter(step);
    if (key !== undefined) return keyFilterProblem(shown + names.join('.'), key);
    // After a filter (`vars.items[0]`) the names that follow are not the context's; a string filter is refused above.
    if (step.stages !== undefined || step.predicate !== undefined) break;
  }
  const [root, second, third] = names;
  if (root === undefined) return undefined;
  const text = (n: number) => shown + names.slice(0, n).join('.');
  if (!rootsOf(scope).includes(root)) {
    if (root === 'error' && scope.event !== 'only')
      return `"${text(1)}": "error" is only in scope on error paths (after an on: "error" edge or a goto handler), not here`;
    if ((root === 'item' || root === 'index') && scope.event !== 'only')
      return `"${text(1)}": "${root}" is only in scope in a map node's body (task, ai or subworkflow), not here`;
    return `unknown name "${text(1)}": ${describeRoots(scope)}${didYouMean(suggestRoot(root, names.slice(1), scope))}`;
  }
  switch (root) {
    case 'vars':
      if (second !== undefined && !scope.variables.has(second)) {
        const near = nearestName(second, scope.variables);
        return `"${text(2)}": no variable "${second}" is declared, or written by a node's output or a set node${didYouMean(near && `vars.${near}`)}`;
      }
      return undefined;
    case 'input':
      if (second !== undefined && !scope.declared.has(second)) {
        const near = nearestName(second, scope.declared);
        return `"${text(2)}": the run's input holds only declared variables, and "${second}" is not one${didYouMean(near && `input.${near}`)}`;
      }
      return undefined;
    case 'nodes':
      if (second !== undefined && !scope.nodes.has(second)) {
        const near = nearestName(second, scope.nodes);
        return `"${text(2)}": there is no node "${second}"${didYouMean(near && `nodes.${near}${third === undefined ? '' : `.${third}`}`)}`;
      }
      if (second !== undefined && third !== undefined && !(NODE_RECORD_FIELDS as readonly string[]).includes(third)) {
        const near = nearestName(third, NODE_RECORD_FIELDS) ?? 'output';
        return `"${text(3)}": a node's record has ${list(NODE_RECORD_FIELDS.map((f) => `"${f}"`))}; did you mean "nodes.${second}.${near}"?`;
      }
      return undefined;
    case 'error':
      return fieldProblem(text, names, ERROR_FIELDS, 'an error');
    case 'run':
      return fieldProblem(text, names, RUN_FIELDS, 'run');
    case 'event':
      return fieldProblem(text, names, EVENT_FIELDS, 'an event');
    case 'index':
      return second === undefined
        ? undefined
        : `"${text(2)}": "index" is a number (the item's position), it has no fields`;
    default:
      return undefined;
  }
}

/** The string of a `name["…"]` filter: JSONata keeps the whole value (a string is truthy), it picks no key. */
function keyFilter(step: AstNode): string | undefined {
  const stages = [step.stages, step.predicate].flatMap((list) => (Array.isArray(list) ? (list as AstNode[]) : []));
  for (const stage of stages) {
    const expr = stage.expr as AstNode | undefined;
    if (expr?.type === 'string' && typeof expr.value === 'string') return expr.value;
  }
  return undefined;
}

function keyFilterProblem(path: string, key: string): string {
  const step = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : `\`${key.replaceAll('`', '')}\``;
  return `JSONata reads ${path}["${key}"] as a filter, not a key (it keeps all of ${path}); write ${path}.${step}`;
}

function fieldProblem(
  text: (n: number) => string,
  names: string[],
  fields: string[],
  what: string,
): string | undefined {
  const field = names[1];
  if (field === undefined || fields.includes(field)) return undefined;
  const near = nearestName(field, fields);
  return `"${text(2)}": ${what} has ${list(fields.map((f) => `"${f}"`))}${didYouMean(near && `${names[0] ?? ''}.${near}`)}`;
}

/** `$` (the context, where it is the context) or `$$` (always the context) starting a path. */
function dataRootProblem(steps: AstNode[], scope: NameScope): string | undefined {
  const shown = (steps[0] as AstNode).value === '$' ? '$$' : '$';
  const next = literalName(steps[1]);
  if (next !== undefined && rootsOf(scope).includes(next)) return rootPathProblem(steps.slice(1), scope, `${shown}.`);
  if (steps.length > 1 && next === undefined) return undefined;
  const whole =
    scope.event === 'only'
      ? `"${shown}" is the whole filter context, which holds only "event"`
      : `"${shown}" is the whole evaluation context (${list(rootsOf(scope).map((r) => `"${r}"`))})`;
  if (next === undefined)
    return `${whole}, not data of the run: name the value you mean${didYouMean(suggestData(undefined, scope))}`;
  return `"${shown}.${next}": ${whole}, which has no "${next}"${didYouMean(suggestData(next, scope))}`;
}

/** A `$name` that neither a built-in nor the expression itself defines: JSONata reads it as nothing. */
function variableProblem(
  name: string,
  following: string | undefined,
  scope: NameScope,
  bound: Set<string>,
): string | undefined {
  if (bound.has(name) || ALLOWED_FUNCTIONS.has(name) || REFUSED_FUNCTIONS.has(name)) return undefined;
  if (['json', 'input', 'node', 'item', 'vars', 'env', 'execution', 'workflow', 'binary'].includes(name)) {
    const meant = rootsOf(scope).includes(name)
      ? `${name}${following === undefined ? '' : `.${following}`}`
      : suggestData(following, scope);
    return `"$${name}" is not defined: weft has no "$${name}" (as n8n has); name the data by where it lives (${list(rootsOf(scope).map((r) => `"${r}"`))})${didYouMean(meant)}`;
  }
  const near = nearestName(name, [...ALLOWED_FUNCTIONS, ...bound]);
  return `"$${name}" is not defined: it is neither a function weft allows nor bound in the expression (with :=, or as a function parameter)${didYouMean(near && `$${near}`)}`;
}

/**
 * Every name problem of one expression in one place, each message once; none when the
 * expression does not parse (the syntax check reports that).
 */
export function nameProblems(source: string, scope: NameScope): string[] {
  let ast: AstNode;
  try {
    ast = jsonata(source).ast() as AstNode;
  } catch {
    return [];
  }
  const bound = boundNames(astNodes(ast));
  const problems = new Set<string>();
  const report = (message: string | undefined) => {
    if (message !== undefined) problems.add(message);
  };
  // Iterative: a hostile expression can nest deeply. `rooted`: evaluated against the context itself.
  const stack: Array<[unknown, boolean]> = [[ast, true]];
  const push = (value: unknown, rooted: boolean) => {
    if (value && typeof value === 'object') stack.push([value, rooted]);
  };
  const pushPairs = (pairs: unknown, rooted: boolean) => {
    if (Array.isArray(pairs))
      for (const pair of pairs) if (Array.isArray(pair)) for (const side of pair) push(side, rooted);
  };
  while (stack.length > 0) {
    const [value, rooted] = stack.pop() as [unknown, boolean];
    if (Array.isArray(value)) {
      for (const child of value) push(child, rooted);
      continue;
    }
    const node = value as AstNode;
    if (typeof node.type !== 'string') continue;
    // Predicates, groupings and sorts are evaluated against the data they filter.
    for (const key of ['stages', 'predicate'] as const) {
      const stages = node[key];
      if (Array.isArray(stages)) for (const stage of stages as AstNode[]) push(stage.expr, false);
    }
    const group = node.group as { lhs?: unknown } | undefined;
    if (group) pushPairs(group.lhs, false);
    switch (node.type) {
      case 'path': {
        const steps = (node.steps ?? []) as AstNode[];
        const [first] = steps;
        steps.forEach((step, i) => {
          if (i > 0) push(step, false);
        });
        if (!first) break;
        for (const key of ['stages', 'predicate'] as const) {
          const stages = first[key];
          if (Array.isArray(stages)) for (const stage of stages as AstNode[]) push(stage.expr, false);
        }
        if (rooted && first.type === 'name') report(rootPathProblem(steps, scope, ''));
        else if (first.type === 'variable' && (first.value === '$' || (first.value === '' && rooted)))
          report(dataRootProblem(steps, scope));
        else if (
          first.type === 'variable' &&
          typeof first.value === 'string' &&
          first.value.length > 0 &&
          first.value !== '$'
        )
          report(variableProblem(first.value, literalName(steps[1]), scope, bound));
        else if (first.type !== 'variable') push(first, rooted);
        break;
      }
      case 'name':
        if (rooted) report(rootPathProblem([node], scope, ''));
        break;
      case 'variable':
        if (node.value === '$' || (node.value === '' && rooted)) report(dataRootProblem([node], scope));
        else if (typeof node.value === 'string' && node.value.length > 0)
          report(variableProblem(node.value, undefined, scope, bound));
        break;
      case 'function':
      case 'partial':
        // A callee named with $ is checked by the safety check (expression-safety.ts).
        if (node.procedure && node.procedure.type !== 'variable') push(node.procedure, rooted);
        push(node.arguments, rooted);
        break;
      case 'lambda':
        push(node.body, rooted);
        break;
      case 'bind':
        push(node.rhs, rooted);
        break;
      case 'apply':
        push(node.lhs, rooted);
        if (node.rhs && node.rhs.type !== 'variable') push(node.rhs, rooted);
        break;
      case 'condition':
        push(node.condition, rooted);
        push(node.then, rooted);
        push(node.else, rooted);
        break;
      case 'binary':
        push(node.lhs, rooted);
        push(node.rhs, rooted);
        break;
      case 'block':
        push(node.expressions, rooted);
        break;
      case 'unary':
        if (node.value === '{') pushPairs(node.lhs, rooted);
        else push(node.value === '[' ? node.expressions : node.expression, rooted);
        break;
      case 'sort':
        for (const term of (node.terms ?? []) as Array<{ expression?: unknown }>) push(term.expression, false);
        break;
      case 'transform':
        push(node.pattern, false);
        push(node.update, false);
        push(node.delete, false);
        break;
      default:
        // Literals, wildcards, the parent operator: nothing to resolve. Anything else is walked
        // without root checks, so an AST shape not listed here can never cause a false refusal.
        for (const child of Object.values(node)) if (child && typeof child === 'object') push(child, false);
        break;
    }
  }
  return [...problems];
}

/**
 * Whether an expression reads nothing of the run (no path, no variable, no clock or random
 * number), so it gives the same answer every time: `"true"`, `"1 = 1"`, `"'hot'"`.
 */
export function isConstantExpression(source: string): boolean {
  let ast: AstNode;
  try {
    ast = jsonata(source).ast() as AstNode;
  } catch {
    return false;
  }
  const nodes = astNodes(ast);
  const callees = new Set(
    nodes.flatMap((n) => (n.type === 'function' || n.type === 'partial' ? [n.procedure] : [])).filter(Boolean),
  );
  return nodes.every((n) => {
    if (n.type === 'variable')
      return callees.has(n) && !['now', 'millis', 'random', 'shuffle'].includes(String(n.value));
    return !['path', 'name', 'wildcard', 'descendant', 'parent', 'lambda', 'bind', 'apply', 'transform'].includes(
      n.type,
    );
  });
}
