import { EntityManager } from 'typeorm';
import type { AuditRecord } from '../admin/audit.types';
import type { DeviceCertificate, IssuedCertificate, StoredPolicy, TrustPolicyStore } from '../trust/trust.ports';
import type { TrustPolicy } from '../trust/trust.types';
import { insertAudit } from './admin.repository';
import { Database } from './database';
import { CertificateRow } from './entities/certificate.entity';
import { TrustPolicyRow } from './entities/trust-policy.entity';

const GLOBAL = '';

/** Device-trust reads of the certificates table, last-seen updates, and the policies. */
export class TrustRepository implements TrustPolicyStore {
  constructor(private readonly db: Database) {}

  /** SQLite shares one connection: a bare read could land inside another caller's open transaction. */
  private read<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.db.dialect === 'postgres' ? fn(this.db.manager) : this.db.transaction(fn);
  }

  findBySerial(serial: string): Promise<IssuedCertificate | undefined> {
    return this.read(async (m) => {
      const row = await m.getRepository<CertificateRow>('Certificate').findOne({
        where: { serial },
        select: { id: true, serial: true, fingerprintSha256: true, integrationId: true, deviceId: true },
      });
      return row ? { serial: row.serial, fingerprintSha256: row.fingerprintSha256, integrationId: row.integrationId, deviceId: row.deviceId } : undefined;
    });
  }

  listForDevice(deviceId: string): Promise<DeviceCertificate[]> {
    return this.read(async (m) => {
      const rows = await m.getRepository<CertificateRow>('Certificate').find({
        where: { deviceId },
        order: { notBefore: 'ASC', id: 'ASC' },
        take: 1000,
        select: {
          id: true,
          serial: true,
          subject: true,
          fingerprintSha256: true,
          integrationId: true,
          deviceId: true,
          status: true,
          notBefore: true,
          notAfter: true,
          revokedAt: true,
          lastSeenAt: true,
        },
      });
      return rows.map((r) => ({
        serial: r.serial,
        subject: r.subject,
        fingerprintSha256: r.fingerprintSha256,
        integrationId: r.integrationId,
        deviceId: r.deviceId,
        status: r.status,
        notBefore: r.notBefore,
        notAfter: r.notAfter,
        revokedAt: r.revokedAt,
        lastSeenAt: r.lastSeenAt,
      }));
    });
  }

  /** last_seen_at for many certificates at once (a debounced batch) */
  async touchLastSeen(seen: ReadonlyMap<string, Date>): Promise<void> {
    if (!seen.size) return;
    await this.db.transaction(async (m) => {
      const repo = m.getRepository<CertificateRow>('Certificate');
      for (const [serial, at] of seen) await repo.update({ serial }, { lastSeenAt: at });
    });
  }

  async listPolicies(): Promise<StoredPolicy[]> {
    const rows = await this.read((m) => m.getRepository<TrustPolicyRow>('TrustPolicy').find());
    return rows.map((r) => ({ application: r.application === GLOBAL ? null : r.application, policy: r.policy as TrustPolicy, updatedAt: r.updatedAt }));
  }

  async removePolicy(application: string, audit: AuditRecord): Promise<boolean> {
    return this.db.transaction(async (m) => {
      const res = await m.getRepository<TrustPolicyRow>('TrustPolicy').delete({ application });
      if (!res.affected) return false;
      await insertAudit(m, audit);
      return true;
    });
  }

  async setPolicy(application: string | null, policy: TrustPolicy, now: Date, audit: AuditRecord): Promise<void> {
    await this.db.transaction(async (m) => {
      const repo = m.getRepository<TrustPolicyRow>('TrustPolicy');
      const key = application ?? GLOBAL;
      const res = await repo.update({ application: key }, { policy, updatedAt: now });
      if (!res.affected) await repo.insert({ application: key, policy, updatedAt: now });
      await insertAudit(m, audit);
    });
  }
}
