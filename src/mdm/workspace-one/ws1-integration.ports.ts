import type { AuditRecord } from '../../admin/audit.types';
import type { InventoryLookup, InventoryStore, SyncStatus } from './inventory-store.ports';

/** WS1 API settings as stored: password and API key only as SecretBox ciphertext. */
export interface StoredWs1Settings {
  integrationId: string;
  baseUrl: string;
  username: string;
  passwordEnc: string;
  apiKeyEnc: string;
  caPem: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface Ws1SettingsStore {
  find(integrationId: string): Promise<StoredWs1Settings | undefined>;
  /** insert or replace, with its audit record, in one transaction */
  save(row: StoredWs1Settings, audit: AuditRecord): Promise<void>;
  /** integrations that have WS1 settings (the nightly sync's candidates) */
  listIntegrationIds(): Promise<string[]>;
}

export interface AppConfigKeyStore {
  /** the integration's key, inserting `candidate` when it has none yet (first writer wins) */
  getOrCreate(integrationId: string, candidate: string, now: Date): Promise<string>;
  findIntegrationId(configKey: string): Promise<string | undefined>;
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

/**
 * The sync lease: a conditional UPDATE on the integration's sync-state row, so two syncs of one
 * integration never overlap, also across processes sharing the database.
 */
export interface SyncLeaseStore {
  /** false when another owner holds an unexpired lease (or, with `slot`, when the slot was already served) */
  tryAcquire(integrationId: string, owner: string, now: Date, expiresAt: Date, slot?: ScheduledSlot): Promise<boolean>;
  /** false when the lease was lost (expired and taken by someone else) */
  renew(integrationId: string, owner: string, expiresAt: Date): Promise<boolean>;
  release(integrationId: string, owner: string): Promise<void>;
  /** an InventoryStore whose swap only commits while `owner` still holds the lease */
  fencedStore(owner: string): InventoryStore;
  currentLease(integrationId: string, now: Date): Promise<SyncLeaseInfo | undefined>;
}

export interface InventoryReader extends InventoryLookup {
  getSyncStatus(integrationId: string): Promise<SyncStatus>;
}
