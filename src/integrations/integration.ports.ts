import { AuditRecord } from '../admin/audit.types';
import { Integration, IntegrationStatus } from './integration.types';

/** Work another module does inside our transaction; `tx` is db/'s handle (an EntityManager). */
export type InTransaction = (tx: unknown) => Promise<Record<string, unknown> | void>;

export interface StatusChange {
  status: IntegrationStatus;
  groupName: string | null;
}

/**
 * Integrations, users and groups, implemented in db/. Every change carries its audit record and
 * writes it in the same database transaction.
 */
export interface IntegrationStore {
  insertIntegration(row: Integration, audit: AuditRecord): Promise<void>;
  /** deleted ones included: callers decide what a deleted integration answers */
  findIntegration(id: string): Promise<Integration | undefined>;
  findByChallengeUsername(username: string): Promise<Integration | undefined>;
  listIntegrations(): Promise<Integration[]>;
  /** throws NotFoundError for an unknown group */
  setStatus(id: string, change: StatusChange, now: Date, audit: AuditRecord): Promise<void>;
  setChallengePasswordHash(id: string, hash: string, now: Date, audit: AuditRecord): Promise<void>;
  /**
   * New challenge password hash; the old one stays valid until `previousUntil` (null: not at all).
   * With `expireUnusedChallenges`, every unused challenge of the integration expires at `now`, in
   * the same transaction. Resolves to the number of challenges expired.
   */
  rotateChallengePassword(
    id: string,
    change: { hash: string; previousUntil: Date | null; expireUnusedChallenges: boolean },
    now: Date,
    audit: (expired: number) => AuditRecord,
  ): Promise<number>;
  setSubjectTemplate(id: string, template: string, now: Date, audit: AuditRecord): Promise<void>;
  /** throws NotFoundError for an unknown or deleted integration */
  rename(id: string, name: string, now: Date, audit: AuditRecord): Promise<void>;
  /**
   * Soft delete: SCEP and challenge URLs answer 404 afterwards; false if unknown or already
   * deleted. `inTransaction` runs in the same database transaction (e.g. revoking the
   * integration's certificates); what it returns is added to the audit details.
   */
  markDeleted(id: string, now: Date, audit: AuditRecord, inTransaction?: InTransaction): Promise<boolean>;
}

export interface UserGroup {
  name: string;
  members: string[];
  createdAt: Date;
}

export interface GroupStore {
  /** false when the name is taken */
  insertGroup(name: string, now: Date, audit: AuditRecord): Promise<boolean>;
  /** creates the user if needed; 'exists' when already a member; throws NotFoundError for an unknown group */
  addMember(group: string, username: string, now: Date, audit: AuditRecord): Promise<'added' | 'exists'>;
  findGroup(name: string): Promise<UserGroup | undefined>;
  listGroups(): Promise<UserGroup[]>;
  isMember(group: string, username: string): Promise<boolean>;
  /** 'absent' when the user is not a member (nothing written); throws NotFoundError for an unknown group */
  removeMember(group: string, username: string, audit: AuditRecord): Promise<'removed' | 'absent'>;
  /**
   * Deletes the group and its memberships; throws NotFoundError for an unknown group and
   * ConflictError while a live integration's test-group status names it.
   */
  deleteGroup(name: string, audit: AuditRecord): Promise<{ members: number }>;
}
