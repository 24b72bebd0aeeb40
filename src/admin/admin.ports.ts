import { AuditEntry, AuditRecord } from './audit.types';
import { Role } from './roles';

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

/** API keys; every change writes its audit record in the same transaction. */
export interface ApiKeyStore {
  insertKey(key: StoredApiKey, audit: AuditRecord): Promise<void>;
  findKey(id: string): Promise<StoredApiKey | undefined>;
  listKeys(): Promise<StoredApiKey[]>;
  /** records a successful use (no audit record: it is not a change) */
  touchKey(id: string, at: Date): Promise<void>;
  /** false when unknown or already revoked */
  revokeKey(id: string, now: Date, audit: AuditRecord): Promise<boolean>;
}

export interface AuditQuery {
  limit: number;
  /** only entries with a larger id (paging forward) */
  afterId?: number;
  /** only entries with a smaller id (the newest first, one page further back) */
  beforeId?: number;
  action?: string;
}

export interface AuditStore {
  /** for changes without a row of their own (e.g. minting a profile's challenge) */
  append(record: AuditRecord): Promise<void>;
  list(q: AuditQuery): Promise<AuditEntry[]>;
}
