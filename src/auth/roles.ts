/**
 * Roles and what they permit. A role is a bundle of permissions; a caller holds one or more
 * roles within one tenant. `viewer` ⊂ `operator` ⊂ `editor` form a ladder; `approver` reads and
 * approves (approval nodes and publish approvals) without editing; `admin` holds everything.
 */
import { CALLER_ROLES } from '../../interpreter/approvals.js';

/** The language names them too: an approval node's `approvers` may list roles. */
export const ROLES = CALLER_ROLES;
export type Role = (typeof ROLES)[number];

/**
 * What an endpoint needs:
 * - `read`: definitions, runs, stats, metrics, audit;
 * - `run`: start runs, operator control actions, events, decode payloads;
 * - `edit`: submit and activate definitions;
 * - `approve`: approval nodes of runs and publish approvals of definition versions;
 * - `admin`: API keys, tenants and their settings.
 */
export const PERMISSIONS = ['read', 'run', 'edit', 'approve', 'admin'] as const;
export type Permission = (typeof PERMISSIONS)[number];

const GRANTS: Record<Role, readonly Permission[]> = {
  viewer: ['read'],
  operator: ['read', 'run'],
  editor: ['read', 'run', 'edit'],
  approver: ['read', 'approve'],
  admin: PERMISSIONS,
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** True when any of `roles` grants `permission`. */
export function permits(roles: readonly Role[], permission: Permission): boolean {
  return roles.some((role) => GRANTS[role].includes(permission));
}

/** The permissions `roles` grant together, in the order of PERMISSIONS. */
export function permissionsOf(roles: readonly Role[]): Permission[] {
  return PERMISSIONS.filter((permission) => permits(roles, permission));
}

/**
 * The roles whose permissions `roles` grant between them: the roles a caller counts as holding
 * where a role is named (an approval node's `approvers`), so `admin` holds every role and
 * `editor` holds `operator` and `viewer`.
 */
export function rolesHeld(roles: readonly Role[]): Role[] {
  return ROLES.filter((role) => GRANTS[role].every((permission) => permits(roles, permission)));
}
