import { MigrationInterface, QueryRunner } from 'typeorm';
import { columnTypes, Dialect } from '../src/db/dialect';

/**
 * certificates.revocation_revision: the crl_state revision of the transaction that revoked the row,
 * so each instance loads only the revocations newer than the revision it has seen instead of every
 * revoked row on each change. Rows revoked before this migration keep NULL: the full load
 * every instance makes at start (and every few minutes) includes them.
 *
 * Plain ALTER TABLE: TypeORM's addColumn rebuilds a SQLite table, which would copy every certificate.
 */
export class RevocationRevision1796200000000 implements MigrationInterface {
  name = 'RevocationRevision1796200000000';

  async up(q: QueryRunner): Promise<void> {
    const t = columnTypes(q.connection.options.type as Dialect);
    await q.query(`ALTER TABLE certificates ADD COLUMN revocation_revision ${t.bigint} NULL`);
    await q.query('CREATE INDEX ix_certificates_revocation_revision ON certificates (revocation_revision)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX ix_certificates_revocation_revision');
    await q.query('ALTER TABLE certificates DROP COLUMN revocation_revision');
  }
}
