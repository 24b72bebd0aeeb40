import type { StoredAdminUser, StoredSession } from '../admin/admin-user.types';
import type { AuditRecord } from '../admin/audit.types';
import type { Role } from '../admin/roles';
import { insertAudit } from './admin.repository';
import { Database } from './database';
import type { AdminSessionRow, AdminUserRow } from './entities/admin-user.entity';
import { dateParam } from './dialect';
import { rawQuery } from './raw-sql';
import type { EntityManager } from 'typeorm';
import { LastOwnerError } from '../admin/admin-user.errors';

const USER = 'AdminUser';
const SESSION = 'AdminSession';

/** Console users and their sessions; every change of a user writes its audit record in the same transaction. */
export class AdminUserRepository {
  constructor(private readonly db: Database) {}

  private get users() {
    return this.db.manager.getRepository<AdminUserRow>(USER);
  }
  private get sessions() {
    return this.db.manager.getRepository<AdminSessionRow>(SESSION);
  }

  async insertUser(u: StoredAdminUser, audit: AuditRecord): Promise<void> {
    await this.db.transaction(async (m) => {
      await m.getRepository<AdminUserRow>(USER).insert({ ...u });
      await insertAudit(m, audit);
    });
  }

  async findUser(id: string): Promise<StoredAdminUser | undefined> {
    return toUser(await this.users.findOne({ where: { id } }));
  }

  async findUserByEmail(email: string): Promise<StoredAdminUser | undefined> {
    return toUser(await this.users.findOne({ where: { email } }));
  }

  async listUsers(): Promise<StoredAdminUser[]> {
    return (await this.users.find({ order: { createdAt: 'ASC' } })).map((r) => toUser(r)!);
  }

  countUsers(): Promise<number> {
    return this.users.count();
  }

  /**
   * Audited change of some columns; false when the user is unknown. With `keepAnOwner` the change
   * is refused (LastOwnerError) when no other enabled owner would remain, checked in the same
   * transaction as the change (owner rows locked on PostgreSQL), so two owners demoting each other
   * at once cannot leave none.
   */
  async updateUser(id: string, values: Partial<Omit<StoredAdminUser, 'id'>>, audit: AuditRecord | undefined, keepAnOwner = false): Promise<boolean> {
    return this.db.transaction(async (m) => {
      if (keepAnOwner) await this.requireAnotherOwner(m, id);
      const res = await m.getRepository<AdminUserRow>(USER).update({ id }, values);
      if (!res.affected) return false;
      if (audit) await insertAudit(m, audit);
      return true;
    });
  }

  /** audited removal of the user and their sessions, with the same last-owner check; false when unknown */
  async deleteUser(id: string, audit: AuditRecord): Promise<boolean> {
    return this.db.transaction(async (m) => {
      await this.requireAnotherOwner(m, id);
      await m.createQueryBuilder().delete().from(SESSION).where('user_id = :id', { id }).execute();
      const res = await m.createQueryBuilder().delete().from(USER).where('id = :id', { id }).execute();
      if (!res.affected) return false;
      await insertAudit(m, audit);
      return true;
    });
  }

  /**
   * Refuses a change that would leave no enabled owner besides `id`. PostgreSQL: the owner rows
   * are locked first, so a concurrent demotion waits and then sees this one; SQLite runs one
   * write transaction at a time.
   */
  private async requireAnotherOwner(m: EntityManager, id: string): Promise<void> {
    const d = this.db.dialect;
    if (d === 'postgres') await rawQuery(m, d, "SELECT id FROM admin_users WHERE role = 'owner' ORDER BY id FOR UPDATE", []);
    const rows = await rawQuery<{ n: number | string }[]>(
      m,
      d,
      "SELECT COUNT(*) AS n FROM admin_users WHERE role = 'owner' AND disabled_at IS NULL AND id <> ?",
      [id],
    );
    if (Number(rows[0]?.n ?? 0) === 0) throw new LastOwnerError();
  }

  /** conditional: only when `step` is after the stored one (a TOTP code is accepted once, also across instances) */
  async acceptTotpStep(id: string, step: number, at: Date): Promise<boolean> {
    return this.db.transaction(async (m) => {
      const res = await m
        .createQueryBuilder()
        .update(USER)
        .set({ totpLastStep: step, lastSignInAt: at })
        .where('id = :id AND (totp_last_step IS NULL OR totp_last_step < :step)', { id, step })
        .execute();
      return Boolean(res.affected);
    });
  }

  async insertSession(s: StoredSession): Promise<void> {
    await this.db.transaction((m) => m.getRepository<AdminSessionRow>(SESSION).insert({ ...s }));
  }

  async findSession(tokenHash: string): Promise<StoredSession | undefined> {
    return (await this.sessions.findOne({ where: { tokenHash } })) ?? undefined;
  }

  async touchSession(tokenHash: string, at: Date): Promise<void> {
    await this.db.transaction((m) => m.getRepository<AdminSessionRow>(SESSION).update({ tokenHash }, { lastSeenAt: at }));
  }

  async deleteSession(tokenHash: string): Promise<void> {
    await this.db.transaction((m) => m.getRepository<AdminSessionRow>(SESSION).delete({ tokenHash }));
  }

  /** every session of the user but `keep` (after a password or factor change, or disabling) */
  async deleteSessionsOf(userId: string, keep?: string): Promise<void> {
    await this.db.transaction(async (m) => {
      const qb = m.createQueryBuilder().delete().from(SESSION).where('user_id = :userId', { userId });
      if (keep) qb.andWhere('token_hash <> :keep', { keep });
      await qb.execute();
    });
  }

  async deleteExpiredSessions(now: Date): Promise<void> {
    await this.db.transaction((m) =>
      m
        .createQueryBuilder()
        .delete()
        .from(SESSION)
        .where('expires_at <= :now', { now: dateParam(this.db.dialect, now) })
        .execute(),
    );
  }
}

function toUser(r: AdminUserRow | null): StoredAdminUser | undefined {
  return r ? { ...r, role: r.role as Role } : undefined;
}
