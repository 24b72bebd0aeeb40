import { Database, isUniqueViolation } from './database';
import { dateParam } from './dialect';
import { CertificateRow } from './entities/certificate.entity';
import { ScepTransactionRow } from './entities/scep-transaction.entity';
import { IssuanceOutcome, IssuanceRecord, ScepStore, StoredCertificate, StoredTransaction } from '../scep/scep-ports';
import { FailInfo, MessageType, PkiStatus } from '../scep/scep-types';

/** Raised inside the issuing transaction to roll it back when the challenge is gone. */
class ChallengeGone extends Error {}

/** TypeORM implementation of the SCEP service's persistence port. */
export class ScepStoreRepository implements ScepStore {
  constructor(private readonly db: Database) {}

  private get tx() {
    return this.db.manager.getRepository<ScepTransactionRow>('ScepTransaction');
  }
  private get certs() {
    return this.db.manager.getRepository<CertificateRow>('Certificate');
  }

  async findTransaction(endpointId: string, transactionId: string): Promise<StoredTransaction | undefined> {
    const row = await this.tx.findOne({ where: { endpointId, transactionId } });
    if (!row) return undefined;
    return {
      publicKeyHash: row.publicKeyHash,
      pkiStatus: row.pkiStatus as PkiStatus,
      failInfo: row.failInfo ?? undefined,
      failText: row.failText ?? undefined,
      certificateSerial: row.certificateSerial ?? undefined,
    };
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
  async recordIssuance(r: IssuanceRecord, now: Date): Promise<IssuanceOutcome> {
    const cert = r.certificate;
    try {
      await this.db.transaction(async (m) => {
        if (r.challengeId) {
          const res = await m
            .createQueryBuilder()
            .update('challenges')
            .set({ usedAt: now })
            .where('id = :id AND used_at IS NULL AND expires_at > :now', { id: r.challengeId, now: dateParam(this.db.dialect, now) })
            .execute();
          if (!res.affected) throw new ChallengeGone();
        }
        // the same key may replace its own earlier outcome: a refusal, or the certificate it renews
        const txRepo = m.getRepository<ScepTransactionRow>('ScepTransaction');
        await txRepo.delete({ endpointId: r.endpointId, transactionId: r.transactionId, pkiStatus: PkiStatus.FAILURE, publicKeyHash: r.publicKeyHash });
        for (const serial of r.supersedes ?? []) {
          await txRepo.delete({ endpointId: r.endpointId, transactionId: r.transactionId, publicKeyHash: r.publicKeyHash, certificateSerial: serial });
        }
        await m.getRepository<ScepTransactionRow>('ScepTransaction').insert({
          endpointId: r.endpointId,
          transactionId: r.transactionId,
          publicKeyHash: r.publicKeyHash,
          messageType: r.messageType,
          pkiStatus: PkiStatus.SUCCESS,
          certificateSerial: cert.serialHex,
          createdAt: now,
          updatedAt: now,
        });
        if (r.supersedes?.length) {
          await m
            .createQueryBuilder()
            .update('certificates')
            .set({ status: 'superseded' })
            .where('serial IN (:...serials) AND status = :valid', { serials: r.supersedes, valid: 'valid' })
            .execute();
        }
        await m.getRepository<CertificateRow>('Certificate').insert({
          serial: cert.serialHex,
          subject: cert.subject.slice(0, 1024),
          fingerprintSha256: cert.fingerprintSha256,
          publicKeyHash: r.publicKeyHash,
          notBefore: cert.notBefore,
          notAfter: cert.notAfter,
          der: cert.der,
          transactionId: r.transactionId,
          endpointId: r.endpointId,
          integrationId: r.integrationId ?? null,
          deviceId: r.deviceId ?? null,
          status: 'valid',
          createdAt: now,
        });
      });
      return 'issued';
    } catch (err) {
      if (err instanceof ChallengeGone) return 'challenge-used';
      if (isUniqueViolation(err)) return 'duplicate-transaction';
      throw err;
    }
  }

  /** Records a refusal, unless the transaction already succeeded or belongs to another key. */
  async recordFailure(endpointId: string, transactionId: string, publicKeyHash: string, messageType: MessageType, failInfo: FailInfo, text: string, now: Date): Promise<void> {
    const failText = text.slice(0, 256);
    await this.db.transaction(async (m) => {
      const repo = m.getRepository<ScepTransactionRow>('ScepTransaction');
      const res = await repo.update({ endpointId, transactionId, publicKeyHash, pkiStatus: PkiStatus.FAILURE }, { failInfo, failText, messageType, updatedAt: now });
      if (res.affected) return;
      await repo
        .createQueryBuilder()
        .insert()
        .values({ endpointId, transactionId, publicKeyHash, messageType, pkiStatus: PkiStatus.FAILURE, failInfo, failText, createdAt: now, updatedAt: now })
        .orIgnore()
        .execute();
    });
  }
}
