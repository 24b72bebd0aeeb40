import { EntitySchema } from 'typeorm';
import { ColumnTypes } from '../dialect';

export interface ApiKeyRow {
  id: string;
  name: string | null;
  role: string;
  secretHash: string;
  createdBy: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** Admin API keys: only the secret's SHA-256 is kept. */
export const apiKeyEntity = (t: ColumnTypes) =>
  new EntitySchema<ApiKeyRow>({
    name: 'ApiKey',
    tableName: 'api_keys',
    columns: {
      id: { type: String, length: 32, primary: true },
      name: { type: String, length: 100, nullable: true },
      role: { type: String, length: 32 },
      secretHash: { name: 'secret_hash', type: String, length: 64 },
      createdBy: { name: 'created_by', type: String, length: 256 },
      createdAt: { name: 'created_at', type: t.timestamp },
      expiresAt: { name: 'expires_at', type: t.timestamp, nullable: true },
      lastUsedAt: { name: 'last_used_at', type: t.timestamp, nullable: true },
      revokedAt: { name: 'revoked_at', type: t.timestamp, nullable: true },
    },
  });
