/**
 * The custom search attributes runs carry, so the Web UI and the gateway's listing can filter
 * runs by definition. Registered by the dev server's flags, or by `ensureSearchAttributes`
 * (`src/temporal/register-search-attributes.ts`) against an existing server.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const DefinitionIdKey = defineSearchAttributeKey('WeftDefinitionId', SearchAttributeType.KEYWORD);
export const DefinitionVersionKey = defineSearchAttributeKey('WeftDefinitionVersion', SearchAttributeType.KEYWORD);
/** "paused" while a run is paused, "running" again once resumed (kept by the workflow). */
export const StatusKey = defineSearchAttributeKey('WeftStatus', SearchAttributeType.KEYWORD);
/** On a run started by retrying a closed failed run: the original's run id. */
export const RetryOfKey = defineSearchAttributeKey('WeftRetryOf', SearchAttributeType.KEYWORD);
/** On a run started by rerunning a closed run from a node: the original's run id. */
export const RerunOfKey = defineSearchAttributeKey('WeftRerunOf', SearchAttributeType.KEYWORD);

/** The tenant that owns the run; every gateway visibility query is scoped by it. */
export const TenantKey = defineSearchAttributeKey('WeftTenant', SearchAttributeType.KEYWORD);

/** Name → CLI type, as `temporal server start-dev --search-attribute NAME=TYPE` takes them. */
export const SEARCH_ATTRIBUTES: Record<string, 'Keyword'> = {
  [DefinitionIdKey.name]: 'Keyword',
  [DefinitionVersionKey.name]: 'Keyword',
  [RetryOfKey.name]: 'Keyword',
  [RerunOfKey.name]: 'Keyword',
  [StatusKey.name]: 'Keyword',
  [TenantKey.name]: 'Keyword',
};
