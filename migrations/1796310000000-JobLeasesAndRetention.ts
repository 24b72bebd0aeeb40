import { MigrationInterface, QueryRunner } from 'typeorm';
import { columnTypes, Dialect } from '../src/db/dialect';

/**
 * job_leases: one row per periodic job (retention pruning), taken by a conditional UPDATE so one
 * instance runs it at a time; /readyz also proves the database writable by inserting a row here
 * and rolling back. The index on scep_transactions(updated_at) lets retention find old rows
 * without scanning the table.
 */
export class JobLeasesAndRetention1796310000000 implements MigrationInterface {
  name = 'JobLeasesAndRetention1796310000000';

  async up(q: QueryRunner): Promise<void> {
    const t = columnTypes(q.connection.options.type as Dialect);
    await q.query(
      `CREATE TABLE job_leases (name varchar(64) NOT NULL PRIMARY KEY, owner varchar(128) NULL, expires_at ${t.timestamp} NULL, last_run_at ${t.timestamp} NULL, last_result varchar(512) NULL)`,
    );
    await q.query('CREATE INDEX ix_scep_transactions_updated_at ON scep_transactions (updated_at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX ix_scep_transactions_updated_at');
    await q.query('DROP TABLE job_leases');
  }
}
