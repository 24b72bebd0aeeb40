import type { AuditRecord } from '../admin/audit.types';
import type { Integration, IntegrationStatus } from '../integrations/integration.types';
import type { StoredWs1Settings } from '../mdm/workspace-one/ws1-integration.ports';
import type { Ws1ClientSettings } from '../mdm/workspace-one/ws1-client';
import type { CertificateCounts, LegacyCertificate, MigrationRecord, MigrationState, ReadinessReport } from './migration.types';
import type { Ws1DeviceFacts } from './readiness';

/**
 * Persistence of migrations, implemented in db/. Every write is ONE database transaction holding
 * the state change, the changes the step makes and its audit records; it applies only while the
 * migration is still in `from` (a conditional UPDATE), else throws MigrationConflictError and
 * changes nothing. `beforeCommit` runs inside the transaction after every write (crash tests).
 */
export interface MigrationStore {
  find(legacyId: string): Promise<MigrationRecord | undefined>;
  list(): Promise<MigrationRecord[]>;
  /** valid (unrevoked, unexpired) certificates of the integration that carry a device id */
  validCertificates(integrationId: string, now: Date): Promise<LegacyCertificate[]>;
  certificateCounts(integrationId: string, now: Date, expiringBefore: Date): Promise<CertificateCounts>;
  /** normalized UDIDs of the integration's current synced inventory */
  syncedUdids(integrationId: string): Promise<Set<string>>;

  savePlan(w: PlanWrite): Promise<MigrationRecord>;
  apply(w: ApplyWrite): Promise<MigrationRecord>;
  verify(w: StepWrite & { readiness: ReadinessReport }): Promise<MigrationRecord>;
  cutover(w: CutoverWrite): Promise<MigrationRecord>;
  finalize(w: FinalizeWrite): Promise<{ record: MigrationRecord; revoked: number }>;
  rollback(w: RollbackWrite): Promise<MigrationRecord>;
  /** a step that changed no state (plan after apply) is still in the audit log */
  appendAudit(record: AuditRecord): Promise<void>;
}

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

/** A live WS1 device search (platform Apple), for plan and for explaining at-risk devices. */
export type LiveInventory = (settings: Ws1ClientSettings, onProgress?: (fetched: number, total: number) => void) => Promise<Map<string, Ws1DeviceFacts>>;
