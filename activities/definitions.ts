/**
 * The activity through which workflow code reads a stored definition (for `subworkflow`
 * nodes): workflow code never touches the store itself.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { DefinitionStore, VersionedDefinition } from '../src/store/definition-store.js';
import { definitionKey } from '../src/store/tenant-store.js';
import { tenantOfWorkflowId } from '../src/temporal/tenant-runs.js';

export interface DefinitionLookup {
  id: string;
  version?: string;
}

export function createDefinitionActivities(store: Pick<DefinitionStore, 'get'>) {
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
