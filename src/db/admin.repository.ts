import { EntityManager } from 'typeorm';
import { StoredApiKey } from '../admin/api-key.types';
import { AuditEntry, AuditQuery, AuditRecord } from '../admin/audit.types';
import { Role } from '../admin/roles';
import { Database } from './database';
import { ApiKeyRow } from './entities/api-key.entity';
import { AuditEntryRow } from './entities/audit-entry.entity';

/** Writes an audit record with the manager of the transaction that makes the change. */
export async function insertAudit(m: EntityManager, r: AuditRecord): Promise<void> {
  await m.getRepository<AuditEntryRow>('AuditEntry').insert({
    at: r.at,
    actor: r.actor.who.slice(0, 256),
    source: r.actor.from.slice(0, 128),
    action: r.action.slice(0, 64),
    target: r.target?.slice(0, 256) ?? null,
    details: r.details ? JSON.stringify(r.details) : null,
  });
}

/** API keys and the audit log; every change of a key writes its audit record in the same transaction. */
export class AdminRepository {
  constructor(private readonly db: Database) {}

  async insertKey(key: StoredApiKey, audit: AuditRecord): Promise<void> {
    await this.db.transaction(async (m) => {
      await m.getRepository<ApiKeyRow>('ApiKey').insert({ ...key });
      await insertAudit(m, audit);
    });
  }

  async findKey(id: string): Promise<StoredApiKey | undefined> {
    const row = await this.db.manager.getRepository<ApiKeyRow>('ApiKey').findOne({ where: { id } });
    return row ? toKey(row) : undefined;
  }

  async listKeys(): Promise<StoredApiKey[]> {
    return (await this.db.manager.getRepository<ApiKeyRow>('ApiKey').find({ order: { createdAt: 'ASC' } })).map(toKey);
  }

  /** records a successful use (no audit record: it is not a change) */
  async touchKey(id: string, at: Date): Promise<void> {
    await this.db.transaction((m) => m.getRepository<ApiKeyRow>('ApiKey').update({ id }, { lastUsedAt: at }));
  }

  /** false when unknown or already revoked */
  async revokeKey(id: string, now: Date, audit: AuditRecord): Promise<boolean> {
    return this.db.transaction(async (m) => {
      const res = await m.createQueryBuilder().update('ApiKey').set({ revokedAt: now }).where('id = :id AND revoked_at IS NULL', { id }).execute();
      if (!res.affected) return false;
      await insertAudit(m, audit);
      return true;
    });
  }

  /** for changes without a row of their own (e.g. minting a profile's challenge) */
  async append(record: AuditRecord): Promise<void> {
    await this.db.transaction((m) => insertAudit(m, record));
  }

  /**
   * Oldest first. With `afterId` the `limit` entries that follow it (a reader following the log gets
   * every entry, page after page); otherwise the newest `limit` (before `beforeId`, when given).
   */
  async list(q: AuditQuery): Promise<AuditEntry[]> {
    const following = q.afterId !== undefined;
    const qb = this.db.manager
      .getRepository<AuditEntryRow>('AuditEntry')
      .createQueryBuilder('a')
      .orderBy('a.id', following ? 'ASC' : 'DESC')
      .limit(q.limit);
    if (q.afterId !== undefined) qb.andWhere('a.id > :after', { after: q.afterId });
    if (q.beforeId !== undefined) qb.andWhere('a.id < :before', { before: q.beforeId });
    if (q.action) qb.andWhere('a.action = :action', { action: q.action });
    const rows = await qb.getMany();
    return (following ? rows : rows.reverse()).map((r) => ({
      id: r.id,
      at: r.at,
      who: r.actor,
      from: r.source,
      action: r.action,
      target: r.target,
      details: r.details ? (JSON.parse(r.details) as Record<string, unknown>) : null,
    }));
  }
}

function toKey(r: ApiKeyRow): StoredApiKey {
  return {
    id: r.id,
    name: r.name,
    role: r.role as Role,
    secretHash: r.secretHash,
    createdBy: r.createdBy,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
    lastUsedAt: r.lastUsedAt,
    revokedAt: r.revokedAt,
  };
}
