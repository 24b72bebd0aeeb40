import { EntityManager, In } from 'typeorm';
import { Database } from './database';
import { dateParam, Dialect } from './dialect';
import { CertificateRow } from './entities/certificate.entity';
import { CrlStateRow } from './entities/crl-state.entity';
import { revocationReasonCode, revocationReasonFromCode, type RevocationReason } from '../pki/revocation-reason';
import { insertAudit } from './admin.repository';
import type {
  AuditFor,
  BulkRevocation,
  CertificateQuery,
  CertificateSummary,
  IssuedStatus,
  RevocationStateRow,
  RevocationStore,
  RevokedEntry,
  SerialRevocation,
  StoredCrl,
} from '../ca/revocation-ports';

const STATE_ID = 1;

/** SQLite hands raw datetimes back as UTC text 'YYYY-MM-DD HH:MM:SS.SSS'; PostgreSQL as Dates. */
function toDate(v: unknown): Date {
  if (v instanceof Date) return v;
  const s = String(v);
  return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s.replace(' ', 'T')}Z`);
}

const reasonOf = (code: number | null): RevocationReason => (code === null ? 'unspecified' : (revocationReasonFromCode(code) ?? 'unspecified'));

function dialectOfManager(m: EntityManager): Dialect {
  return m.connection.options.type === 'postgres' ? 'postgres' : 'sqlite';
}

async function bumpRevision(m: EntityManager, now: Date): Promise<void> {
  await m.createQueryBuilder().update('CrlState').set({ revision: () => 'revision + 1', updatedAt: now }).where('id = :id', { id: STATE_ID }).execute();
}

/**
 * Revokes every unexpired, unrevoked certificate of an integration on the caller's open transaction
 * `m`: one set-based UPDATE (50,000 rows in well under a second), plus the revision bump that tells
 * every instance to republish. Returns how many it revoked.
 */
export async function revokeIntegrationCertificates(m: EntityManager, integrationId: string, reason: RevocationReason, now: Date): Promise<number> {
  const res = await m
    .createQueryBuilder()
    .update('Certificate')
    .set({ status: 'revoked', revokedAt: now, revocationReason: revocationReasonCode(reason) })
    .where('integration_id = :integrationId AND status <> :revoked AND not_after > :now', { integrationId, revoked: 'revoked', now: dateParam(dialectOfManager(m), now) })
    .execute();
  const count = res.affected ?? 0;
  if (count) await bumpRevision(m, now);
  return count;
}

/** revokeIntegrationCertificates as the ca/ port sees it: the transaction handle is our EntityManager. */
export const bulkRevocation: BulkRevocation = (tx, integrationId, reason, now) => revokeIntegrationCertificates(tx as EntityManager, integrationId, reason, now);

/** TypeORM implementation of the revocation port. */
export class RevocationRepository implements RevocationStore {
  constructor(private readonly db: Database) {}

  /**
   * Reads through db.transaction() on SQLite: its single connection is shared, and a bare read could
   * otherwise land inside another caller's open transaction and see rows that may yet roll back.
   */
  private read<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.db.dialect === 'postgres' ? fn(this.db.manager) : this.db.transaction(fn);
  }

  private dp(d: Date): Date | string {
    return dateParam(this.db.dialect, d);
  }

  revokeSerial(serial: string, reason: RevocationReason, now: Date, audit?: AuditFor): Promise<SerialRevocation> {
    return this.db.transaction(async (m) => {
      const res = await m
        .createQueryBuilder()
        .update('Certificate')
        .set({ status: 'revoked', revokedAt: now, revocationReason: revocationReasonCode(reason) })
        .where('serial = :serial AND status <> :revoked', { serial, revoked: 'revoked' })
        .execute();
      if (res.affected) {
        await bumpRevision(m, now);
        if (audit) await insertAudit(m, audit(1));
        return { outcome: 'revoked', serial, revokedAt: now, reason };
      }
      const row = await m.getRepository<CertificateRow>('Certificate').findOne({ where: { serial }, select: { id: true, revokedAt: true, revocationReason: true } });
      if (!row) return { outcome: 'not-found', serial };
      return { outcome: 'already-revoked', serial, revokedAt: row.revokedAt ?? now, reason: reasonOf(row.revocationReason) };
    });
  }

  revokeDevice(integrationId: string, deviceId: string, reason: RevocationReason, now: Date, audit?: AuditFor): Promise<{ matched: number; revoked: number }> {
    return this.db.transaction(async (m) => {
      const matched = await m.getRepository<CertificateRow>('Certificate').count({ where: { integrationId, deviceId } });
      if (!matched) return { matched, revoked: 0 };
      const res = await m
        .createQueryBuilder()
        .update('Certificate')
        .set({ status: 'revoked', revokedAt: now, revocationReason: revocationReasonCode(reason) })
        .where('integration_id = :integrationId AND device_id = :deviceId AND status <> :revoked AND not_after > :now', {
          integrationId,
          deviceId,
          revoked: 'revoked',
          now: this.dp(now),
        })
        .execute();
      const revoked = res.affected ?? 0;
      if (revoked) await bumpRevision(m, now);
      if (revoked && audit) await insertAudit(m, audit(revoked));
      return { matched, revoked };
    });
  }

  revokeIntegration(integrationId: string, reason: RevocationReason, now: Date, audit?: AuditFor): Promise<number> {
    return this.db.transaction(async (m) => {
      const n = await revokeIntegrationCertificates(m, integrationId, reason, now);
      if (n && audit) await insertAudit(m, audit(n));
      return n;
    });
  }

  async countRevocable(integrationId: string, now: Date): Promise<{ certificates: number; devices: number }> {
    const [row] = await this.read((m) =>
      m
        .createQueryBuilder()
        .select('COUNT(*)', 'certificates')
        .addSelect('COUNT(DISTINCT c.device_id)', 'devices')
        .from('certificates', 'c')
        .where("c.integration_id = :integrationId AND c.status <> 'revoked' AND c.not_after > :now", { integrationId, now: this.dp(now) })
        .getRawMany(),
    );
    return { certificates: Number(row?.certificates ?? 0), devices: Number(row?.devices ?? 0) };
  }

  async listCertificates(q: CertificateQuery, now: Date): Promise<CertificateSummary[]> {
    const qb = this.db.manager
      .getRepository<CertificateRow>('Certificate')
      .createQueryBuilder('c')
      .select(['c.id', 'c.serial', 'c.subject', 'c.status', 'c.notBefore', 'c.notAfter', 'c.integrationId', 'c.deviceId', 'c.revokedAt', 'c.revocationReason'])
      .orderBy('c.id', 'ASC')
      .take(q.limit);
    if (q.afterId !== undefined) qb.andWhere('c.id > :afterId', { afterId: q.afterId });
    if (q.integrationId !== undefined) qb.andWhere('c.integrationId = :integrationId', { integrationId: q.integrationId });
    if (q.status === 'revoked') qb.andWhere("c.status = 'revoked'");
    if (q.status === 'valid') qb.andWhere("c.status <> 'revoked' AND c.notAfter > :now", { now: this.dp(now) });
    if (q.status === 'expired') qb.andWhere("c.status <> 'revoked' AND c.notAfter <= :now", { now: this.dp(now) });
    const rows = await this.read(() => qb.getMany());
    return rows.map((r) => ({
      id: r.id,
      serial: r.serial,
      subject: r.subject,
      status: r.status !== 'revoked' && r.notAfter.getTime() <= now.getTime() ? 'expired' : r.status,
      notBefore: r.notBefore,
      notAfter: r.notAfter,
      integrationId: r.integrationId,
      deviceId: r.deviceId,
      revokedAt: r.revokedAt,
      reason: r.status === 'revoked' ? reasonOf(r.revocationReason) : null,
    }));
  }

  readState(): Promise<RevocationStateRow> {
    return this.read(async (m) => {
      const row = await m.getRepository<CrlStateRow>('CrlState').findOne({
        where: { id: STATE_ID },
        select: { id: true, revision: true, crlNumber: true, crlRevision: true, issuerKeyId: true, thisUpdate: true, nextUpdate: true },
      });
      if (!row) throw new Error('crl_state row missing (migrations not run?)');
      return {
        revision: Number(row.revision),
        crlNumber: BigInt(row.crlNumber),
        crlRevision: Number(row.crlRevision),
        issuerKeyId: row.issuerKeyId,
        thisUpdate: row.thisUpdate,
        nextUpdate: row.nextUpdate,
      };
    });
  }

  /**
   * Every revoked row, 100,000 in about half a second on SQLite. The database says whether each has
   * expired, and equal revocation times (bulk revocations) are parsed once: parsing dates was a third
   * of the cost.
   */
  loadRevoked(now: Date): Promise<{ revision: number; entries: RevokedEntry[] }> {
    return this.read(async (m) => {
      // the revision first: the rows read after it are at least that new
      const [state] = await m.createQueryBuilder().select('s.revision', 'revision').from('crl_state', 's').where('s.id = :id', { id: STATE_ID }).getRawMany();
      const rows: { serial: string; revoked_at: unknown; reason: number | null; expired: number | string }[] = await m
        .createQueryBuilder()
        .select('c.serial', 'serial')
        .addSelect('c.revoked_at', 'revoked_at')
        .addSelect('c.revocation_reason', 'reason')
        .addSelect('CASE WHEN c.not_after > :now THEN 0 ELSE 1 END', 'expired')
        .from('certificates', 'c')
        .where("c.status = 'revoked'")
        .setParameters({ now: this.dp(now) })
        .getRawMany();
      const entries: RevokedEntry[] = new Array(rows.length);
      let lastRaw: unknown;
      let lastDate = new Date(0);
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        if (r.revoked_at !== lastRaw || r.revoked_at instanceof Date) {
          lastRaw = r.revoked_at;
          lastDate = toDate(r.revoked_at);
        }
        entries[i] = { serialHex: r.serial, revokedAt: lastDate, reason: reasonOf(r.reason === null ? null : Number(r.reason)), expired: Number(r.expired) === 1 };
      }
      return { revision: Number(state?.revision ?? 0), entries };
    });
  }

  loadCrl(): Promise<StoredCrl | undefined> {
    return this.read(async (m) => {
      const row = await m.getRepository<CrlStateRow>('CrlState').findOne({ where: { id: STATE_ID } });
      if (!row?.der || !row.thisUpdate || !row.nextUpdate || !row.issuerKeyId) return undefined;
      return {
        der: Buffer.from(row.der),
        crlNumber: BigInt(row.crlNumber),
        revision: Number(row.crlRevision),
        issuerKeyId: row.issuerKeyId,
        thisUpdate: row.thisUpdate,
        nextUpdate: row.nextUpdate,
      };
    });
  }

  storeCrl(previousNumber: bigint, crl: StoredCrl, now: Date): Promise<boolean> {
    return this.db.transaction(async (m) => {
      const res = await m
        .createQueryBuilder()
        .update('CrlState')
        .set({
          crlNumber: String(crl.crlNumber),
          crlRevision: crl.revision,
          issuerKeyId: crl.issuerKeyId,
          thisUpdate: crl.thisUpdate,
          nextUpdate: crl.nextUpdate,
          der: crl.der,
          updatedAt: now,
        })
        // compare-and-set: of two instances publishing at once, exactly one stores its CRL
        .where('id = :id AND crl_number = :previous', { id: STATE_ID, previous: String(previousNumber) })
        .execute();
      return Boolean(res.affected);
    });
  }

  findIssued(serials: string[]): Promise<Map<string, IssuedStatus>> {
    return this.read(async (m) => {
      const found = new Map<string, IssuedStatus>();
      for (let i = 0; i < serials.length; i += 500) {
        const rows = await m
          .getRepository<CertificateRow>('Certificate')
          .find({ where: { serial: In(serials.slice(i, i + 500)) }, select: { id: true, serial: true, status: true, revokedAt: true, revocationReason: true } });
        for (const r of rows) found.set(r.serial, r.status === 'revoked' ? { revokedAt: r.revokedAt, reason: reasonOf(r.revocationReason) } : { revokedAt: null, reason: null });
      }
      return found;
    });
  }
}
