/**
 * Run input against declared variables: unknown keys are rejected, `required` variables without
 * a default must be supplied, every value must match its declared type.
 */
import type { Definition, Variable } from './definition-schema.js';
import type { Problem } from './problems.js';

export type InputResult = { ok: true; variables: Record<string, unknown> } | { ok: false; problems: Problem[] };

/** Whether `value` is of the declared variable type. */
export function matchesType(type: Variable['type'], value: unknown): boolean {
  switch (type) {
    case 'any':
      return true;
    case 'array':
      return Array.isArray(value);
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    default:
      return typeof value === type;
  }
}

/**
 * Validates run input and returns the initial variables: declared defaults, overridden by the
 * input; a declared variable with neither starts as `null`.
 */
export function resolveRunInput(
  definition: Pick<Definition, 'variables'>,
  input: unknown,
  pointer = '/input',
): InputResult {
  if (input === undefined || input === null) input = {};
  if (typeof input !== 'object' || Array.isArray(input)) {
    return { ok: false, problems: [{ path: pointer, message: 'expected an object of variable values' }] };
  }
  const supplied = input as Record<string, unknown>;
  const declared = new Map(definition.variables.map((v) => [v.name, v]));
  const problems: Problem[] = [];
  for (const key of Object.keys(supplied)) {
    if (!declared.has(key)) {
      const names = [...declared.keys()];
      problems.push({
        path: `${pointer}/${key}`,
        message: `unknown variable "${key}"; declared: ${names.length > 0 ? names.join(', ') : '(none)'}`,
      });
    }
  }
  const variables: Record<string, unknown> = {};
  for (const variable of definition.variables) {
    const has = Object.prototype.hasOwnProperty.call(supplied, variable.name);
    const value = has ? supplied[variable.name] : variable.default;
    if (!has && variable.required && variable.default === undefined) {
      problems.push({
        path: `${pointer}/${variable.name}`,
        message: `required variable "${variable.name}" is missing`,
      });
      continue;
    }
    if (value !== undefined && value !== null && !matchesType(variable.type, value)) {
      problems.push({
        path: `${pointer}/${variable.name}`,
        message: `expected ${variable.type} for variable "${variable.name}", got ${Array.isArray(value) ? 'array' : typeof value}`,
      });
      continue;
    }
    variables[variable.name] = value ?? null;
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, variables };
}
