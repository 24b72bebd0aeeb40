import { MigrationInterface, QueryRunner, Table } from 'typeorm';
import { columnTypes, Dialect } from '../src/db/dialect';

/**
 * Several CA generations side by side (CA rollover): ca_generations records each CA certificate, the
 * two rollover link certificates and when it starts issuing; certificates.ca_generation says which
 * CA issued a row, so each CA's CRL and OCSP answers cover its own certificates. Every existing row
 * was issued by the first CA, hence the default. Each generation publishes its CRL through its own
 * crl_state row (id = generation); row 1 keeps the revision counter for all of them.
 *
 * Plain ALTER TABLE for the column: TypeORM's addColumn rebuilds a SQLite table.
 */
export class CaGenerations1796500000000 implements MigrationInterface {
  name = 'CaGenerations1796500000000';

  async up(q: QueryRunner): Promise<void> {
    const t = columnTypes(q.connection.options.type as Dialect);
    await q.createTable(
      new Table({
        name: 'ca_generations',
        columns: [
          { name: 'generation', type: 'integer', isPrimary: true },
          { name: 'key_id', type: 'varchar', length: '64', isUnique: true },
          { name: 'subject', type: 'varchar', length: '1024' },
          { name: 'fingerprint_sha256', type: 'varchar', length: '64' },
          { name: 'not_before', type: t.timestamp },
          { name: 'not_after', type: t.timestamp },
          { name: 'activate_at', type: t.timestamp },
          { name: 'certificate', type: t.binary },
          { name: 'new_with_old', type: t.binary, isNullable: true },
          { name: 'old_with_new', type: t.binary, isNullable: true },
          { name: 'created_at', type: t.timestamp },
        ],
      }),
    );
    await q.query('ALTER TABLE certificates ADD COLUMN ca_generation integer NOT NULL DEFAULT 1');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DELETE FROM crl_state WHERE id > 1');
    await q.query('ALTER TABLE certificates DROP COLUMN ca_generation');
    await q.dropTable('ca_generations');
  }
}
