import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes for keyset-paged lists of certificates, devices and the WS1 inventory: every list walks
 * an index in its sort order from the cursor on, so a page deep in a million rows costs what the
 * first page costs.
 *
 * SQLite: an index implicitly ends with the rowid (`certificates.id`), so (x) already orders by
 * (x, id). PostgreSQL: device ids and UDIDs are compared byte-wise (COLLATE "C") by the lists, so
 * a prefix filter is a plain index range whatever the database's collation; the indexes say so too.
 */
const SQLITE = [
  'CREATE INDEX ix_certificates_integration_id ON certificates (integration_id, id)',
  'CREATE INDEX ix_certificates_status_id ON certificates (status, id)',
  'CREATE INDEX ix_certificates_integration_status_id ON certificates (integration_id, status, id)',
  'CREATE INDEX ix_certificates_not_after_id ON certificates (not_after, id)',
  'CREATE INDEX ix_certificates_device_integration ON certificates (device_id, integration_id)',
  'CREATE INDEX ix_certificates_status_device ON certificates (status, device_id, integration_id)',
  'CREATE INDEX ix_certificates_integration_status_device ON certificates (integration_id, status, device_id)',
];

const POSTGRES = [
  'CREATE INDEX ix_certificates_integration_id ON certificates (integration_id, id)',
  'CREATE INDEX ix_certificates_status_id ON certificates (status, id)',
  'CREATE INDEX ix_certificates_integration_status_id ON certificates (integration_id, status, id)',
  'CREATE INDEX ix_certificates_not_after_id ON certificates (not_after, id)',
  'CREATE INDEX ix_certificates_device_integration ON certificates (device_id COLLATE "C", integration_id)',
  'CREATE INDEX ix_certificates_device_id ON certificates (device_id COLLATE "C", id)',
  'CREATE INDEX ix_certificates_integration_device_c ON certificates (integration_id, device_id COLLATE "C")',
  'CREATE INDEX ix_certificates_status_device ON certificates (status, device_id COLLATE "C", integration_id)',
  'CREATE INDEX ix_certificates_integration_status_device ON certificates (integration_id, status, device_id COLLATE "C")',
  'CREATE INDEX ix_ws1_devices_udid_c ON ws1_devices (integration_id, generation, udid_norm COLLATE "C")',
];

const NAMES = (sql: string[]) => sql.map((s) => /CREATE INDEX (\S+)/.exec(s)![1]!);

export class ListIndexes1796300000000 implements MigrationInterface {
  name = 'ListIndexes1796300000000';

  async up(q: QueryRunner): Promise<void> {
    for (const sql of q.connection.options.type === 'postgres' ? POSTGRES : SQLITE) await q.query(sql);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const name of NAMES(q.connection.options.type === 'postgres' ? POSTGRES : SQLITE)) await q.query(`DROP INDEX ${name}`);
  }
}
