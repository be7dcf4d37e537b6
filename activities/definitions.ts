/**
 * The activity through which workflow code reads a stored definition (for `subworkflow`
 * nodes): workflow code never touches the store itself.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { VersionedDefinition } from '../interpreter/definition-schema.js';
import { definitionKey, tenantOfWorkflowId } from '../src/shared/tenants.js';

export interface DefinitionLookup {
  id: string;
  version?: string;
}

/** What the activity needs of the definition store (`src/store/`), which the worker injects. */
export interface DefinitionSource {
  /** The version stored under `key`, or its active version when `version` is omitted. */
  get(key: string, version?: string): Promise<VersionedDefinition | undefined>;
}

export function createDefinitionActivities(store: DefinitionSource) {
  return {
    /**
     * The requested version, or the active one, of the calling run's tenant (known from the
     * run's workflow id, never from the definition): a subworkflow can only name definitions
     * of its own tenant. Fails non-retryably when it does not exist.
     */
    async loadDefinition(lookup: DefinitionLookup): Promise<VersionedDefinition> {
      const tenant = tenantOfWorkflowId(Context.current().info.workflowExecution?.workflowId ?? '');
      const found = await store.get(definitionKey(tenant, lookup.id), lookup.version);
      const definition = found ? { ...found, id: lookup.id } : undefined;
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
