import { Database, isUniqueViolation } from './database';
import { dateParam } from './dialect';
import { rawQuery } from './raw-sql';
import { IssuanceBatcher } from './issuance-batch';
import { TransactionLookupBatcher, TransactionRow } from './transaction-lookup-batch';
import { CertificateRow } from './entities/certificate.entity';
import { ScepTransactionRow } from './entities/scep-transaction.entity';
import { IssuanceOutcome, IssuanceRecord, StoredCertificate, StoredTransaction } from '../scep/scep.ports';
import { PkiStatus } from '../scep/scep.types';

/** Raised inside the issuing transaction to roll it back when the challenge is gone. */
class ChallengeGone extends Error {}
/** Raised inside the issuing transaction to roll it back when the renewed certificate is no longer valid. */
class AlreadyRenewed extends Error {}

/** TypeORM implementation of the SCEP service's persistence port. */
export class ScepStoreRepository {
  /** concurrent issuances are written together on SQLite (see IssuanceBatcher) */
  private readonly batcher: IssuanceBatcher;
  /** and the lookups that start every enrollment are read together (see TransactionLookupBatcher) */
  private readonly lookups: TransactionLookupBatcher;

  constructor(private readonly db: Database) {
    this.batcher = new IssuanceBatcher(db, (r, now) => this.recordIssuanceAlone(r, now));
    this.lookups = new TransactionLookupBatcher(db);
  }

  private get tx() {
    return this.db.manager.getRepository<ScepTransactionRow>('ScepTransaction');
  }
  private get certs() {
    return this.db.manager.getRepository<CertificateRow>('Certificate');
  }

  /**
   * Committed outcomes only. The first read is the hot path of every enrollment and usually finds
   * nothing; a row it finds on SQLite may belong to an issuance batch not yet committed, and
   * answering a retry with that certificate would hand out one the database may never record (a
   * crash or rollback before COMMIT). So a found row is read again between transactions.
   */
  async findTransaction(endpointId: string, transactionId: string): Promise<StoredTransaction | undefined> {
    if (this.db.dialect !== 'sqlite') return toStored(await TransactionLookupBatcher.readOne(this.db.manager, this.db, endpointId, transactionId));
    const seen = await this.lookups.find(endpointId, transactionId);
    if (!seen) return undefined;
    return toStored(await this.db.betweenTransactions((m) => TransactionLookupBatcher.readOne(m, this.db, endpointId, transactionId)));
  }

  async findCertificate(serialHex: string): Promise<StoredCertificate | undefined> {
    const row = await this.certs.findOne({ where: { serial: serialHex } });
    if (!row) return undefined;
    return { serial: row.serial, der: row.der, status: row.status, notAfter: row.notAfter, integrationId: row.integrationId, deviceId: row.deviceId };
  }

  /**
   * Redeems the challenge, records the transaction and the certificate, and supersedes the renewed
   * certificate, all in one database transaction: either everything is visible or nothing is.
   */
  recordIssuance(r: IssuanceRecord, now: Date): Promise<IssuanceOutcome> {
    return this.db.dialect === 'sqlite' ? this.batcher.submit(r, now) : this.recordIssuanceAlone(r, now);
  }

