/**
 * Parameter substitution. A placeholder `{ "$param": "<name>" }` is replaced by the parameter's
 * value as one whole JSON value (a deep copy); nothing is ever spliced into text. So that a value
 * can never become code, every string a value brings into the definition is checked where it
 * lands: it may not hold `{{` (it would be a template in a task input or prompt) and may not sit
 * where the definition language reads an expression (`when`, `expression`, `assign`, `items`,
 * `until`, `correlation_key`, `filters`, `result`, `concurrency_key`, an `output_mapping`). A
 * template that needs a value inside an expression puts the parameter in a variable's `default`
 * and reads `vars.<name>` in the expression.
 */
import { isExpressionPointer } from '../../interpreter/expression-pointers.js';
import { escapePointer } from '../../interpreter/expressions.js';
import type { Problem } from '../../interpreter/problems.js';
import { PARAMETER_NAME_PATTERN, type Template, type TemplateParameter } from './template-schema.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const PARAM_KEY = '$param';

const isObject = (value: unknown): value is Record<string, Json> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** `{ "$param": … }`: a placeholder (well formed or not). */
const isPlaceholder = (value: unknown): value is Record<string, Json> => isObject(value) && PARAM_KEY in value;

interface Placeholder {
  pointer: string;
  name: string;
}

/** Every placeholder of a definition, and the malformed ones as problems (pointers under `prefix`). */
export function placeholders(definition: Json, prefix = ''): { found: Placeholder[]; problems: Problem[] } {
  const found: Placeholder[] = [];
  const problems: Problem[] = [];
  const walk = (value: Json, pointer: string): void => {
    if (isPlaceholder(value)) {
      const name = value[PARAM_KEY];
      if (Object.keys(value).length !== 1 || typeof name !== 'string' || !PARAMETER_NAME_PATTERN.test(name)) {
        problems.push({
          path: `${prefix}${pointer}`,
          message:
            'a placeholder is an object with exactly one key, "$param", naming a parameter: { "$param": "name" }',
        });
      } else found.push({ pointer, name });
      return;
    }
    if (Array.isArray(value)) value.forEach((item, i) => walk(item, `${pointer}/${i}`));
    else if (isObject(value)) {
      for (const [key, item] of Object.entries(value)) walk(item, `${pointer}/${escapePointer(key)}`);
    }
  };
  walk(definition, '');
  return { found, problems };
}

