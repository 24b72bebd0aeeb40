import { EntitySchema } from 'typeorm';
import type { StoredChallenge } from '../../challenge/challenge.types';
import { ColumnTypes } from '../dialect';

export type ChallengeRow = StoredChallenge;

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
