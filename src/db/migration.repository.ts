import { EntityManager } from 'typeorm';
import type { AuditRecord } from '../admin/audit.types';
import type { IntegrationStatus } from '../integrations/integration.types';
import type { ApplyWrite, CutoverWrite, FinalizeWrite, PlanWrite, RollbackWrite, StepWrite } from '../migration/migration-writes.types';
import type { CertificateCounts, LegacyCertificate, MigrationRecord, MigrationState, ReadinessReport, ReadinessSource } from '../migration/migration.types';
import { ConflictError, NotFoundError } from '../shared/errors';
import { insertAudit } from './admin.repository';
import { Database, isUniqueViolation } from './database';
import { dateParam } from './dialect';
import { MigrationStateRow } from './entities/migration-state.entity';
import { placeholders } from './inventory.repository';
import { dbDate } from './dialect';
import { revokeIntegrationCertificates } from './revocation.repository';

/** Someone else moved the migration (another run, or a concurrent admin change): nothing was changed. */
export class MigrationConflictError extends ConflictError {}

const ENTITY = 'LegacyMigration';

/**
 * Migrations. Every step is one transaction: a conditional UPDATE of the migration row
 * (only from the state the step was prepared in), the step's own changes, and its audit records.
 * A step whose migration is no longer in `from` throws MigrationConflictError and changes nothing;
 * `beforeCommit` runs inside the transaction after every write (crash tests).
 * Reads of other modules' tables are plain SQL on their documented columns.
 */
export class MigrationRepository {
  constructor(private readonly db: Database) {}

  async find(legacyId: string): Promise<MigrationRecord | undefined> {
    const row = await this.db.manager.getRepository<MigrationStateRow>(ENTITY).findOne({ where: { legacyIntegrationId: legacyId } });
    return row ? toRecord(row) : undefined;
  }

  async list(): Promise<MigrationRecord[]> {
    return (await this.db.manager.getRepository<MigrationStateRow>(ENTITY).find({ order: { createdAt: 'ASC' } })).map(toRecord);
  }

  /** valid (unrevoked, unexpired) certificates of the integration that carry a device id */
  async validCertificates(integrationId: string, now: Date): Promise<LegacyCertificate[]> {
    const rows: { serial: string; device_id: string; not_after: unknown }[] = await this.query(
      "SELECT serial, device_id, not_after FROM certificates WHERE integration_id = ? AND status <> 'revoked' AND not_after > ? AND device_id IS NOT NULL",
      [integrationId, dateParam(this.db.dialect, now)],
    );
    return rows.map((r): LegacyCertificate => ({ serial: r.serial, deviceId: r.device_id, notAfter: dbDate(r.not_after) }));
  }

  async certificateCounts(integrationId: string, now: Date, expiringBefore: Date): Promise<CertificateCounts> {
    const live = "status <> 'revoked' AND not_after > ?";
    const [r] = await this.query<Record<string, unknown>[]>(
      `SELECT SUM(CASE WHEN ${live} THEN 1 ELSE 0 END) AS valid, SUM(CASE WHEN ${live} AND not_after <= ? THEN 1 ELSE 0 END) AS expiring, ` +
        `SUM(CASE WHEN status = 'revoked' THEN 1 ELSE 0 END) AS revoked, SUM(CASE WHEN status <> 'revoked' AND not_after <= ? THEN 1 ELSE 0 END) AS expired, ` +
        `COUNT(DISTINCT CASE WHEN ${live} THEN device_id END) AS devices FROM certificates WHERE integration_id = ?`,
      [...[now, now, expiringBefore, now, now].map((d) => dateParam(this.db.dialect, d)), integrationId],
    );
    const n = (k: string) => Number(r?.[k] ?? 0);
    return { valid: n('valid'), expiring: n('expiring'), revoked: n('revoked'), expired: n('expired'), devices: n('devices') };
  }

  /** normalized UDIDs of the integration's current synced inventory */
  async syncedUdids(integrationId: string): Promise<Set<string>> {
    const rows: { udid_norm: string }[] = await this.query(
      'SELECT d.udid_norm FROM ws1_devices d JOIN ws1_sync_state s ON s.integration_id = d.integration_id AND s.generation = d.generation WHERE s.integration_id = ? AND d.integration_id = ?',
      [integrationId, integrationId],
    );
    return new Set(rows.map((r) => r.udid_norm));
  }

