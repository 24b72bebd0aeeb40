import type { Role } from './roles';

/** An API key as stored: only the secret's hash is kept. */
export interface StoredApiKey {
  id: string;
  /** what the key is for; null for keys made before keys had names */
  name: string | null;
  role: Role;
  secretHash: string;
  createdBy: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}
