/**
 * Keeps the `WeftStatus` search attribute current when a run is paused and resumed, so the Web
 * UI and `GET /v1/runs?status=paused` can find paused runs (to Temporal a paused run is simply
 * running). Only pause-related changes are published: a run that is never paused gets no extra
 * history event, and its closed status is Temporal's own.
 *
 * Runs recorded before this existed carry no marker, and `patched()` keeps them replaying the
 * old way; new runs record the marker the first time they are paused.
 */
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import { patched, upsertSearchAttributes } from '@temporalio/workflow';
import type { RunStatus } from '../interpreter/run-state.js';

export const StatusKey = defineSearchAttributeKey('WeftStatus', SearchAttributeType.KEYWORD);
export const STATUS_ATTRIBUTE_PATCH = 'weft-status-search-attribute';

/** Returns a function to call after every step with the run's status. */
export function statusPublisher(): (status: RunStatus) => void {
  let published: RunStatus = 'running';
  return (status) => {
    if (status === published) return;
    const pauseRelated = status === 'paused' || published === 'paused';
    if (pauseRelated && patched(STATUS_ATTRIBUTE_PATCH)) upsertSearchAttributes([{ key: StatusKey, value: status }]);
    published = status;
  };
}
