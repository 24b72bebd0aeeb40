export interface StoredChallenge {
  id: string;
  integrationId: string;
  challengeHash: string;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
  /** minted for this device only; null or absent: any device of the integration */
  deviceId?: string | null;
}

/**
 * Dynamic challenges, implemented in db/. Redemption is not here: the SCEP store's issuing
 * transaction does it with a conditional UPDATE (used_at IS NULL AND expires_at > now), so a
 * challenge is single-use even across processes sharing the database.
 */
export interface ChallengeStore {
  /** inserts unless the integration already has `limit` outstanding (unused, unexpired) challenges */
  insertWithinLimit(row: StoredChallenge, limit: number, now: Date): Promise<boolean>;
  findByHash(integrationId: string, challengeHash: string): Promise<StoredChallenge | undefined>;
  countOutstanding(integrationId: string, now: Date): Promise<number>;
}
