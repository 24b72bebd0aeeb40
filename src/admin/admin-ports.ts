import { AuditEntry, AuditRecord } from './audit.types';
import { Role } from './roles';

export interface StoredApiKey {
  id: string;
  role: Role;
  secretHash: string;
  createdBy: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** API keys; every change writes its audit record in the same transaction. */
export interface ApiKeyStore {
  insertKey(key: StoredApiKey, audit: AuditRecord): Promise<void>;
  findKey(id: string): Promise<StoredApiKey | undefined>;
  listKeys(): Promise<StoredApiKey[]>;
  /** false when unknown or already revoked */
  revokeKey(id: string, now: Date, audit: AuditRecord): Promise<boolean>;
}

export interface AuditQuery {
  limit: number;
  /** only entries with a larger id (paging forward) */
  afterId?: number;
  action?: string;
}

export interface AuditStore {
  /** for changes without a row of their own (e.g. minting a profile's challenge) */
  append(record: AuditRecord): Promise<void>;
  list(q: AuditQuery): Promise<AuditEntry[]>;
}
