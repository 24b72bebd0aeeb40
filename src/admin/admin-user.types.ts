import type { AuditRecord } from './audit.types';
import type { Role } from './roles';

export interface StoredAdminUser {
  id: string;
  name: string;
  /** lower case */
  email: string;
  role: Role;
  passwordHash: string;
  /** sealed with the secret box; null: no second factor (application managers and read-only only) */
  totpSecret: string | null;
  /** the last TOTP time step accepted (a code works once) */
  totpLastStep: number | null;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
  lastSignInAt: Date | null;
  disabledAt: Date | null;
}

export interface StoredSession {
  tokenHash: string;
  userId: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  source: string;
}

/** Console users and sessions; every change of a user writes its audit record in the same transaction. */
export interface AdminUserStore {
  insertUser(u: StoredAdminUser, audit: AuditRecord): Promise<void>;
  findUser(id: string): Promise<StoredAdminUser | undefined>;
  findUserByEmail(email: string): Promise<StoredAdminUser | undefined>;
  listUsers(): Promise<StoredAdminUser[]>;
  countUsers(): Promise<number>;
  /** audited change of some columns; false when the user is unknown */
  updateUser(id: string, values: Partial<Omit<StoredAdminUser, 'id'>>, audit: AuditRecord | undefined): Promise<boolean>;
  /** conditional: only when `step` is after the stored one (a TOTP code is accepted once, also across instances) */
  acceptTotpStep(id: string, step: number, at: Date): Promise<boolean>;
  insertSession(s: StoredSession): Promise<void>;
  findSession(tokenHash: string): Promise<StoredSession | undefined>;
  touchSession(tokenHash: string, at: Date): Promise<void>;
  deleteSession(tokenHash: string): Promise<void>;
  /** every session of the user but `keep` (after a password or factor change, or disabling) */
  deleteSessionsOf(userId: string, keep?: string): Promise<void>;
  deleteExpiredSessions(now: Date): Promise<void>;
}

/** A user as pages and the CLI show it: never the hashes or the TOTP secret. */
export interface AdminUserView {
  id: string;
  name: string;
  email: string;
  role: Role;
  totp: boolean;
  createdBy: string;
  createdAt: string;
  lastSignInAt: string | null;
  disabledAt: string | null;
}