  /** One issuance in its own transaction: the reference that IssuanceBatcher's statements follow. */
  private async recordIssuanceAlone(r: IssuanceRecord, now: Date): Promise<IssuanceOutcome> {
    const cert = r.certificate;
    try {
      await this.db.transaction(async (m) => {
        if (r.challengeId) {
          const res = await m
            .createQueryBuilder()
            .update('Challenge')
            .set({ usedAt: now })
            .where('id = :id AND used_at IS NULL AND expires_at > :now', { id: r.challengeId, now: dateParam(this.db.dialect, now) })
            .execute();
          if (!res.affected) throw new ChallengeGone();
        }
        // the same key may replace its own earlier outcome: a refusal, or the certificate it renews
        const txRepo = m.getRepository<ScepTransactionRow>('ScepTransaction');
        const sql = <T>(text: string, params: unknown[]) => rawQuery<T>(m, this.db.dialect, text, params);
        const at = dateParam(this.db.dialect, now);
        // refusals are not stored; a refusal row in a restored older database binds no key
        await sql('DELETE FROM scep_transactions WHERE endpoint_id = ? AND transaction_id = ? AND pki_status = ?', [
          r.endpointId,
          r.transactionId,
          PkiStatus.FAILURE,
        ]);
        for (const serial of [...(r.supersedes ?? []), ...(r.renews ? [r.renews] : [])]) {
          await txRepo.delete({ endpointId: r.endpointId, transactionId: r.transactionId, publicKeyHash: r.publicKeyHash, certificateSerial: serial });
        }
        if (r.renews) {
          // the renewed certificate must still be valid: of two renewals of one certificate, one wins
          const res = await rawQuery<{ affected?: number }>(
            m,
            this.db.dialect,
            'UPDATE certificates SET status = ? WHERE serial = ? AND status = ?',
            ['superseded', r.renews, 'valid'],
            true,
          );
          if (res.affected !== 1) throw new AlreadyRenewed();
        }
        await sql(
          'INSERT INTO scep_transactions (endpoint_id, transaction_id, public_key_hash, message_type, pki_status, certificate_serial, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
          [r.endpointId, r.transactionId, r.publicKeyHash, r.messageType, PkiStatus.SUCCESS, cert.serialHex, at, at],
        );
        if (r.supersedes?.length) {
          await m
            .createQueryBuilder()
            .update('certificates')
            .set({ status: 'superseded' })
            .where('serial IN (:...serials) AND status = :valid', { serials: r.supersedes, valid: 'valid' })
            .execute();
        }
        // one current certificate per device and integration: re-enrollment (iOS renews with a new
        // key and a fresh challenge) supersedes the older ones, which stay usable until they expire
        if (r.integrationId && r.deviceId) {
          await m
            .createQueryBuilder()
            .update('certificates')
            .set({ status: 'superseded' })
            .where('integration_id = :iid AND device_id = :did AND status = :valid', { iid: r.integrationId, did: r.deviceId, valid: 'valid' })
            .execute();
        }
        await sql(
          'INSERT INTO certificates (serial, subject, fingerprint_sha256, public_key_hash, not_before, not_after, der, transaction_id, endpoint_id, integration_id, device_id, status, renewed_from, ca_generation, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
          [
            cert.serialHex,
            cert.subject.slice(0, 1024),
            cert.fingerprintSha256,
            r.publicKeyHash,
            dateParam(this.db.dialect, cert.notBefore),
            dateParam(this.db.dialect, cert.notAfter),
            cert.der,
            r.transactionId,
            r.endpointId,
            r.integrationId ?? null,
            r.deviceId ?? null,
            'valid',
            r.renews ?? null,
            r.caGeneration ?? 1,
            at,
          ],
        );
      });
      return 'issued';
    } catch (err) {
      if (err instanceof ChallengeGone) return 'challenge-used';
      if (err instanceof AlreadyRenewed) return 'already-renewed';
      // renewed_from is unique too: a renewal that lost to another one
      if (isUniqueViolation(err)) return r.renews && /renewed_from/.test(String((err as Error).message)) ? 'already-renewed' : 'duplicate-transaction';
      throw err;
    }
  }
}

function toStored(row: TransactionRow | undefined): StoredTransaction | undefined {
  if (!row) return undefined;
  return {
    publicKeyHash: row.public_key_hash,
    pkiStatus: Number(row.pki_status) as PkiStatus,
    failInfo: row.fail_info ?? undefined,
    failText: row.fail_text ?? undefined,
    certificateSerial: row.certificate_serial ?? undefined,
  };
}
