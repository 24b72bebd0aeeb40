import { EntitySchema } from 'typeorm';
import type { MigrationRecord } from '../../migration/migration.types';
import { ColumnTypes } from '../dialect';

/**
 * One row per legacy (ios-certs) integration being migrated to App Config: the migration record,
 * with the integration ids named as columns and the enumerations stored as text.
 */
export interface MigrationStateRow extends Omit<MigrationRecord, 'legacyId' | 'state' | 'appConfigId' | 'ws1SourceId' | 'previousStatus' | 'readinessSource'> {
  legacyIntegrationId: string;
  state: string;
  appConfigIntegrationId: string | null;
  ws1SourceIntegrationId: string | null;
  previousStatus: string | null;
  readinessSource: string | null;
}

// table legacy_migrations: `migrations` is TypeORM's own
export const migrationStateEntity = (t: ColumnTypes) =>
  new EntitySchema<MigrationStateRow>({
    name: 'LegacyMigration',
    tableName: 'legacy_migrations',
    columns: {
      legacyIntegrationId: { name: 'legacy_integration_id', type: String, length: 32, primary: true },
      state: { type: String, length: 16 },
      attempt: { type: Number },
      appConfigIntegrationId: { name: 'app_config_integration_id', type: String, length: 32, nullable: true },
      ws1SourceIntegrationId: { name: 'ws1_source_integration_id', type: String, length: 32, nullable: true },
      previousStatus: { name: 'previous_status', type: String, length: 16, nullable: true },
      previousGroup: { name: 'previous_group', type: String, length: 200, nullable: true },
      devicesTotal: { name: 'devices_total', type: Number, nullable: true },
      devicesReady: { name: 'devices_ready', type: Number, nullable: true },
      readinessSource: { name: 'readiness_source', type: String, length: 16, nullable: true },
      readinessAt: { name: 'readiness_at', type: t.timestamp, nullable: true },
      revokedCount: { name: 'revoked_count', type: Number, nullable: true },
      plannedAt: { name: 'planned_at', type: t.timestamp, nullable: true },
      appliedAt: { name: 'applied_at', type: t.timestamp, nullable: true },
      verifiedAt: { name: 'verified_at', type: t.timestamp, nullable: true },
      cutoverAt: { name: 'cutover_at', type: t.timestamp, nullable: true },
      finalizedAt: { name: 'finalized_at', type: t.timestamp, nullable: true },
      rolledBackAt: { name: 'rolled_back_at', type: t.timestamp, nullable: true },
      createdAt: { name: 'created_at', type: t.timestamp },
      updatedAt: { name: 'updated_at', type: t.timestamp },
    },
  });
