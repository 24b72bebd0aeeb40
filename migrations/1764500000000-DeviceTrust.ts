import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { columnTypes, Dialect } from '../src/db/dialect';

/** Device trust: policies and the authentication log. */
export class DeviceTrust1764500000000 implements MigrationInterface {
  name = 'DeviceTrust1764500000000';

  async up(q: QueryRunner): Promise<void> {
    const t = columnTypes(q.connection.options.type as Dialect);
    await q.createTable(
      new Table({
        name: 'trust_policies',
        columns: [
          { name: 'application', type: 'varchar', length: '200', isPrimary: true },
          { name: 'policy', type: 'varchar', length: '32' },
          { name: 'updated_at', type: t.timestamp },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'auth_log',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'at', type: t.timestamp },
          { name: 'user_name', type: 'varchar', length: '256' },
          { name: 'application', type: 'varchar', length: '200', isNullable: true },
          { name: 'decision', type: 'varchar', length: '8' },
          { name: 'trusted', type: 'boolean' },
          { name: 'reason', type: 'varchar', length: '40' },
          { name: 'policy', type: 'varchar', length: '32' },
          { name: 'method', type: 'varchar', length: '16' },
          { name: 'integration_id', type: 'varchar', length: '64', isNullable: true },
          { name: 'device_id', type: 'varchar', length: '256', isNullable: true },
          { name: 'serial', type: 'varchar', length: '64', isNullable: true },
          { name: 'source_address', type: 'varchar', length: '64' },
          { name: 'note', type: 'varchar', length: '64', isNullable: true },
        ],
      }),
    );
    await q.createIndex('auth_log', new TableIndex({ name: 'ix_auth_log_at', columnNames: ['at'] }));
    await q.createIndex('auth_log', new TableIndex({ name: 'ix_auth_log_user_at', columnNames: ['user_name', 'at'] }));
    await q.createIndex('auth_log', new TableIndex({ name: 'ix_auth_log_device_at', columnNames: ['device_id', 'at'] }));
    // `scepter device show UDID` lists a device's certificates across integrations
    await q.createIndex('certificates', new TableIndex({ name: 'ix_certificates_device', columnNames: ['device_id'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('certificates', 'ix_certificates_device');
    await q.dropTable('auth_log');
    await q.dropTable('trust_policies');
  }
}
