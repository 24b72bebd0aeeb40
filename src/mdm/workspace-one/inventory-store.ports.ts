import type { ManagedDevice } from './ws1.types';

/**
 * Where the device sync writes. One integration holds one snapshot: the managed devices of its
 * platform as of the last successful sync. The database implementation lives in `db/`.
 */
export interface InventoryStore {
  /**
   * Replace the integration's whole inventory by `devices` in one transaction: readers see either
   * the old snapshot or the new one, never a mix. Also records `syncedAt` as the last success.
   */
  replaceInventory(integrationId: string, devices: readonly ManagedDevice[], syncedAt: Date): Promise<void>;
  /** Record a failed sync; the inventory itself must stay as it was. */
  recordSyncFailure(integrationId: string, message: string, at: Date): Promise<void>;
}

/** Read side used at login time (identifier-based trust). */
export interface InventoryLookup {
  /** Case-insensitive match on UDID, serial number, MAC address (separators ignored) or IMEI. */
  findByIdentifier(integrationId: string, identifier: string): Promise<StoredManagedDevice | undefined>;
}

/** A device as a store hands it back; `syncedAt` is the sync that last reported it (when the store keeps it). */
export type StoredManagedDevice = ManagedDevice & { syncedAt?: Date };

export interface SyncStatus {
  deviceCount: number;
  lastSuccessAt?: Date;
  lastFailureAt?: Date;
  lastFailureMessage?: string;
}

/** Normal form for identifier matching: lower case, MAC separators and surrounding blanks dropped. */
export function normalizeIdentifier(identifier: string): string {
  const s = identifier.trim().toLowerCase();
  return /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/.test(s) ? s.replace(/[:-]/g, '') : s;
}
