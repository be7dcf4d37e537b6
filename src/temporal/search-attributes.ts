/**
 * The custom search attributes runs carry, so the Web UI and the gateway's listing can filter
 * runs by definition. Registered by the dev server's flags, or by `ensureSearchAttributes`
 * against an existing server.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { Connection } from '@temporalio/client';

export const DefinitionIdKey = defineSearchAttributeKey('WeftDefinitionId', SearchAttributeType.KEYWORD);
export const DefinitionVersionKey = defineSearchAttributeKey('WeftDefinitionVersion', SearchAttributeType.KEYWORD);
/** "paused" while a run is paused, "running" again once resumed (kept by the workflow). */
export const StatusKey = defineSearchAttributeKey('WeftStatus', SearchAttributeType.KEYWORD);
/** On a run started by retrying a closed failed run: the original's run id. */
export const RetryOfKey = defineSearchAttributeKey('WeftRetryOf', SearchAttributeType.KEYWORD);

/** The tenant that owns the run; every gateway visibility query is scoped by it. */
export const TenantKey = defineSearchAttributeKey('WeftTenant', SearchAttributeType.KEYWORD);

/** Name → CLI type, as `temporal server start-dev --search-attribute NAME=TYPE` takes them. */
export const SEARCH_ATTRIBUTES: Record<string, 'Keyword'> = {
  [DefinitionIdKey.name]: 'Keyword',
  [DefinitionVersionKey.name]: 'Keyword',
  [RetryOfKey.name]: 'Keyword',
  [StatusKey.name]: 'Keyword',
  [TenantKey.name]: 'Keyword',
};

/** Registers any missing search attribute on the namespace (idempotent). */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = Object.keys(SEARCH_ATTRIBUTES).filter((name) => !(name in (existing.customAttributes ?? {})));
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(
      missing.map((name) => [name, proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
    ),
  });
}
