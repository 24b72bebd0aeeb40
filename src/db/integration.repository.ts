import { EntityManager, In, IsNull } from 'typeorm';
import { AuditRecord } from '../admin/audit.types';
import { InTransaction, IntegrationLookup, StatusChange, UserGroup } from '../integrations/integration.ports';
import { Integration, IntegrationStatus, IntegrationType } from '../integrations/integration.types';
import { ConflictError, NotFoundError } from '../shared/errors';
import { insertAudit } from './admin.repository';
import { Database, isUniqueViolation } from './database';
import { dateParam } from './dialect';
import { IntegrationRow } from './entities/integration.entity';
import { UserGroupMemberRow, UserGroupRow, UserRow } from './entities/user-group.entity';
import { transactionOf } from './transaction';

class NameTaken extends Error {}

/** Integrations, users and groups; each change and its audit record in one transaction. */
export class IntegrationRepository implements IntegrationLookup {
  constructor(private readonly db: Database) {}

  private integrations(m: EntityManager = this.db.manager) {
    return m.getRepository<IntegrationRow>('Integration');
  }
  private groupRepo(m: EntityManager = this.db.manager) {
    return m.getRepository<UserGroupRow>('UserGroup');
  }

  async insertIntegration(i: Integration, audit: AuditRecord): Promise<void> {
    await this.db.transaction(async (m) => {
      // new integrations start disabled, without a group
      const { groupName: _groupName, ...rest } = i;
      await this.integrations(m).insert({ ...rest, groupId: null });
      await insertAudit(m, audit);
    });
  }

  /** deleted ones included: callers decide what a deleted integration answers */
  async findIntegration(id: string): Promise<Integration | undefined> {
    const row = await this.integrations().findOne({ where: { id } });
    return row ? (await this.withGroupNames([row]))[0] : undefined;
  }

  async findByChallengeUsername(username: string): Promise<Integration | undefined> {
    const row = await this.integrations().findOne({ where: { challengeUsername: username } });
    return row ? (await this.withGroupNames([row]))[0] : undefined;
  }

  async listIntegrations(): Promise<Integration[]> {
    return this.withGroupNames(await this.integrations().find({ order: { createdAt: 'ASC', id: 'ASC' } }));
  }

  /** throws NotFoundError for an unknown group */
  async setStatus(id: string, change: StatusChange, now: Date, audit: AuditRecord): Promise<void> {
    await this.db.transaction(async (m) => {
      let groupId: number | null = null;
      if (change.groupName) {
        const g = await this.groupRepo(m).findOne({ where: { name: change.groupName } });
        if (!g) throw new NotFoundError(`no group ${change.groupName}`);
        groupId = g.id;
      }
      await this.updateLive(m, id, { status: change.status, groupId, updatedAt: now });
      await insertAudit(m, audit);
    });
  }

  async setChallengePasswordHash(id: string, hash: string, now: Date, audit: AuditRecord): Promise<void> {
    await this.db.transaction(async (m) => {
      await this.updateLive(m, id, { challengePasswordHash: hash, updatedAt: now });
      await insertAudit(m, audit);
    });
  }

  /**
   * New challenge password hash; the old one stays valid until `previousUntil` (null: not at all).
   * With `expireUnusedChallenges`, every unused challenge of the integration expires at `now`, in
   * the same transaction. Resolves to the number of challenges expired.
   */
  async rotateChallengePassword(
    id: string,
    change: { hash: string; previousUntil: Date | null; expireUnusedChallenges: boolean },
    now: Date,
    audit: (expired: number) => AuditRecord,
  ): Promise<number> {
    return this.db.transaction(async (m) => {
      const current = await this.integrations(m).findOne({ where: { id } });
      const keepPrevious = change.previousUntil !== null && current?.challengePasswordHash;
      await this.updateLive(m, id, {
        challengePasswordHash: change.hash,
        previousChallengePasswordHash: keepPrevious ? current.challengePasswordHash : null,
        previousChallengePasswordUntil: keepPrevious ? change.previousUntil : null,
        updatedAt: now,
      });
      let expired = 0;
      if (change.expireUnusedChallenges) {
        const at = dateParam(this.db.dialect, now);
        // expired as of their own creation: whatever the clock of the instance that checks them later
        const res = await m
          .createQueryBuilder()
          .update('Challenge')
          .set({ expiresAt: () => 'created_at' })
          .where('integration_id = :id AND used_at IS NULL AND expires_at > :at', { id, at })
          .execute();
        expired = res.affected ?? 0;
      }
      await insertAudit(m, audit(expired));
      return expired;
    });
  }

