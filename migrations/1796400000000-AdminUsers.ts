import { MigrationInterface, QueryRunner } from 'typeorm';
import { columnTypes, Dialect } from '../src/db/dialect';

/**
 * People who sign in to the web console, and their sessions.
 *
 * admin_users: one row per person (email unique, stored lower case); the password as a scrypt hash
 * with its parameters; the TOTP secret sealed with the secret box (it must be read back to check a
 * code) and the last accepted time step, so a code is accepted once. admin_sessions: only the
 * SHA-256 of the session cookie is kept, so a database copy does not hold usable sessions.
 */
export class AdminUsers1796400000000 implements MigrationInterface {
  name = 'AdminUsers1796400000000';

  async up(q: QueryRunner): Promise<void> {
    const t = columnTypes(q.connection.options.type as Dialect);
    await q.query(
      'CREATE TABLE admin_users (' +
        'id varchar(32) NOT NULL PRIMARY KEY, name varchar(200) NOT NULL, email varchar(254) NOT NULL, role varchar(32) NOT NULL, ' +
        'password_hash varchar(512) NOT NULL, totp_secret varchar(512) NULL, totp_last_step ' +
        t.bigint +
        ' NULL, ' +
        `created_by varchar(256) NOT NULL, created_at ${t.timestamp} NOT NULL, updated_at ${t.timestamp} NOT NULL, ` +
        `last_sign_in_at ${t.timestamp} NULL, disabled_at ${t.timestamp} NULL)`,
    );
    await q.query('CREATE UNIQUE INDEX ux_admin_users_email ON admin_users (email)');
    await q.query(
      'CREATE TABLE admin_sessions (' +
        'token_hash varchar(64) NOT NULL PRIMARY KEY, user_id varchar(32) NOT NULL REFERENCES admin_users (id) ON DELETE CASCADE, ' +
        `created_at ${t.timestamp} NOT NULL, last_seen_at ${t.timestamp} NOT NULL, expires_at ${t.timestamp} NOT NULL, source varchar(128) NOT NULL)`,
    );
    await q.query('CREATE INDEX ix_admin_sessions_user ON admin_sessions (user_id)');
    await q.query('CREATE INDEX ix_admin_sessions_expires ON admin_sessions (expires_at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE admin_sessions');
    await q.query('DROP TABLE admin_users');
  }
}
