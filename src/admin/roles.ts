import { ForbiddenError } from '../shared/errors';

export const ROLES = ['owner', 'administrator', 'application-manager', 'read-only'] as const;
export type Role = (typeof ROLES)[number];

/**
 * What an admin API route (or CLI-equivalent operation) needs. Every route declares exactly one
 * (see `allow()` in http/admin/admin-auth.ts); the table below says which roles hold it. The same
 * table is documented in docs/integrations.md ("Roles") and a test compares the two.
 */
export const PERMISSIONS = {
  'session:read': 'see which key and role is calling (whoami) and the OpenAPI document',
  'integrations:read':
    'list and show integrations, WS1 settings (without secrets) and sync state, the device-trust policy, certificates, devices and the synced inventory (lists and CSV), deletion previews, inventory search, App Config keys, migration states',
  'integrations:write':
    'create and rename integrations, set status, rotate challenge credentials, set the subject template, mint profiles, run WS1 Test Configuration and sync, set and remove device-trust policies',
  'certificates:revoke': 'revoke one certificate, or the certificates of one device',
  'integrations:delete': 'delete an integration, revoking all its certificates in bulk (with or without force)',
  'ws1:configure': 'set the WS1 destination: URL, username, password, API key and extra CA',
  'migrations:run':
    'run the legacy ios-certs migration steps (plan, apply, verify, cutover, finalize, rollback), including their force options: cutover moves users and finalize revokes the legacy certificates in bulk',
  'groups:read': 'list and show user groups',
  'groups:write': 'create and delete groups, add and remove their members',
  'audit:read': "read the audit log, the authentication log and a device's logins",
  'api-keys:manage': 'create, list and revoke API keys (owner keys only by an owner)',
  'users:manage': 'list the people who sign in to the web console; creating, changing, disabling and deleting them is for owners only',
} as const;
export type Permission = keyof typeof PERMISSIONS;

const ALL = Object.keys(PERMISSIONS) as Permission[];

/**
 * What each role may do. An application manager runs integrations day to day but cannot point
 * the stored WS1 secrets elsewhere, delete integrations or run migration steps (bulk revocations,
 * forced cutovers) or manage users, groups, keys or read the audit log.
 */
const GRANTS: Record<Role, ReadonlySet<Permission>> = {
  owner: new Set(ALL),
  administrator: new Set(ALL),
  'application-manager': new Set<Permission>(['session:read', 'integrations:read', 'integrations:write', 'certificates:revoke', 'groups:read']),
  'read-only': new Set<Permission>(['session:read', 'integrations:read', 'groups:read', 'audit:read']),
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(PERMISSIONS, value);
}

export function can(role: Role, permission: Permission): boolean {
  return GRANTS[role].has(permission);
}

export function requirePermission(role: Role, permission: Permission): void {
  if (!can(role, permission)) throw new ForbiddenError(`role ${role} may not do this (needs ${permission})`);
}

/** Only an owner mints or revokes owner keys, so an administrator cannot escalate or lock owners out. */
export function requireMayGrant(role: Role, granted: Role, action: 'create' | 'revoke' = 'create'): void {
  requirePermission(role, 'api-keys:manage');
  if (granted === 'owner' && role !== 'owner') throw new ForbiddenError(`only an owner may ${action} owner keys`);
}