  async setSubjectTemplate(id: string, template: string, now: Date, audit: AuditRecord): Promise<void> {
    await this.db.transaction(async (m) => {
      await this.updateLive(m, id, { subjectTemplate: template, updatedAt: now });
      await insertAudit(m, audit);
    });
  }

  /** throws NotFoundError for an unknown or deleted integration */
  async rename(id: string, name: string, now: Date, audit: AuditRecord): Promise<void> {
    await this.db.transaction(async (m) => {
      await this.updateLive(m, id, { name, updatedAt: now });
      await insertAudit(m, audit);
    });
  }

  /**
   * Soft delete: SCEP and challenge URLs answer 404 afterwards; false if unknown or already
   * deleted. `inTransaction` runs in the same database transaction (e.g. revoking the
   * integration's certificates); what it returns is added to the audit details.
   */
  async markDeleted(id: string, now: Date, audit: AuditRecord, inTransaction?: InTransaction): Promise<boolean> {
    return this.db.transaction(async (m) => {
      const res = await m
        .createQueryBuilder()
        .update('Integration')
        .set({ deletedAt: now, updatedAt: now })
        .where('id = :id AND deleted_at IS NULL', { id })
        .execute();
      if (!res.affected) return false;
      const extra = (await inTransaction?.(transactionOf(m))) ?? undefined;
      await insertAudit(m, extra ? { ...audit, details: { ...audit.details, ...extra } } : audit);
      return true;
    });
  }

  /** a deleted integration is not changed any more (a concurrent delete wins) */
  private async updateLive(m: EntityManager, id: string, values: Partial<IntegrationRow>): Promise<void> {
    const res = await m.createQueryBuilder().update('Integration').set(values).where('id = :id AND deleted_at IS NULL', { id }).execute();
    if (!res.affected) throw new NotFoundError(`no integration ${id}`);
  }

  private async withGroupNames(rows: IntegrationRow[]): Promise<Integration[]> {
    const ids = [...new Set(rows.map((r) => r.groupId).filter((g): g is number => g !== null))];
    const groups = ids.length ? await this.groupRepo().find({ where: { id: In(ids) } }) : [];
    const names = new Map(groups.map((g) => [g.id, g.name]));
    return rows.map(({ groupId, ...r }) => ({
      ...r,
      type: r.type as IntegrationType,
      status: r.status as IntegrationStatus,
      groupName: groupId === null ? null : (names.get(groupId) ?? null),
    }));
  }

  // --- users and groups

  /** false when the name is taken */
  async insertGroup(name: string, now: Date, audit: AuditRecord): Promise<boolean> {
    try {
      await this.db.transaction(async (m) => {
        if (await this.groupRepo(m).findOne({ where: { name } })) throw new NameTaken();
        await this.groupRepo(m).insert({ name, createdAt: now });
        await insertAudit(m, audit);
      });
      return true;
    } catch (err) {
      if (err instanceof NameTaken || isUniqueViolation(err)) return false;
      throw err;
    }
  }

