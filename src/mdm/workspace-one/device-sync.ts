import { AppError } from '../../shared/errors';
import { Clock, systemClock } from '../../shared/clock';
import type { InventoryGeneration, InventoryStore } from './inventory-store.ports';
import { displayText, hasStorableIdentifiers } from './managed-device-fields';
import { ENROLLED, type ManagedDevice, type Ws1Device, type Ws1DevicePage } from './ws1.types';

/** What the sync needs from a WS1 client (Ws1Client satisfies it; tests may fake it). */
export interface Ws1DeviceSource {
  searchDevices(platform: string): AsyncIterable<Ws1DevicePage>;
}

export interface SyncProgress {
  page: number;
  fetched: number;
  total: number;
  /** managed devices written so far (a device on two overlapping pages counts twice until the switch) */
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
  | {
      ok: true;
      integrationId: string;
      platform: string;
      pages: number;
      fetched: number;
      managed: number;
      /** enrolled devices left out because an identifier was unprintable or too long (see hasStorableIdentifiers) */
      skipped: number;
      syncedAt: Date;
      durationMs: number;
    }
  | { ok: false; integrationId: string; platform: string; pages: number; fetched: number; error: unknown; message: string; durationMs: number };

/**
 * Nightly WS1 device sync for one integration. Each page's enrolled devices (compact fields only)
 * go straight into a new inventory generation that readers do not see, so memory is bounded by a
 * page whatever the fleet; the next page is fetched while the previous one is written. The new
 * generation becomes current only once the walk has fully succeeded: a failure on page 57 of 200
 * must not leave a third of the fleet "unmanaged". Any failure drops the partial generation, keeps
 * the previous inventory and is recorded. Failures are returned, not thrown, except when the store
 * cannot even record the failure.
 */
export async function syncDevices(input: SyncDevicesInput): Promise<SyncResult> {
  const { client, platform, store, integrationId, onProgress } = input;
  const clock = input.clock ?? systemClock;
  const started = Date.now();
  let pages = 0;
  let fetched = 0;
  let added = 0;
  let skipped = 0;
  let generation: InventoryGeneration | undefined;
  let writing: Promise<void> | undefined;
  try {
    generation = await store.beginGeneration(integrationId, clock.now());
    for await (const page of client.searchDevices(platform)) {
      pages++;
      fetched += page.devices.length;
      const managed: ManagedDevice[] = [];
      for (const d of page.devices) {
        const m = toManaged(d, platform);
        if (!m) continue;
        if (hasStorableIdentifiers(m)) managed.push(m);
        else skipped++;
      }
      await writing; // at most one page in flight: memory stays bounded when the database is slower than WS1
      writing = generation.add(managed);
      added += managed.length;
      onProgress?.({ page: page.page, fetched, total: page.total, managed: added });
    }
    await writing;
    const syncedAt = clock.now();
    const managed = await generation.commit(syncedAt);
    return { ok: true, integrationId, platform, pages, fetched, managed, skipped, syncedAt, durationMs: Date.now() - started };
  } catch (error) {
    await writing?.catch(() => undefined); // the walk's own error is the one reported
    await generation?.abort().catch(() => undefined); // a leftover generation is invisible and removed by the next sync
    const message = failureMessage(error, pages);
    await store.recordSyncFailure(integrationId, message, clock.now());
    return { ok: false, integrationId, platform, pages, fetched, error, message, durationMs: Date.now() - started };
  }
}

/** Only enrolled devices with a UDID are managed; everything else (unenrolled, pending, ...) is dropped. */
export function toManaged(d: Ws1Device, fallbackPlatform: string): ManagedDevice | undefined {
  if (d.enrollmentStatus !== ENROLLED || !d.udid) return undefined;
  // Optional fields only when WS1 gave a value: the rows written stay small.
  const m: ManagedDevice = {
    udid: d.udid,
    serialNumber: d.serialNumber ?? '',
    platform: displayText(d.platform ?? fallbackPlatform),
    enrollmentStatus: ENROLLED,
  };
  if (d.macAddress) m.macAddress = d.macAddress;
  if (d.imei) m.imei = d.imei;
  if (d.lastSeen) m.lastSeen = d.lastSeen;
  if (d.userName) m.userName = displayText(d.userName);
  return m;
}

function failureMessage(error: unknown, pages: number): string {
  // AppError messages are ours and safe to store; anything else could carry internals.
  const what = error instanceof AppError ? error.message : 'unexpected internal error';
  return `WS1 device sync failed after ${pages} page(s): ${what}; the previous inventory was kept`;
}
