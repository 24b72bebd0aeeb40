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
