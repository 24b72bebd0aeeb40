import type { AuditRecord } from '../admin/audit.types';
import type { Integration, IntegrationStatus } from '../integrations/integration.types';
import type { StoredWs1Settings } from '../mdm/workspace-one/ws1-integration.types';
import type { MigrationState, ReadinessReport } from './migration.types';

/** What each migration step writes in its one transaction (db/migration.repository.ts). */
export interface StepWrite {
  legacyId: string;
  /** the state the migration must still be in (null: no row yet) */
  from: MigrationState | null;
  now: Date;
  audit: AuditRecord[];
  beforeCommit?: () => void;
}

export interface PlanWrite extends StepWrite {
  ws1SourceId: string | null;
  readiness: ReadinessReport;
}

export interface ApplyWrite extends StepWrite {
  /** a new App Config integration to insert, or undefined to reuse record.appConfigId */
  create?: { integration: Integration; configKey: string };
  appConfigId: string;
  /** WS1 settings to store for the App Config integration (undefined: keep its current ones) */
  ws1Settings?: StoredWs1Settings;
  ws1SourceId: string | null;
}

export interface CutoverWrite extends StepWrite {
  appConfigId: string;
  /** the legacy scope as read before confirmation: the write refuses if it changed meanwhile */
  legacyStatus: IntegrationStatus;
  legacyGroup: string | null;
  readiness: ReadinessReport;
}

export interface FinalizeWrite extends Omit<StepWrite, 'audit'> {
  /** audit records, given the number of certificates revoked */
  audit: (revoked: number) => AuditRecord[];
}

export interface RollbackWrite extends StepWrite {
  appConfigId: string | null;
  /** restore the legacy integration to this scope (null: leave it, it was never changed) */
  restore: { status: IntegrationStatus; group: string | null } | null;
}
