import { EntitySchema } from 'typeorm';
import type { StoredApiKey } from '../../admin/api-key.types';
import { ColumnTypes } from '../dialect';

/** An API key as stored: the role is text in the table (the repository reads it back as a Role). */
export interface ApiKeyRow extends Omit<StoredApiKey, 'role'> {
  role: string;
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
