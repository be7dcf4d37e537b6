/**
 * Secret variables' `default` values never leave the gateway: every route that reads a
 * definition back (a version, a diff, the history's diffs) shows them as `"***"`. The stored
 * definition keeps the value; runs still use it.
 */
import type { Definition } from '../../interpreter/definition-schema.js';
import type { DefinitionDiff } from './definition-diff.js';

export const SECRET_DEFAULT_MASK = '***';

type Variables = Definition['variables'];

/** The variables with every secret variable's default replaced by the mask. */
export function maskVariableDefaults(variables: Variables): Variables {
  return variables.map((v) => (v.secret && v.default !== undefined ? { ...v, default: SECRET_DEFAULT_MASK } : v));
}

/** A definition as a reader may see it: secret defaults masked. */
export function withoutSecretDefaults<T extends Pick<Definition, 'variables'>>(definition: T): T {
  return Array.isArray(definition.variables)
    ? { ...definition, variables: maskVariableDefaults(definition.variables) }
    : definition;
}

/** A diff as a reader may see it: secret defaults masked on both sides of a `variables` change. */
export function diffWithoutSecretDefaults(diff: DefinitionDiff): DefinitionDiff {
  return {
    ...diff,
    fields: diff.fields.map((change) =>
      change.field !== 'variables'
        ? change
        : {
            ...change,
            ...(Array.isArray(change.before) ? { before: maskVariableDefaults(change.before as Variables) } : {}),
            ...(Array.isArray(change.after) ? { after: maskVariableDefaults(change.after as Variables) } : {}),
          },
    ),
  };
}
