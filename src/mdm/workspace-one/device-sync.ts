import { AppError } from '../../shared/errors';
import { Clock, systemClock } from '../../shared/clock';
import type { InventoryStore } from './inventory-store.ports';
import { ENROLLED, type ManagedDevice, type Ws1Device, type Ws1DevicePage } from './ws1.types';

/** What the sync needs from a WS1 client (Ws1Client satisfies it; tests may fake it). */
export interface Ws1DeviceSource {
  searchDevices(platform: string): AsyncIterable<Ws1DevicePage>;
}

export interface SyncProgress {
  page: number;
  fetched: number;
  total: number;
  managed: number;
}

export interface SyncDevicesInput {
  client: Ws1DeviceSource;
  platform: string;
  store: InventoryStore;
  integrationId: string;
  onProgress?: (progress: SyncProgress) => void;
  clock?: Clock;
}

export type SyncResult =
  | { ok: true; integrationId: string; platform: string; pages: number; fetched: number; managed: number; syncedAt: Date; durationMs: number }
  | { ok: false; integrationId: string; platform: string; pages: number; fetched: number; error: unknown; message: string; durationMs: number };

/**
 * Nightly WS1 device sync for one integration. All pages are fetched into memory first (only the
 * compact fields of enrolled devices are kept), and the inventory is swapped only once the walk has
 * fully succeeded: a failure on page 57 of 200 must not leave a third of the fleet "unmanaged".
 * Any failure keeps the previous inventory and is recorded. Failures are returned, not thrown,
 * except when the store cannot even record the failure.
 */
export async function syncDevices(input: SyncDevicesInput): Promise<SyncResult> {
  const { client, platform, store, integrationId, onProgress } = input;
  const clock = input.clock ?? systemClock;
  const started = Date.now();
  const managed = new Map<string, ManagedDevice>(); // keyed by UDID: pages may overlap if WS1 shifts mid-walk
  let pages = 0;
  let fetched = 0;
  try {
    for await (const page of client.searchDevices(platform)) {
      pages++;
      fetched += page.devices.length;
      for (const d of page.devices) {
        const m = toManaged(d, platform);
        if (m) managed.set(m.udid.toLowerCase(), m);
      }
      onProgress?.({ page: page.page, fetched, total: page.total, managed: managed.size });
    }
    const syncedAt = clock.now();
    await store.replaceInventory(integrationId, [...managed.values()], syncedAt);
    return { ok: true, integrationId, platform, pages, fetched, managed: managed.size, syncedAt, durationMs: Date.now() - started };
  } catch (error) {
    const message = failureMessage(error, pages);
    await store.recordSyncFailure(integrationId, message, clock.now());
    return { ok: false, integrationId, platform, pages, fetched, error, message, durationMs: Date.now() - started };
  }
}

/** Only enrolled devices with a UDID are managed; everything else (unenrolled, pending, ...) is dropped. */
export function toManaged(d: Ws1Device, fallbackPlatform: string): ManagedDevice | undefined {
  if (d.enrollmentStatus !== ENROLLED || !d.udid) return undefined;
  // Optional fields only when WS1 gave a value: 100k of these stay in memory until the swap.
  const m: ManagedDevice = { udid: d.udid, serialNumber: d.serialNumber ?? '', platform: d.platform ?? fallbackPlatform, enrollmentStatus: ENROLLED };
  if (d.macAddress) m.macAddress = d.macAddress;
  if (d.imei) m.imei = d.imei;
  if (d.lastSeen) m.lastSeen = d.lastSeen;
  if (d.userName) m.userName = d.userName;
  return m;
}

function failureMessage(error: unknown, pages: number): string {
  // AppError messages are ours and safe to store; anything else could carry internals.
  const what = error instanceof AppError ? error.message : 'unexpected internal error';
  return `WS1 device sync failed after ${pages} page(s): ${what}; the previous inventory was kept`;
}
