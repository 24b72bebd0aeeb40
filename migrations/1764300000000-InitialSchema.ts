import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { columnTypes, Dialect } from '../src/db/dialect';

export class InitialSchema1764300000000 implements MigrationInterface {
  name = 'InitialSchema1764300000000';

  async up(q: QueryRunner): Promise<void> {
    const t = columnTypes(q.connection.options.type as Dialect);
    await q.createTable(
      new Table({
        name: 'certificates',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'serial', type: 'varchar', length: '64', isUnique: true },
          { name: 'subject', type: 'varchar', length: '1024' },
          { name: 'fingerprint_sha256', type: 'varchar', length: '64' },
          { name: 'public_key_hash', type: 'varchar', length: '64' },
          { name: 'not_before', type: t.timestamp },
          { name: 'not_after', type: t.timestamp },
          { name: 'der', type: t.binary },
          { name: 'transaction_id', type: 'varchar', length: '128', isNullable: true },
          { name: 'endpoint_id', type: 'varchar', length: '64' },
          { name: 'integration_id', type: 'varchar', length: '64', isNullable: true },
          { name: 'device_id', type: 'varchar', length: '256', isNullable: true },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'revoked_at', type: t.timestamp, isNullable: true },
          { name: 'revocation_reason', type: 'integer', isNullable: true },
          { name: 'last_seen_at', type: t.timestamp, isNullable: true },
          { name: 'created_at', type: t.timestamp },
        ],
      }),
    );
    await q.createIndex('certificates', new TableIndex({ name: 'ix_certificates_integration_device', columnNames: ['integration_id', 'device_id'] }));
    await q.createIndex('certificates', new TableIndex({ name: 'ix_certificates_status', columnNames: ['status', 'revoked_at'] }));
    await q.createTable(
      new Table({
        name: 'scep_transactions',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'endpoint_id', type: 'varchar', length: '64' },
          { name: 'transaction_id', type: 'varchar', length: '128' },
          { name: 'public_key_hash', type: 'varchar', length: '64' },
          { name: 'message_type', type: 'integer' },
          { name: 'pki_status', type: 'integer' },
          { name: 'fail_info', type: 'integer', isNullable: true },
          { name: 'fail_text', type: 'varchar', length: '256', isNullable: true },
          { name: 'certificate_serial', type: 'varchar', length: '64', isNullable: true },
          { name: 'created_at', type: t.timestamp },
          { name: 'updated_at', type: t.timestamp },
        ],
        uniques: [{ name: 'uq_scep_transactions_endpoint_tid', columnNames: ['endpoint_id', 'transaction_id'] }],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('scep_transactions');
    await q.dropTable('certificates');
  }
}
