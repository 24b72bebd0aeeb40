import { ForbiddenError } from '../shared/errors';

export const ROLES = ['owner', 'administrator', 'application-manager', 'read-only'] as const;
export type Role = (typeof ROLES)[number];

export type Permission = 'integrations:read' | 'integrations:write' | 'groups:read' | 'groups:write' | 'audit:read' | 'api-keys:manage';

const ALL: Permission[] = ['integrations:read', 'integrations:write', 'groups:read', 'groups:write', 'audit:read', 'api-keys:manage'];

/**
 * What each role may do. An application manager manages integrations (and may read the groups a
 * test-group status names) but not users, groups, keys or the audit log.
 */
const GRANTS: Record<Role, ReadonlySet<Permission>> = {
  owner: new Set(ALL),
  administrator: new Set(ALL),
  'application-manager': new Set<Permission>(['integrations:read', 'integrations:write', 'groups:read']),
  'read-only': new Set<Permission>(['integrations:read', 'groups:read', 'audit:read']),
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function can(role: Role, permission: Permission): boolean {
  return GRANTS[role].has(permission);
}

export function requirePermission(role: Role, permission: Permission): void {
  if (!can(role, permission)) throw new ForbiddenError(`role ${role} may not do this (needs ${permission})`);
}

/** Only an owner mints owner keys, so an administrator cannot escalate. */
export function requireMayGrant(role: Role, granted: Role): void {
  requirePermission(role, 'api-keys:manage');
  if (granted === 'owner' && role !== 'owner') throw new ForbiddenError('only an owner may create owner keys');
}
