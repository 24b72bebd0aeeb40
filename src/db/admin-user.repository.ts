import type { AdminUserStore, StoredAdminUser, StoredSession } from '../admin/admin-user.types';
import type { AuditRecord } from '../admin/audit.types';
import type { Role } from '../admin/roles';
import { insertAudit } from './admin.repository';
import { Database } from './database';
import type { AdminSessionRow, AdminUserRow } from './entities/admin-user.entity';
import { dateParam } from './dialect';

const USER = 'AdminUser';
const SESSION = 'AdminSession';

/** Console users and their sessions. */
export class AdminUserRepository implements AdminUserStore {
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

  async updateUser(id: string, values: Partial<Omit<StoredAdminUser, 'id'>>, audit: AuditRecord | undefined): Promise<boolean> {
    return this.db.transaction(async (m) => {
      const res = await m.getRepository<AdminUserRow>(USER).update({ id }, values);
      if (!res.affected) return false;
      if (audit) await insertAudit(m, audit);
      return true;
    });
  }

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
