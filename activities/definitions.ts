/**
 * The activity through which workflow code reads a stored definition (for `subworkflow`
 * nodes): workflow code never touches the store itself.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { DefinitionStore, VersionedDefinition } from '../src/store/definition-store.js';

export interface DefinitionLookup {
  id: string;
  version?: string;
}

export function createDefinitionActivities(store: Pick<DefinitionStore, 'get'>) {
  return {
    /** The requested version, or the active one; fails non-retryably when it does not exist. */
    async loadDefinition(lookup: DefinitionLookup): Promise<VersionedDefinition> {
      const definition = await store.get(lookup.id, lookup.version);
      if (!definition) {
        const which = lookup.version === undefined ? 'any active version' : `version "${lookup.version}"`;
        throw ApplicationFailure.create({
          type: 'DefinitionNotFound',
          message: `definition "${lookup.id}" has no ${which}`,
          nonRetryable: true,
        });
      }
      return definition;
    },
  };
}

export type DefinitionActivities = ReturnType<typeof createDefinitionActivities>;
