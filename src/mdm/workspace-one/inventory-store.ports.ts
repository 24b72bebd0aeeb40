import type { ManagedDevice } from './ws1.types';

/**
 * Where the device sync writes. One integration holds one snapshot: the managed devices of its
 * platform as of the last successful sync. A sync writes the next snapshot page by page into a
 * generation that readers cannot see, and makes it current in one step once the walk has
 * succeeded. The database implementation lives in `db/`.
 */
export interface InventoryStore {
  /** Opens a new, invisible generation of the integration's inventory for a sync started at `startedAt`. */
  beginGeneration(integrationId: string, startedAt: Date): Promise<InventoryGeneration>;
  /** Record a failed sync; the inventory itself must stay as it was. */
  recordSyncFailure(integrationId: string, message: string, at: Date): Promise<void>;
}

/** A snapshot being written. Readers keep seeing the current one until `commit` returns. */
export interface InventoryGeneration {
  /**
   * Adds one batch (a page); a device added again (same UDID, any case) replaces the earlier copy.
   * A store may hold a few batches back to write them in one transaction; `commit` writes them.
   */
  add(devices: readonly ManagedDevice[]): Promise<void>;
  /**
   * Makes this generation the current inventory in one step (readers see the old snapshot or the
   * new one, never a mix), records `syncedAt` as the last success, and drops the old snapshot.
   * Answers the number of devices in the new snapshot.
   */
  commit(syncedAt: Date): Promise<number>;
  /** Drops the unfinished generation; the current inventory stays as it was. */
  abort(): Promise<void>;
}

/** Writes `devices` as the integration's whole new inventory (one batch, then the switch). */
export async function replaceInventory(store: InventoryStore, integrationId: string, devices: readonly ManagedDevice[], syncedAt: Date): Promise<number> {
  const generation = await store.beginGeneration(integrationId, syncedAt);
  try {
    await generation.add(devices);
    return await generation.commit(syncedAt);
  } catch (err) {
    await generation.abort();
    throw err;
  }
}

/** Read side used at login time (identifier-based trust). */
export interface InventoryLookup {
  /** Case-insensitive match on UDID, serial number, MAC address (separators ignored) or IMEI. */
  findByIdentifier(integrationId: string, identifier: string): Promise<StoredManagedDevice | undefined>;
}

/** A device as a store hands it back; `syncedAt` is when its snapshot became current (the last good sync), when the store keeps it. */
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
