import { EntitySchema } from 'typeorm';
import { ColumnTypes } from '../dialect';

export interface ChallengeRow {
  id: string;
  integrationId: string;
  challengeHash: string;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
  /** the device it was minted for (it issues for no other); null: any device of the integration */
  deviceId?: string | null;
}

/** Dynamic one-time challenges, hashed; `used_at` is set by the issuing transaction. */
export const challengeEntity = (t: ColumnTypes) =>
  new EntitySchema<ChallengeRow>({
    name: 'Challenge',
    tableName: 'challenges',
    columns: {
      id: { type: String, length: 36, primary: true },
      integrationId: { name: 'integration_id', type: String, length: 32 },
      challengeHash: { name: 'challenge_hash', type: String, length: 64 },
      createdAt: { name: 'created_at', type: t.timestamp },
      expiresAt: { name: 'expires_at', type: t.timestamp },
      usedAt: { name: 'used_at', type: t.timestamp, nullable: true },
      deviceId: { name: 'device_id', type: String, length: 256, nullable: true },
    },
    uniques: [{ name: 'uq_challenges_integration_hash', columns: ['integrationId', 'challengeHash'] }],
  });
