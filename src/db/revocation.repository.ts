import { EntityManager, In } from 'typeorm';
import { Database } from './database';
import { dateParam, dbDate, Dialect } from './dialect';
import { CertificateRow } from './entities/certificate.entity';
import { CrlStateRow } from './entities/crl-state.entity';
import { revocationReasonCode, revocationReasonFromCode, type RevocationReason } from '../pki/revocation-reason';
import { insertAudit } from './admin.repository';
import { managerOf, type Transaction } from './transaction';
import type { AuditFor, IssuedStatus, RevocationStateRow, RevokedEntry, SerialRevocation, StoredCrl } from '../ca/revocation.types';

const STATE_ID = 1;

const reasonOf = (code: number | null): RevocationReason => (code === null ? 'unspecified' : (revocationReasonFromCode(code) ?? 'unspecified'));

function dialectOfManager(m: EntityManager): Dialect {
  return m.connection.options.type === 'postgres' ? 'postgres' : 'sqlite';
}

/**
 * Takes the next revision for the rows this transaction is about to revoke; they are stamped with it
 * so that every instance loads only revocations newer than the revision it has seen. The bump comes
 * first on purpose: on PostgreSQL its row lock is held until COMMIT (SQLite's BEGIN IMMEDIATE
 * serialises writers anyway), so revisions are taken in commit order, and an instance that has read
 * revision N committed has every row stamped N or less.
 */
async function takeRevision(m: EntityManager, now: Date): Promise<number> {
  await m
    .createQueryBuilder()
    .update('CrlState')
    .set({ revision: () => 'revision + 1', updatedAt: now })
    .where('id = :id', { id: STATE_ID })
    .execute();
  const [row] = await m.createQueryBuilder().select('s.revision', 'revision').from('crl_state', 's').where('s.id = :id', { id: STATE_ID }).getRawMany();
  return Number(row.revision);
}

/** Revokes the certificates `where` selects, stamped with a new revision, if there are any. */
async function revokeWhere(m: EntityManager, where: string, params: Record<string, unknown>, reason: RevocationReason, now: Date): Promise<number> {
  // counted first: a revision taken for nothing would make every instance republish the CRL
  const [{ n }] = await m.createQueryBuilder().select('COUNT(*)', 'n').from('certificates', 'c').where(where, params).getRawMany();
  if (!Number(n)) return 0;
  const revision = await takeRevision(m, now);
  const res = await m
    .createQueryBuilder()
    .update('Certificate')
    .set({ status: 'revoked', revokedAt: now, revocationReason: revocationReasonCode(reason), revocationRevision: revision })
    .where(where, params)
    .execute();
  return res.affected ?? 0;
}

/**
 * Revokes every unexpired, unrevoked certificate of an integration on the caller's open transaction
 * `m`: one set-based UPDATE (50,000 rows in well under a second), plus the revision bump that tells
 * every instance to republish. Returns how many it revoked.
 */
export function revokeIntegrationCertificates(m: EntityManager, integrationId: string, reason: RevocationReason, now: Date): Promise<number> {
  return revokeWhere(
    m,
    'integration_id = :integrationId AND status <> :revoked AND not_after > :now',
    { integrationId, revoked: 'revoked', now: dateParam(dialectOfManager(m), now) },
    reason,
    now,
  );
}

/**
 * Persistence for revocation. Each revoking method is one database transaction that also bumps the
 * revision, so a poll of readState() sees every change made by any process.
 */
export class RevocationRepository {
  constructor(private readonly db: Database) {}

