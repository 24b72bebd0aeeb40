import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { columnTypes, Dialect } from '../src/db/dialect';

/** WS1 settings, App Config keys, synced device inventories and sync state/lease. */
export class Ws1Inventory1795900000000 implements MigrationInterface {
  name = 'Ws1Inventory1795900000000';

  async up(q: QueryRunner): Promise<void> {
    const t = columnTypes(q.connection.options.type as Dialect);
    const integrationId = { name: 'integration_id', type: 'varchar', length: '32', isPrimary: true };
    await q.createTable(
      new Table({
        name: 'ws1_settings',
        columns: [
          integrationId,
          { name: 'base_url', type: 'varchar', length: '2048' },
          { name: 'username', type: 'varchar', length: '256' },
          { name: 'password_enc', type: 'varchar', length: '2048' },
          { name: 'api_key_enc', type: 'varchar', length: '2048' },
          { name: 'ca_pem', type: 'text', isNullable: true },
          { name: 'created_at', type: t.timestamp },
          { name: 'updated_at', type: t.timestamp },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'app_config_keys',
        columns: [integrationId, { name: 'config_key', type: 'varchar', length: '32', isUnique: true }, { name: 'created_at', type: t.timestamp }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'ws1_sync_state',
        columns: [
          integrationId,
          { name: 'generation', type: 'integer', default: 0 },
          { name: 'device_count', type: 'integer', default: 0 },
          { name: 'last_success_at', type: t.timestamp, isNullable: true },
          { name: 'last_failure_at', type: t.timestamp, isNullable: true },
          { name: 'last_failure_message', type: 'varchar', length: '1024', isNullable: true },
          { name: 'scheduled_slot', type: 'varchar', length: '16', isNullable: true },
          { name: 'lock_owner', type: 'varchar', length: '128', isNullable: true },
          { name: 'lock_expires_at', type: t.timestamp, isNullable: true },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'ws1_devices',
        columns: [
          integrationId,
          { name: 'generation', type: 'integer', isPrimary: true },
          { name: 'udid_norm', type: 'varchar', length: '256', isPrimary: true },
          { name: 'udid', type: 'varchar', length: '256' },
          { name: 'serial_number', type: 'varchar', length: '128', isNullable: true },
          { name: 'serial_norm', type: 'varchar', length: '128', isNullable: true },
          { name: 'mac_address', type: 'varchar', length: '64', isNullable: true },
          { name: 'mac_norm', type: 'varchar', length: '64', isNullable: true },
          { name: 'imei', type: 'varchar', length: '64', isNullable: true },
          { name: 'imei_norm', type: 'varchar', length: '64', isNullable: true },
          { name: 'platform', type: 'varchar', length: '32' },
          { name: 'enrollment_status', type: 'varchar', length: '32' },
          { name: 'last_seen', type: t.timestamp, isNullable: true },
          { name: 'user_name', type: 'varchar', length: '256', isNullable: true },
          { name: 'synced_at', type: t.timestamp },
        ],
      }),
    );
    // the primary key (integration, generation, udid_norm) serves UDID lookups; one index per other identifier
    for (const col of ['serial_norm', 'mac_norm', 'imei_norm']) {
      await q.createIndex('ws1_devices', new TableIndex({ name: `ix_ws1_devices_${col}`, columnNames: ['integration_id', 'generation', col] }));
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['ws1_devices', 'ws1_sync_state', 'app_config_keys', 'ws1_settings']) await q.dropTable(table);
  }
}
