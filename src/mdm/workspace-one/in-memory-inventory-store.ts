import { InventoryLookup, InventoryStore, normalizeIdentifier, SyncStatus } from './inventory-store.ports';
import type { ManagedDevice } from './ws1.types';

interface Snapshot {
  devices: readonly ManagedDevice[];
  byIdentifier: Map<string, ManagedDevice>;
}

/** The inventory port in memory, for tests and single-process tools. Swaps are atomic by construction. */
export class InMemoryInventoryStore implements InventoryStore, InventoryLookup {
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly status = new Map<string, SyncStatus>();

  async replaceInventory(integrationId: string, devices: readonly ManagedDevice[], syncedAt: Date): Promise<void> {
    const byIdentifier = new Map<string, ManagedDevice>();
    for (const d of devices) {
      for (const id of [d.udid, d.serialNumber, d.macAddress, d.imei]) {
        if (id) byIdentifier.set(normalizeIdentifier(id), d);
      }
    }
    // Build first, then swap one reference: a concurrent reader sees the old or the new snapshot.
    this.snapshots.set(integrationId, { devices: [...devices], byIdentifier });
    const s = this.status.get(integrationId) ?? { deviceCount: 0 };
    this.status.set(integrationId, { ...s, deviceCount: devices.length, lastSuccessAt: syncedAt });
  }

  async recordSyncFailure(integrationId: string, message: string, at: Date): Promise<void> {
    const s = this.status.get(integrationId) ?? { deviceCount: 0 };
    this.status.set(integrationId, { ...s, lastFailureAt: at, lastFailureMessage: message });
  }

  async findByIdentifier(integrationId: string, identifier: string): Promise<ManagedDevice | undefined> {
    return this.snapshots.get(integrationId)?.byIdentifier.get(normalizeIdentifier(identifier));
  }

  list(integrationId: string): readonly ManagedDevice[] {
    return this.snapshots.get(integrationId)?.devices ?? [];
  }

  getStatus(integrationId: string): SyncStatus {
    return this.status.get(integrationId) ?? { deviceCount: 0 };
  }
}
