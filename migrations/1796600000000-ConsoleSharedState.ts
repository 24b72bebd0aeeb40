import { MigrationInterface, QueryRunner } from 'typeorm';
import { columnTypes, Dialect } from '../src/db/dialect';

/**
 * State the console shows that every server process must read alike:
 * - ws1_sync_state.sync_progress / sync_outcome: the running WS1 sync's progress (written by the
 *   lease holder) and the last sync's outcome, so "Sync now" progress shows on any instance;
 * - console_stats: the certificate counts the console-stats job takes on an interval (one row per
 *   snapshot name, the figures as JSON), read by every page instead of counted per process;
 * - indexes for the Synced devices list filtered by platform or enrollment status: each filter is
 *   then an index range in UDID order within the integration's generation (either direction),
 *   rather than a walk over the whole inventory when few or no devices match. PostgreSQL orders
 *   UDIDs byte-wise (COLLATE "C"), as the lists compare them.
 */
export class ConsoleSharedState1796600000000 implements MigrationInterface {
  name = 'ConsoleSharedState1796600000000';

  async up(q: QueryRunner): Promise<void> {
    const t = columnTypes(q.connection.options.type as Dialect);
    await q.query('ALTER TABLE ws1_sync_state ADD COLUMN sync_progress varchar(512) NULL');
    await q.query('ALTER TABLE ws1_sync_state ADD COLUMN sync_outcome varchar(2048) NULL');
    const c = q.connection.options.type === 'postgres' ? ' COLLATE "C"' : '';
    await q.query(`CREATE INDEX ix_ws1_devices_platform_udid ON ws1_devices (integration_id, generation, platform, udid_norm${c})`);
    await q.query(`CREATE INDEX ix_ws1_devices_enrollment_udid ON ws1_devices (integration_id, generation, enrollment_status, udid_norm${c})`);
    await q.query(
      `CREATE TABLE console_stats (name varchar(64) NOT NULL PRIMARY KEY, computed_at ${t.timestamp} NOT NULL, duration_ms integer NOT NULL, counts text NOT NULL)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE console_stats');
    await q.query('DROP INDEX ix_ws1_devices_enrollment_udid');
    await q.query('DROP INDEX ix_ws1_devices_platform_udid');
    await q.query('ALTER TABLE ws1_sync_state DROP COLUMN sync_outcome');
    await q.query('ALTER TABLE ws1_sync_state DROP COLUMN sync_progress');
  }
}
