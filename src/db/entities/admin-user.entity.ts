import { EntitySchema } from 'typeorm';
import type { StoredAdminUser, StoredSession } from '../../admin/admin-user.types';
import { ColumnTypes } from '../dialect';

/** A console user as stored: the role is text in the table (the repository reads it back as a Role). */
export interface AdminUserRow extends Omit<StoredAdminUser, 'role'> {
  role: string;
}

export type AdminSessionRow = StoredSession;

/** People who sign in to the web console (password hash, sealed TOTP secret). */
export const adminUserEntity = (t: ColumnTypes) =>
  new EntitySchema<AdminUserRow>({
    name: 'AdminUser',
    tableName: 'admin_users',
    columns: {
      id: { type: String, length: 32, primary: true },
      name: { type: String, length: 200 },
      email: { type: String, length: 254 },
      role: { type: String, length: 32 },
      passwordHash: { name: 'password_hash', type: String, length: 512 },
      totpSecret: { name: 'totp_secret', type: String, length: 512, nullable: true },
      totpLastStep: { name: 'totp_last_step', type: t.bigint, nullable: true, transformer: { to: (v) => v, from: (v) => (v === null ? null : Number(v)) } },
      createdBy: { name: 'created_by', type: String, length: 256 },
      createdAt: { name: 'created_at', type: t.timestamp },
      updatedAt: { name: 'updated_at', type: t.timestamp },
      lastSignInAt: { name: 'last_sign_in_at', type: t.timestamp, nullable: true },
      disabledAt: { name: 'disabled_at', type: t.timestamp, nullable: true },
    },
  });

/** Console sessions: the cookie's SHA-256 only. */
export const adminSessionEntity = (t: ColumnTypes) =>
  new EntitySchema<AdminSessionRow>({
    name: 'AdminSession',
    tableName: 'admin_sessions',
    columns: {
      tokenHash: { name: 'token_hash', type: String, length: 64, primary: true },
      userId: { name: 'user_id', type: String, length: 32 },
      createdAt: { name: 'created_at', type: t.timestamp },
      lastSeenAt: { name: 'last_seen_at', type: t.timestamp },
      expiresAt: { name: 'expires_at', type: t.timestamp },
      source: { type: String, length: 128 },
    },
  });