  savePlan(w: PlanWrite): Promise<MigrationRecord> {
    return this.step(w, async (m) => {
      const values = { state: 'planned', ws1SourceIntegrationId: w.ws1SourceId, ...readinessValues(w.readiness), plannedAt: w.now, updatedAt: w.now };
      if (w.from === null) {
        try {
          await m.getRepository<MigrationStateRow>(ENTITY).insert({ legacyIntegrationId: w.legacyId, attempt: 1, ...values, createdAt: w.now });
        } catch (err) {
          if (isUniqueViolation(err)) throw conflict(w.legacyId);
          throw err;
        }
        return;
      }
      // planning again after a rollback starts a new attempt; the App Config integration is kept
      const again =
        w.from === 'rolled-back'
          ? { attempt: () => 'attempt + 1', previousStatus: null, previousGroup: null, appliedAt: null, verifiedAt: null, cutoverAt: null, rolledBackAt: null }
          : {};
      await this.advance(m, w, { ...values, ...again });
    });
  }

  apply(w: ApplyWrite): Promise<MigrationRecord> {
    return this.step(w, async (m) => {
      if (w.create) {
        // a new integration starts disabled, without a group
        const { groupName: _groupName, ...row } = w.create.integration;
        await m.getRepository('Integration').insert({ ...row, groupId: null });
        await m.getRepository('AppConfigKey').insert({ integrationId: row.id, configKey: w.create.configKey, createdAt: w.now });
      }
      if (w.ws1Settings) {
        const { integrationId, createdAt, ...changes } = w.ws1Settings;
        const res = await m.getRepository('Ws1Settings').update({ integrationId }, changes);
        if (!res.affected) await m.getRepository('Ws1Settings').insert({ ...w.ws1Settings, createdAt });
      }
      await this.advance(m, w, {
        state: 'applied',
        appConfigIntegrationId: w.appConfigId,
        ws1SourceIntegrationId: w.ws1SourceId,
        appliedAt: w.now,
        updatedAt: w.now,
      });
    });
  }

  verify(w: StepWrite & { readiness: ReadinessReport }): Promise<MigrationRecord> {
    return this.step(w, (m) => this.advance(m, w, { state: 'verified', ...readinessValues(w.readiness), verifiedAt: w.now, updatedAt: w.now }));
  }

  cutover(w: CutoverWrite): Promise<MigrationRecord> {
    return this.step(w, async (m) => {
      const groupId = await this.groupId(m, w.legacyGroup);
      const scopeWhere = groupId === null ? 'group_id IS NULL' : 'group_id = :groupId';
      // the legacy scope must still be what the admin confirmed
      const legacy = await m
        .createQueryBuilder()
        .update('Integration')
        .set({ status: 'disabled', groupId: null, updatedAt: w.now })
        .where(`id = :id AND deleted_at IS NULL AND status = :status AND ${scopeWhere}`, { id: w.legacyId, status: w.legacyStatus, groupId })
        .execute();
      if (!legacy.affected) throw new MigrationConflictError(`the status of ${w.legacyId} changed since this cutover was prepared: run it again`);
      await this.setScope(m, w.appConfigId, w.legacyStatus, groupId, w.now, true);
      await this.advance(m, w, {
        state: 'cut-over',
        previousStatus: w.legacyStatus,
        previousGroup: w.legacyGroup,
        ...readinessValues(w.readiness),
        cutoverAt: w.now,
        updatedAt: w.now,
      });
    });
  }

  async finalize(w: FinalizeWrite): Promise<{ record: MigrationRecord; revoked: number }> {
    let revoked = 0;
    const record = await this.step({ ...w, audit: [] }, async (m) => {
      const deleted = await m
        .createQueryBuilder()
        .update('Integration')
        .set({ deletedAt: w.now, updatedAt: w.now })
        .where('id = :id AND deleted_at IS NULL', { id: w.legacyId })
        .execute();
      if (!deleted.affected) throw new MigrationConflictError(`${w.legacyId} was deleted by someone else meanwhile`);
      // the bulk revocation on this transaction: the deletion and the revocations commit together
      revoked = await revokeIntegrationCertificates(m, w.legacyId, 'cessationOfOperation', w.now);
      await this.advance(m, w, { state: 'finalized', revokedCount: revoked, finalizedAt: w.now, updatedAt: w.now });
      for (const a of w.audit(revoked)) await insertAudit(m, a);
    });
    return { record, revoked };
  }

