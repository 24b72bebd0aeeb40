import { MigrationInterface, QueryRunner } from 'typeorm';
import { columnTypes, Dialect } from '../src/db/dialect';

/**
 * api_keys: a name (what the key is for), an optional expiry (refused after it) and the time of its
 * last successful use. Existing keys keep NULL in all three: unnamed, never expiring, not yet seen.
 * Plain ALTER TABLE ... ADD COLUMN works the same on SQLite and PostgreSQL.
 */
export class ApiKeyMetadata1796310000000 implements MigrationInterface {
  name = 'ApiKeyMetadata1796310000000';

  async up(q: QueryRunner): Promise<void> {
    const t = columnTypes(q.connection.options.type as Dialect);
    await q.query('ALTER TABLE api_keys ADD COLUMN name varchar(100) NULL');
    await q.query(`ALTER TABLE api_keys ADD COLUMN expires_at ${t.timestamp} NULL`);
    await q.query(`ALTER TABLE api_keys ADD COLUMN last_used_at ${t.timestamp} NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE api_keys DROP COLUMN last_used_at');
    await q.query('ALTER TABLE api_keys DROP COLUMN expires_at');
    await q.query('ALTER TABLE api_keys DROP COLUMN name');
  }
}