  /**
   * Reads between this process's transactions on SQLite: its single connection is shared, and a bare
   * read could otherwise land inside another caller's open transaction and see rows that may yet
   * roll back. (Not in a transaction of its own: that would take SQLite's write lock for a read.)
   */
  private read<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.db.betweenTransactions(fn);
  }

  private dp(d: Date): Date | string {
    return dateParam(this.db.dialect, d);
  }

  revokeSerial(serial: string, reason: RevocationReason, now: Date, audit?: AuditFor): Promise<SerialRevocation> {
    return this.db.transaction(async (m) => {
      if (await revokeWhere(m, 'serial = :serial AND status <> :revoked', { serial, revoked: 'revoked' }, reason, now)) {
        if (audit) await insertAudit(m, audit(1));
        return { outcome: 'revoked', serial, revokedAt: now, reason };
      }
      const row = await m
        .getRepository<CertificateRow>('Certificate')
        .findOne({ where: { serial }, select: { id: true, revokedAt: true, revocationReason: true } });
      if (!row) return { outcome: 'not-found', serial };
      return { outcome: 'already-revoked', serial, revokedAt: row.revokedAt ?? now, reason: reasonOf(row.revocationReason) };
    });
  }

  /** every unexpired, unrevoked certificate of one device; `matched` counts all its certificates */
  revokeDevice(integrationId: string, deviceId: string, reason: RevocationReason, now: Date, audit?: AuditFor): Promise<{ matched: number; revoked: number }> {
    return this.db.transaction(async (m) => {
      const matched = await m.getRepository<CertificateRow>('Certificate').count({ where: { integrationId, deviceId } });
      if (!matched) return { matched, revoked: 0 };
      const revoked = await revokeWhere(
        m,
        'integration_id = :integrationId AND device_id = :deviceId AND status <> :revoked AND not_after > :now',
        { integrationId, deviceId, revoked: 'revoked', now: this.dp(now) },
        reason,
        now,
      );
      if (revoked && audit) await insertAudit(m, audit(revoked));
      return { matched, revoked };
    });
  }

  /** revokeIntegration inside the caller's open transaction `tx` (no audit record: the caller writes its own) */
  revokeIntegrationIn(tx: Transaction, integrationId: string, reason: RevocationReason, now: Date): Promise<number> {
    return revokeIntegrationCertificates(managerOf(tx), integrationId, reason, now);
  }

  revokeIntegration(integrationId: string, reason: RevocationReason, now: Date, audit?: AuditFor): Promise<number> {
    return this.db.transaction(async (m) => {
      const n = await revokeIntegrationCertificates(m, integrationId, reason, now);
      if (n && audit) await insertAudit(m, audit(n));
      return n;
    });
  }

  /** what revokeIntegration would revoke now: unexpired, unrevoked certificates and their devices */
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

  readState(): Promise<RevocationStateRow> {
    return this.read(async (m) => {
      const rows = await m.getRepository<CrlStateRow>('CrlState').find({
        select: { id: true, revision: true, crlNumber: true, crlRevision: true, issuerKeyId: true, thisUpdate: true, nextUpdate: true },
      });
      const first = rows.find((r) => r.id === STATE_ID);
      if (!first) throw new Error('crl_state row missing (migrations not run?)');
      const crls = new Map(
        rows.map((row) => [
          row.id,
          {
            crlNumber: BigInt(row.crlNumber),
            crlRevision: Number(row.crlRevision),
            issuerKeyId: row.issuerKeyId,
            thisUpdate: row.thisUpdate,
            nextUpdate: row.nextUpdate,
          },
        ]),
      );
      return { revision: Number(first.revision), crls };
    });
  }

  /**
   * Revoked rows, expired ones too: all of them (100,000 in about half a second on SQLite), or only
   * those revoked by transactions after revision `since`; and the revision they are at least as new as. Equal revocation times (bulk revocations) are parsed once:
   * parsing dates was a third of the cost.
   */
  loadRevoked(since?: number): Promise<{ revision: number; entries: RevokedEntry[] }> {
    return this.read(async (m) => {
      // the revision first: the rows read after it are at least that new
      const [state] = await m.createQueryBuilder().select('s.revision', 'revision').from('crl_state', 's').where('s.id = :id', { id: STATE_ID }).getRawMany();
      const qb = m
        .createQueryBuilder()
        .select('c.serial', 'serial')
        .addSelect('c.revoked_at', 'revoked_at')
        .addSelect('c.revocation_reason', 'reason')
        .addSelect('c.not_after', 'not_after')
        .addSelect('c.ca_generation', 'generation')
        .from('certificates', 'c');
      // a stamped row is revoked (the same UPDATE sets both); without the status condition the
      // planner uses the revision index instead of walking every revoked row by status
      if (since === undefined) qb.where("c.status = 'revoked'");
      else qb.where('c.revocation_revision > :since', { since });
      const rows: { serial: string; revoked_at: unknown; reason: number | null; not_after: unknown; generation: number | string }[] = await qb.getRawMany();
      let lastRaw: unknown;
      let lastDate = new Date(0);
      const entries = rows.map((r): RevokedEntry => {
        if (r.revoked_at !== lastRaw || r.revoked_at instanceof Date) {
          lastRaw = r.revoked_at;
          lastDate = dbDate(r.revoked_at);
        }
        return {
          serialHex: r.serial,
          revokedAt: lastDate,
          reason: reasonOf(r.reason === null ? null : Number(r.reason)),
          notAfter: dbDate(r.not_after),
          generation: Number(r.generation),
        };
      });
      return { revision: Number(state?.revision ?? 0), entries };
    });
  }

  /** the CRL stored for CA generation `generation` */
  loadCrl(generation: number): Promise<StoredCrl | undefined> {
    return this.read(async (m) => {
      const row = await m.getRepository<CrlStateRow>('CrlState').findOne({ where: { id: generation } });
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

  /** stores `crl` only if the stored CRL number is still `previousNumber` (false: another instance won) */
  storeCrl(generation: number, previousNumber: bigint, crl: StoredCrl, now: Date): Promise<boolean> {
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
        .where('id = :id AND crl_number = :previous', { id: generation, previous: String(previousNumber) })
        .execute();
      return Boolean(res.affected);
    });
  }

  /** which of `serials` we issued (absent: never), with the revocation if the database already has one */
  findIssued(serials: string[]): Promise<Map<string, IssuedStatus>> {
    return this.read(async (m) => {
      const found = new Map<string, IssuedStatus>();
      for (let i = 0; i < serials.length; i += 500) {
        const rows = await m.getRepository<CertificateRow>('Certificate').find({
          where: { serial: In(serials.slice(i, i + 500)) },
          select: { id: true, serial: true, status: true, revokedAt: true, revocationReason: true, caGeneration: true },
        });
        for (const r of rows) {
          const generation = Number(r.caGeneration);
          found.set(
            r.serial,
            r.status === 'revoked'
              ? { generation, revokedAt: r.revokedAt, reason: reasonOf(r.revocationReason) }
              : { generation, revokedAt: null, reason: null },
          );
        }
      }
      return found;
    });
  }
}
