import { MigrationInterface, QueryRunner, Table } from 'typeorm';
import { columnTypes, Dialect } from '../src/db/dialect';

/** The per-integration state of legacy iOS certificate -> App Config migrations. */
export class LegacyMigrations1796100000000 implements MigrationInterface {
  name = 'LegacyMigrations1796100000000';

  async up(q: QueryRunner): Promise<void> {
    const t = columnTypes(q.connection.options.type as Dialect);
    const id = (name: string, nullable = true) => ({ name, type: 'varchar', length: '32', isNullable: nullable });
    const at = (name: string) => ({ name, type: t.timestamp, isNullable: true });
    const count = (name: string) => ({ name, type: 'integer', isNullable: true });
    await q.createTable(
      new Table({
        name: 'legacy_migrations',
        columns: [
          { ...id('legacy_integration_id', false), isPrimary: true },
          { name: 'state', type: 'varchar', length: '16' },
          { name: 'attempt', type: 'integer', default: 1 },
          id('app_config_integration_id'),
          id('ws1_source_integration_id'),
          { name: 'previous_status', type: 'varchar', length: '16', isNullable: true },
          { name: 'previous_group', type: 'varchar', length: '200', isNullable: true },
          count('devices_total'),
          count('devices_ready'),
          { name: 'readiness_source', type: 'varchar', length: '16', isNullable: true },
          at('readiness_at'),
          count('revoked_count'),
          at('planned_at'),
          at('applied_at'),
          at('verified_at'),
          at('cutover_at'),
          at('finalized_at'),
          at('rolled_back_at'),
          { name: 'created_at', type: t.timestamp },
          { name: 'updated_at', type: t.timestamp },
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('legacy_migrations');
  }
}
