import type { CertificateSummary } from './revocation-ports';
import type { RevokeResult } from './revocation.service';

/** JSON shapes shared by the CLI (--json) and the admin API. */
export function revokeResultJson(r: RevokeResult) {
  return { serial: r.serial, revoked: r.revoked, alreadyRevoked: !r.revoked, revokedAt: r.revokedAt.toISOString(), reason: r.reason };
}

export function certificateJson(c: CertificateSummary) {
  return {
    id: c.id,
    serial: c.serial,
    subject: c.subject,
    status: c.status,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    integrationId: c.integrationId,
    deviceId: c.deviceId,
    revokedAt: c.revokedAt?.toISOString() ?? null,
    reason: c.reason,
  };
}