/** Why `value` is not a valid value of `parameter`, or undefined when it is. */
export function valueProblem(parameter: TemplateParameter, value: unknown): string | undefined {
  switch (parameter.type) {
    case 'string': {
      if (typeof value !== 'string') return `expected a string, got ${describe(value)}`;
      if (parameter.min_length !== undefined && value.length < parameter.min_length)
        return `expected at least ${parameter.min_length} characters (got ${value.length})`;
      if (parameter.max_length !== undefined && value.length > parameter.max_length)
        return `expected at most ${parameter.max_length} characters (got ${value.length})`;
      return undefined;
    }
    case 'number':
    case 'integer': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return `expected a number, got ${describe(value)}`;
      if (parameter.type === 'integer' && !Number.isInteger(value)) return `expected a whole number, got ${value}`;
      if (parameter.minimum !== undefined && value < parameter.minimum)
        return `expected at least ${parameter.minimum}, got ${value}`;
      if (parameter.maximum !== undefined && value > parameter.maximum)
        return `expected at most ${parameter.maximum}, got ${value}`;
      return undefined;
    }
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `expected true or false, got ${describe(value)}`;
    case 'enum':
      return parameter.values.some((allowed) => allowed === value)
        ? undefined
        : `expected one of ${parameter.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(value)}`;
    case 'json':
      return value === undefined ? 'expected a JSON value' : undefined;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** The value a parameter takes when none is given: its default, or null when it is optional. */
function fallback(parameter: TemplateParameter): { value: Json } | undefined {
  if (parameter.default !== undefined) return { value: parameter.default };
  if (parameter.required === false) return { value: null };
  return undefined;
}

/**
 * The strings a substituted value brings in that could become code: ones holding `{{`, and any at
 * an expression position. `pointer` is where the value lands in the definition.
 */
function codeProblems(value: Json, pointer: string): string[] {
  const out: string[] = [];
  const walk = (item: Json, at: string): void => {
    if (typeof item === 'string') {
      if (isExpressionPointer(at))
        out.push(`it would land at ${at}, which is an expression; parameters are data, never expressions`);
      else if (item.includes('{{'))
        out.push(`it holds "{{" and would land at ${at} as a template; parameters are data, never templates`);
    } else if (Array.isArray(item)) item.forEach((x, i) => walk(x, `${at}/${i}`));
    else if (isObject(item)) for (const [key, x] of Object.entries(item)) walk(x, `${at}/${escapePointer(key)}`);
  };
  walk(value, pointer);
  return [...new Set(out)];
}

/** Where each parameter's value landed: `pointer` into the definition. */
export interface Placement {
  pointer: string;
  name: string;
}

export type Instantiated =
  { ok: true; definition: Record<string, Json>; placements: Placement[] } | { ok: false; problems: Problem[] };

/**
 * A problem of the instantiated definition, pointed at the parameter whose value sits there
 * (`/parameters/<name>`), when one does; else left as it is.
 */
export function blameParameter(problem: Problem, placements: readonly Placement[]): Problem {
  const placed = placements.find((p) => problem.path === p.pointer || problem.path.startsWith(`${p.pointer}/`));
  if (!placed) return problem;
  return {
    path: `/parameters/${escapePointer(placed.name)}`,
    message: `${problem.message} (where it lands: ${problem.path})`,
  };
}

/**
 * The template's definition with every placeholder replaced, and `id` set. `values` are checked
 * against the parameters first: unknown names, missing required ones and wrong types are
 * problems at `/parameters/<name>` (pointers into the instantiate body).
 */
export function instantiate(template: Template, id: string, values: Record<string, unknown> = {}): Instantiated {
  const problems: Problem[] = [];
  const byName = new Map(template.parameters.map((p) => [p.name, p]));
  const resolved = new Map<string, Json>();
  for (const name of Object.keys(values)) {
    if (!byName.has(name)) {
      const known = [...byName.keys()];
      problems.push({
        path: `/parameters/${escapePointer(name)}`,
        message: `unknown parameter "${name}"; this template takes ${known.length === 0 ? 'none' : known.join(', ')}`,
      });
    }
  }
  for (const parameter of template.parameters) {
    const path = `/parameters/${escapePointer(parameter.name)}`;
    const given = Object.hasOwn(values, parameter.name) ? values[parameter.name] : undefined;
    if (given === undefined) {
      const value = fallback(parameter);
      if (value) resolved.set(parameter.name, value.value);
      else problems.push({ path, message: `parameter "${parameter.name}" is required (${parameter.type})` });
      continue;
    }
    // An optional parameter may be given as null, which is what leaving it out gives.
    const problem = given === null && parameter.required === false ? undefined : valueProblem(parameter, given);
    if (problem) problems.push({ path, message: problem });
    else resolved.set(parameter.name, given as Json);
  }
  if (problems.length > 0) return { ok: false, problems };

  const lands = new Map<string, Set<string>>();
  const placements: Placement[] = [];
  const substitute = (value: Json, pointer: string): Json => {
    if (isPlaceholder(value)) {
      const name = value[PARAM_KEY] as string;
      placements.push({ pointer, name });
      const got = resolved.get(name) ?? null;
      for (const message of codeProblems(got, pointer)) {
        const set = lands.get(name) ?? new Set<string>();
        set.add(message);
        lands.set(name, set);
      }
      return structuredClone(got);
    }
    if (Array.isArray(value)) return value.map((item, i) => substitute(item, `${pointer}/${i}`));
    if (isObject(value)) {
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => [key, substitute(item, `${pointer}/${escapePointer(key)}`)]),
      );
    }
    return value;
  };
  const definition = substitute(template.definition, '') as Record<string, Json>;
  for (const [name, messages] of lands) {
    for (const message of messages)
      problems.push({ path: `/parameters/${escapePointer(name)}`, message: `the value is refused: ${message}` });
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, definition: { id, ...definition }, placements };
}

