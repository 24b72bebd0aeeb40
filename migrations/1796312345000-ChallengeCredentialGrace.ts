import { MigrationInterface, QueryRunner } from 'typeorm';
import { columnTypes, Dialect } from '../src/db/dialect';

/**
 * integrations.previous_challenge_password_hash / _until: after a rotation with a grace period the
 * old challenge password keeps working until `_until`, so Workspace ONE can be updated without
 * failed enrollments. Plain ALTER TABLE (nullable columns) on both dialects.
 */
export class ChallengeCredentialGrace1796312345000 implements MigrationInterface {
  name = 'ChallengeCredentialGrace1796312345000';

  async up(q: QueryRunner): Promise<void> {
    const t = columnTypes(q.connection.options.type as Dialect);
    await q.query('ALTER TABLE integrations ADD COLUMN previous_challenge_password_hash varchar(64) NULL');
    await q.query(`ALTER TABLE integrations ADD COLUMN previous_challenge_password_until ${t.timestamp} NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE integrations DROP COLUMN previous_challenge_password_until');
    await q.query('ALTER TABLE integrations DROP COLUMN previous_challenge_password_hash');
  }
}
