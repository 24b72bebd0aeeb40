import { insertAudit } from './admin.repository';
import type { AuditRecord } from '../admin/audit.types';
import type { StoredWs1Settings } from '../mdm/workspace-one/ws1-integration.types';
import { Database } from './database';
import { AppConfigKeyRow, Ws1SettingsRow } from './entities/ws1-settings.entity';

/** WS1 API settings (secrets arrive already encrypted) and App Config keys, per integration. */
export class InventorySettingsRepository {
  constructor(private readonly db: Database) {}

  async find(integrationId: string): Promise<StoredWs1Settings | undefined> {
    const row = await this.db.manager.getRepository<Ws1SettingsRow>('Ws1Settings').findOne({ where: { integrationId } });
    return row ?? undefined;
  }

  /** insert or replace, with its audit record, in one transaction */
  async save(row: StoredWs1Settings, audit: AuditRecord): Promise<void> {
    await this.db.transaction(async (m) => {
      const repo = m.getRepository<Ws1SettingsRow>('Ws1Settings');
      const { integrationId, createdAt, ...changes } = row;
      const res = await repo.update({ integrationId }, changes);
      if (!res.affected) await repo.insert({ ...row, createdAt });
      await insertAudit(m, audit);
    });
  }

  /** integrations that have WS1 settings (the nightly sync's candidates) */
  async listIntegrationIds(): Promise<string[]> {
    const rows = await this.db.manager.getRepository<Ws1SettingsRow>('Ws1Settings').find({ select: { integrationId: true }, order: { integrationId: 'ASC' } });
    return rows.map((r) => r.integrationId);
  }

  /** the integration's key, inserting `candidate` when it has none yet (first writer wins) */
  async getOrCreate(integrationId: string, candidate: string, now: Date): Promise<string> {
    const repo = () => this.db.manager.getRepository<AppConfigKeyRow>('AppConfigKey');
    const existing = await repo().findOne({ where: { integrationId } });
    if (existing) return existing.configKey;
    await this.db.transaction((m) =>
      m.createQueryBuilder().insert().into('AppConfigKey').values({ integrationId, configKey: candidate, createdAt: now }).orIgnore().execute(),
    );
    // another process may have won the race: the stored one is the key
    return (await repo().findOneOrFail({ where: { integrationId } })).configKey;
  }

  async findIntegrationId(configKey: string): Promise<string | undefined> {
    const row = await this.db.manager.getRepository<AppConfigKeyRow>('AppConfigKey').findOne({ where: { configKey } });
    return row?.integrationId;
  }
}
