/** WS1 API settings as stored: password and API key only as SecretBox ciphertext. */
export interface StoredWs1Settings {
  integrationId: string;
  baseUrl: string;
  username: string;
  passwordEnc: string;
  apiKeyEnc: string;
  /** extra trust anchor (PEM) for an on-premises WS1 with a private CA */
  caPem: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The nightly slot a scheduled sync claims: once claimed (or once a sync succeeded after `startsAt`), other instances skip it. */
export interface ScheduledSlot {
  key: string;
  startsAt: Date;
}

export interface SyncLeaseInfo {
  owner: string;
  expiresAt: Date;
}
