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