  rollback(w: RollbackWrite): Promise<MigrationRecord> {
    return this.step(w, async (m) => {
      if (w.restore) await this.setScope(m, w.legacyId, w.restore.status, await this.groupId(m, w.restore.group), w.now, true);
      if (w.appConfigId) await this.setScope(m, w.appConfigId, 'disabled', null, w.now, false);
      await this.advance(m, w, { state: 'rolled-back', rolledBackAt: w.now, updatedAt: w.now });
    });
  }

  /** a step that changed no state (plan after apply) is still in the audit log */
  async appendAudit(record: AuditRecord): Promise<void> {
    await this.db.transaction((m) => insertAudit(m, record));
  }

  /** One transaction: the step's writes, its audit records, the crash hook; then the new record. */
  private async step(w: Pick<StepWrite, 'legacyId' | 'audit' | 'beforeCommit'>, writes: (m: EntityManager) => Promise<void>): Promise<MigrationRecord> {
    return this.db.transaction(async (m) => {
      await writes(m);
      for (const a of w.audit) await insertAudit(m, a);
      const row = await m.getRepository<MigrationStateRow>(ENTITY).findOneOrFail({ where: { legacyIntegrationId: w.legacyId } });
      w.beforeCommit?.();
      return toRecord(row);
    });
  }

  /** The state change, only from the state the step was prepared in. */
  private async advance(m: EntityManager, w: Pick<StepWrite, 'legacyId' | 'from'>, values: Record<string, unknown>): Promise<void> {
    const res = await m
      .createQueryBuilder()
      .update(ENTITY)
      .set(values)
      .where('legacy_integration_id = :id AND state = :from', { id: w.legacyId, from: w.from })
      .execute();
    if (!res.affected) throw conflict(w.legacyId);
  }

  private async setScope(m: EntityManager, id: string, status: IntegrationStatus, groupId: number | null, now: Date, required: boolean): Promise<void> {
    const res = await m
      .createQueryBuilder()
      .update('Integration')
      .set({ status, groupId, updatedAt: now })
      .where('id = :id AND deleted_at IS NULL', { id })
      .execute();
    if (!res.affected && required) throw new MigrationConflictError(`integration ${id} was deleted meanwhile`);
  }

  private async groupId(m: EntityManager, name: string | null): Promise<number | null> {
    if (name === null) return null;
    const [g] = await m.query(placeholders(this.db.dialect, 'SELECT id FROM user_groups WHERE name = ?'), [name]);
    if (!g) throw new NotFoundError(`no group ${name}`);
    return Number(g.id);
  }

  private query<T = unknown[]>(sql: string, params: unknown[]): Promise<T> {
    return this.db.manager.query(placeholders(this.db.dialect, sql), params);
  }
}

function conflict(legacyId: string): MigrationConflictError {
  return new MigrationConflictError(
    `the migration of ${legacyId} changed while this step ran (another run?): nothing was changed; run scepter migrate status and try again`,
  );
}

function readinessValues(r: ReadinessReport) {
  return { devicesTotal: r.total, devicesReady: r.ready, readinessSource: r.source, readinessAt: r.at };
}

function toRecord(r: MigrationStateRow): MigrationRecord {
  return {
    legacyId: r.legacyIntegrationId,
    state: r.state as MigrationState,
    attempt: Number(r.attempt),
    appConfigId: r.appConfigIntegrationId,
    ws1SourceId: r.ws1SourceIntegrationId,
    previousStatus: r.previousStatus as IntegrationStatus | null,
    previousGroup: r.previousGroup,
    devicesTotal: r.devicesTotal === null ? null : Number(r.devicesTotal),
    devicesReady: r.devicesReady === null ? null : Number(r.devicesReady),
    readinessSource: r.readinessSource as ReadinessSource | null,
    readinessAt: r.readinessAt,
    revokedCount: r.revokedCount === null ? null : Number(r.revokedCount),
    plannedAt: r.plannedAt,
    appliedAt: r.appliedAt,
    verifiedAt: r.verifiedAt,
    cutoverAt: r.cutoverAt,
    finalizedAt: r.finalizedAt,
    rolledBackAt: r.rolledBackAt,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}
