import { MigrationInterface, QueryRunner, Table } from 'typeorm';
import { columnTypes, Dialect } from '../src/db/dialect';

/** crl_state: the revocation revision counter and the CRL every instance serves. */
export class RevocationState1764460000000 implements MigrationInterface {
  name = 'RevocationState1764460000000';

  async up(q: QueryRunner): Promise<void> {
    const t = columnTypes(q.connection.options.type as Dialect);
    await q.createTable(
      new Table({
        name: 'crl_state',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true },
          { name: 'revision', type: t.bigint, default: 0 },
          { name: 'crl_number', type: t.bigint, default: 0 },
          { name: 'crl_revision', type: t.bigint, default: 0 },
          { name: 'issuer_key_id', type: 'varchar', length: '64', isNullable: true },
          { name: 'this_update', type: t.timestamp, isNullable: true },
          { name: 'next_update', type: t.timestamp, isNullable: true },
          { name: 'der', type: t.binary, isNullable: true },
          { name: 'updated_at', type: t.timestamp },
        ],
      }),
    );
    // plain SQL without parameters: the same on both dialects, and independent of later entity changes
    await q.query('INSERT INTO crl_state (id, revision, crl_number, crl_revision, updated_at) VALUES (1, 0, 0, 0, CURRENT_TIMESTAMP)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('crl_state');
  }
}