/**
 * The template's own problems, beyond its zod schema (pointers into the template): duplicate,
 * unused and unknown parameters, malformed placeholders and placeholders at expression
 * positions, defaults and examples that do not fit their parameter, a `definition` that sets
 * `id` or `version`. Also returns the values to check the definition with (`probe`): each
 * parameter's default, else its example, else the first of its `values` or `false`.
 */
export function templateProblems(template: Template): { problems: Problem[]; probe: Record<string, unknown> } {
  const problems: Problem[] = [];
  const probe: Record<string, unknown> = {};
  for (const key of ['id', 'version'] as const) {
    if (Object.hasOwn(template.definition, key)) {
      problems.push({
        path: `/definition/${key}`,
        message:
          key === 'id'
            ? 'a template\'s definition has no id: it is given when instantiating ({ "id": … })'
            : "a template's definition has no version: the registry assigns it on submit",
      });
    }
  }
  const seen = new Set<string>();
  template.parameters.forEach((parameter, i) => {
    const at = `/parameters/${i}`;
    if (seen.has(parameter.name))
      problems.push({ path: `${at}/name`, message: `duplicate parameter "${parameter.name}"` });
    seen.add(parameter.name);
    if (parameter.required === true && parameter.default !== undefined)
      problems.push({ path: `${at}/required`, message: 'a required parameter has no default: drop one of them' });
    for (const field of ['default', 'example'] as const) {
      const value = (parameter as Record<string, unknown>)[field];
      if (value === undefined) continue;
      const problem = valueProblem(parameter, value);
      if (problem) problems.push({ path: `${at}/${field}`, message: problem });
    }
    if (
      (parameter.type === 'string' && hasInverted(parameter.min_length, parameter.max_length)) ||
      ((parameter.type === 'number' || parameter.type === 'integer') &&
        hasInverted(parameter.minimum, parameter.maximum))
    )
      problems.push({ path: at, message: 'the lower bound is above the upper bound' });
    const example = 'example' in parameter ? parameter.example : undefined;
    const value =
      parameter.default ??
      example ??
      (parameter.type === 'enum' ? parameter.values[0] : parameter.type === 'boolean' ? false : undefined) ??
      (parameter.required === false ? null : undefined);
    if (value === undefined) {
      problems.push({
        path: at,
        message: `parameter "${parameter.name}" needs a default or an example, so the template can be checked when it is stored`,
      });
    } else probe[parameter.name] = value;
  });
  const { found, problems: malformed } = placeholders(template.definition, '/definition');
  problems.push(...malformed);
  const used = new Set<string>();
  for (const { pointer, name } of found) {
    used.add(name);
    const parameter = template.parameters.find((p) => p.name === name);
    if (!parameter) problems.push({ path: `/definition${pointer}`, message: `unknown parameter "${name}"` });
    else if (isExpressionPointer(pointer) && mayBeText(parameter)) {
      problems.push({
        path: `/definition${pointer}`,
        message: `an expression cannot be a parameter: give a variable the default { "$param": "${name}" } and read vars.<variable> in the expression`,
      });
    }
  }
  template.parameters.forEach((parameter, i) => {
    if (!used.has(parameter.name))
      problems.push({
        path: `/parameters/${i}`,
        message: `parameter "${parameter.name}" is never used: no { "$param": "${parameter.name}" } in the definition`,
      });
  });
  return { problems, probe };
}

/** Whether a parameter's values may be (or hold) strings: those may never sit where an expression is read. */
function mayBeText(parameter: TemplateParameter): boolean {
  if (parameter.type === 'enum') return parameter.values.some((v) => typeof v === 'string');
  return parameter.type === 'string' || parameter.type === 'json';
}

function hasInverted(low: number | undefined, high: number | undefined): boolean {
  return low !== undefined && high !== undefined && low > high;
}