  /** creates the user if needed; 'exists' when already a member; throws NotFoundError for an unknown group */
  async addMember(group: string, username: string, now: Date, audit: AuditRecord): Promise<'added' | 'exists'> {
    return this.db.transaction(async (m) => {
      const g = await this.groupRepo(m).findOne({ where: { name: group } });
      if (!g) throw new NotFoundError(`no group ${group}`);
      const users = m.getRepository<UserRow>('User');
      let user = await users.findOne({ where: { username } });
      if (!user) {
        await users.insert({ username, createdAt: now });
        user = (await users.findOne({ where: { username } }))!;
      }
      const members = m.getRepository<UserGroupMemberRow>('UserGroupMember');
      if (await members.findOne({ where: { groupId: g.id, userId: user.id } })) return 'exists';
      await members.insert({ groupId: g.id, userId: user.id, createdAt: now });
      await insertAudit(m, audit);
      return 'added';
    });
  }

  async findGroup(name: string): Promise<UserGroup | undefined> {
    const g = await this.groupRepo().findOne({ where: { name } });
    return g ? (await this.withMembers([g]))[0] : undefined;
  }

  async listGroups(): Promise<UserGroup[]> {
    return this.withMembers(await this.groupRepo().find({ order: { name: 'ASC' } }));
  }

  async isMember(group: string, username: string): Promise<boolean> {
    const rows = await this.db.manager
      .createQueryBuilder()
      .select('1', 'x')
      .from('user_group_members', 'm')
      .innerJoin('user_groups', 'g', 'g.id = m.group_id')
      .innerJoin('users', 'u', 'u.id = m.user_id')
      .where('g.name = :group AND u.username = :username', { group, username })
      .getRawMany();
    return rows.length > 0;
  }

  /** 'absent' when the user is not a member (nothing written); throws NotFoundError for an unknown group */
  async removeMember(group: string, username: string, audit: AuditRecord): Promise<'removed' | 'absent'> {
    return this.db.transaction(async (m) => {
      const g = await this.groupRepo(m).findOne({ where: { name: group } });
      if (!g) throw new NotFoundError(`no group ${group}`);
      const user = await m.getRepository<UserRow>('User').findOne({ where: { username } });
      if (!user) return 'absent';
      const res = await m.getRepository<UserGroupMemberRow>('UserGroupMember').delete({ groupId: g.id, userId: user.id });
      if (!res.affected) return 'absent';
      await insertAudit(m, audit);
      return 'removed';
    });
  }

  /**
   * Deletes the group and its memberships; throws NotFoundError for an unknown group and
   * ConflictError while a live integration's test-group status names it.
   */
  async deleteGroup(name: string, audit: AuditRecord): Promise<{ members: number }> {
    return this.db.transaction(async (m) => {
      const g = await this.groupRepo(m).findOne({ where: { name } });
      if (!g) throw new NotFoundError(`no group ${name}`);
      const users = await this.integrations(m).find({ where: { groupId: g.id, deletedAt: IsNull() }, select: { id: true } });
      if (users.length) throw new ConflictError(`group ${name} is the test group of ${users.map((i) => i.id).join(', ')}: change their status first`);
      const res = await m.getRepository<UserGroupMemberRow>('UserGroupMember').delete({ groupId: g.id });
      // a deleted integration may still name it: it keeps no reference to a group that is gone
      await m.createQueryBuilder().update('Integration').set({ groupId: null }).where('group_id = :id', { id: g.id }).execute();
      await this.groupRepo(m).delete({ id: g.id });
      const members = res.affected ?? 0;
      await insertAudit(m, { ...audit, details: { ...audit.details, members } });
      return { members };
    });
  }

  private async withMembers(groups: UserGroupRow[]): Promise<UserGroup[]> {
    if (!groups.length) return [];
    const rows: { group_id: number; username: string }[] = await this.db.manager
      .createQueryBuilder()
      .select(['m.group_id AS group_id', 'u.username AS username'])
      .from('user_group_members', 'm')
      .innerJoin('users', 'u', 'u.id = m.user_id')
      .where('m.group_id IN (:...ids)', { ids: groups.map((g) => g.id) })
      .orderBy('u.username', 'ASC')
      .getRawMany();
    return groups.map((g) => ({ name: g.name, createdAt: g.createdAt, members: rows.filter((r) => Number(r.group_id) === g.id).map((r) => r.username) }));
  }
}
