import type { RevokeResult } from './revocation.service';

/** JSON shapes shared by the CLI (--json) and the admin API. */
export function revokeResultJson(r: RevokeResult) {
  return { serial: r.serial, revoked: r.revoked, alreadyRevoked: !r.revoked, revokedAt: r.revokedAt.toISOString(), reason: r.reason };
}
