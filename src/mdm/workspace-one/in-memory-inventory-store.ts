import { InventoryGeneration, InventoryLookup, InventoryStore, normalizeIdentifier, SyncStatus } from './inventory-store.ports';
import type { ManagedDevice } from './ws1.types';

interface Snapshot {
  devices: readonly ManagedDevice[];
  byIdentifier: Map<string, ManagedDevice>;
}

/**
 * The inventory port in memory, for tests and single-process tools (it holds whole fleets by
 * nature). A generation is built aside and swapped in as one reference: atomic by construction.
 */
export class InMemoryInventoryStore implements InventoryStore, InventoryLookup {
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly status = new Map<string, SyncStatus>();

  async beginGeneration(integrationId: string, _startedAt: Date): Promise<InventoryGeneration> {
    const building = new Map<string, ManagedDevice>(); // keyed by UDID: pages may overlap if WS1 shifts mid-walk
    let open = true;
    return {
      add: async (devices) => {
        if (!open) throw new Error('inventory generation already closed');
        for (const d of devices) building.set(normalizeIdentifier(d.udid), d);
      },
      commit: async (syncedAt) => {
        if (!open) throw new Error('inventory generation already closed');
        open = false;
        this.swap(integrationId, [...building.values()], syncedAt);
        return building.size;
      },
      abort: async () => {
        open = false;
        building.clear();
      },
    };
  }

  private swap(integrationId: string, devices: readonly ManagedDevice[], syncedAt: Date): void {
    const byIdentifier = new Map<string, ManagedDevice>();
    for (const d of devices) {
      for (const id of [d.udid, d.serialNumber, d.macAddress, d.imei]) {
        if (id) byIdentifier.set(normalizeIdentifier(id), d);
      }
    }
    this.snapshots.set(integrationId, { devices, byIdentifier });
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
