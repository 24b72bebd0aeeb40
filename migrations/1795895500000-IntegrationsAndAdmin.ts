import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { columnTypes, Dialect } from '../src/db/dialect';

/** Integrations, dynamic challenges, users and groups, admin API keys and the audit log. */
export class IntegrationsAndAdmin1795895500000 implements MigrationInterface {
  name = 'IntegrationsAndAdmin1795895500000';

  async up(q: QueryRunner): Promise<void> {
    const t = columnTypes(q.connection.options.type as Dialect);
    const id = (name = 'id') => ({ name, type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' as const });
    await q.createTable(
      new Table({
        name: 'integrations',
        columns: [
          { name: 'id', type: 'varchar', length: '32', isPrimary: true },
          { name: 'name', type: 'varchar', length: '200' },
          { name: 'type', type: 'varchar', length: '16' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'group_id', type: 'integer', isNullable: true },
          { name: 'subject_template', type: 'varchar', length: '512', isNullable: true },
          { name: 'challenge_username', type: 'varchar', length: '64', isNullable: true, isUnique: true },
          { name: 'challenge_password_hash', type: 'varchar', length: '64', isNullable: true },
          { name: 'created_at', type: t.timestamp },
          { name: 'updated_at', type: t.timestamp },
          { name: 'deleted_at', type: t.timestamp, isNullable: true },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'challenges',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'integration_id', type: 'varchar', length: '32' },
          { name: 'challenge_hash', type: 'varchar', length: '64' },
          { name: 'created_at', type: t.timestamp },
          { name: 'expires_at', type: t.timestamp },
          { name: 'used_at', type: t.timestamp, isNullable: true },
        ],
        uniques: [{ name: 'uq_challenges_integration_hash', columnNames: ['integration_id', 'challenge_hash'] }],
      }),
    );
    // counting outstanding challenges (the cache limit) and pruning expired ones
    await q.createIndex('challenges', new TableIndex({ name: 'ix_challenges_integration_expiry', columnNames: ['integration_id', 'expires_at'] }));
    await q.createTable(
      new Table({
        name: 'users',
        columns: [id(), { name: 'username', type: 'varchar', length: '200', isUnique: true }, { name: 'created_at', type: t.timestamp }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'user_groups',
        columns: [id(), { name: 'name', type: 'varchar', length: '200', isUnique: true }, { name: 'created_at', type: t.timestamp }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'user_group_members',
        columns: [
          { name: 'group_id', type: 'integer', isPrimary: true },
          { name: 'user_id', type: 'integer', isPrimary: true },
          { name: 'created_at', type: t.timestamp },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'api_keys',
        columns: [
          { name: 'id', type: 'varchar', length: '32', isPrimary: true },
          { name: 'role', type: 'varchar', length: '32' },
          { name: 'secret_hash', type: 'varchar', length: '64' },
          { name: 'created_by', type: 'varchar', length: '256' },
          { name: 'created_at', type: t.timestamp },
          { name: 'revoked_at', type: t.timestamp, isNullable: true },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'audit_log',
        columns: [
          id(),
          { name: 'at', type: t.timestamp },
          { name: 'actor', type: 'varchar', length: '256' },
          { name: 'source', type: 'varchar', length: '128' },
          { name: 'action', type: 'varchar', length: '64' },
          { name: 'target', type: 'varchar', length: '256', isNullable: true },
          { name: 'details', type: 'text', isNullable: true },
        ],
      }),
    );
    await q.createIndex('audit_log', new TableIndex({ name: 'ix_audit_log_at', columnNames: ['at'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['audit_log', 'api_keys', 'user_group_members', 'user_groups', 'users', 'challenges', 'integrations']) await q.dropTable(table);
  }
}
