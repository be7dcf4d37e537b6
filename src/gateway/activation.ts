/** What activating a version involves, shared by `PUT /active` and publish approvals. */
import { HttpError } from '../shared/http-error.js';
import type { TenantScope } from './tenant-scopes.js';

/** Whether `version` has an approval not withdrawn by a later rejection. */
export async function isApproved(scope: TenantScope, id: string, version: string): Promise<boolean> {
  const verdicts = (await scope.definitions.history(id)).filter(
    (e) => e.version === version && (e.action === 'approved' || e.action === 'rejected'),
  );
  return verdicts.at(-1)?.action === 'approved';
}

/** Brings schedules in step with the active version; a failure says the version is safe. */
export async function activateSchedules(scope: TenantScope, id: string, version: string): Promise<void> {
  if (!scope.schedules) return;
  try {
    await scope.schedules.sync(id);
  } catch (err) {
    if (err instanceof HttpError && err.code === 'unavailable') {
      throw new HttpError(
        'unavailable',
        `version ${version} of "${id}" is stored, but its schedules could not be updated (${err.message}); repeat the request to retry`,
      );
    }
    throw err;
  }
}
