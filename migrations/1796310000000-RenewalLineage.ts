import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * certificates.renewed_from: the serial of the certificate a renewal replaced. Its unique index makes
 * "one certificate renews once" a database rule (NULLs, i.e. fresh enrollments, do not collide on
 * SQLite or PostgreSQL), and it records which certificate led to which.
 *
 * Refused SCEP requests are not stored (a refusal is answered and logged, never kept), so this
 * migration deletes the refusal rows in scep_transactions.
 */
export class RenewalLineage1796310000000 implements MigrationInterface {
  name = 'RenewalLineage1796310000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE certificates ADD COLUMN renewed_from varchar(64) NULL');
    await q.query('CREATE UNIQUE INDEX uq_certificates_renewed_from ON certificates (renewed_from)');
    await q.query('DELETE FROM scep_transactions WHERE pki_status = 2');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX uq_certificates_renewed_from');
    await q.query('ALTER TABLE certificates DROP COLUMN renewed_from');
  }
}
