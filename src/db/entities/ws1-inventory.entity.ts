import { EntitySchema } from 'typeorm';
import { ColumnTypes } from '../dialect';

/**
 * One managed device of one integration's inventory. A sync writes a new `generation` beside the
 * current one, page by page, and then flips `ws1_sync_state.generation`: readers only see the
 * current one, so a swap is atomic for them however the rows were written. `*_norm` are lower-case
 * copies for case-insensitive lookup through plain indexes. `syncedAt` is when the sync that wrote
 * the row started; readers report the snapshot's time, `ws1_sync_state.last_success_at`.
 */
export interface Ws1DeviceRow {
  integrationId: string;
  generation: number;
  udidNorm: string;
  udid: string;
  serialNumber: string | null;
  serialNorm: string | null;
  macAddress: string | null;
  macNorm: string | null;
  imei: string | null;
  imeiNorm: string | null;
  platform: string;
  enrollmentStatus: string;
  lastSeen: Date | null;
  userName: string | null;
  syncedAt: Date;
}

/** Per integration: current inventory generation, last success/failure, and the sync lease. */
export interface Ws1SyncStateRow {
  integrationId: string;
  generation: number;
  /** the generation number the latest sync took: each sync writes its own, above every earlier one */
  nextGeneration: number;
  deviceCount: number;
  lastSuccessAt: Date | null;
  lastFailureAt: Date | null;
  lastFailureMessage: string | null;
  /** the nightly slot (local date, YYYY-MM-DD) last claimed: the nightly run happens once across instances */
  scheduledSlot: string | null;
  lockOwner: string | null;
  lockExpiresAt: Date | null;
  /** JSON of the running sync's progress, written by the lease holder (read by every instance) */
  syncProgress: string | null;
  /** JSON of the last finished sync's outcome */
  syncOutcome: string | null;
}

export const ws1DeviceEntity = (t: ColumnTypes) =>
  new EntitySchema<Ws1DeviceRow>({
    name: 'Ws1Device',
    tableName: 'ws1_devices',
    columns: {
      integrationId: { name: 'integration_id', type: String, length: 32, primary: true },
      generation: { type: Number, primary: true },
      udidNorm: { name: 'udid_norm', type: String, length: 256, primary: true },
      udid: { type: String, length: 256 },
      serialNumber: { name: 'serial_number', type: String, length: 128, nullable: true },
      serialNorm: { name: 'serial_norm', type: String, length: 128, nullable: true },
      macAddress: { name: 'mac_address', type: String, length: 64, nullable: true },
      macNorm: { name: 'mac_norm', type: String, length: 64, nullable: true },
      imei: { type: String, length: 64, nullable: true },
      imeiNorm: { name: 'imei_norm', type: String, length: 64, nullable: true },
      platform: { type: String, length: 32 },
      enrollmentStatus: { name: 'enrollment_status', type: String, length: 32 },
      lastSeen: { name: 'last_seen', type: t.timestamp, nullable: true },
      userName: { name: 'user_name', type: String, length: 256, nullable: true },
      syncedAt: { name: 'synced_at', type: t.timestamp },
    },
  });

export const ws1SyncStateEntity = (t: ColumnTypes) =>
  new EntitySchema<Ws1SyncStateRow>({
    name: 'Ws1SyncState',
    tableName: 'ws1_sync_state',
    columns: {
      integrationId: { name: 'integration_id', type: String, length: 32, primary: true },
      generation: { type: Number },
      nextGeneration: { name: 'next_generation', type: Number },
      deviceCount: { name: 'device_count', type: Number },
      lastSuccessAt: { name: 'last_success_at', type: t.timestamp, nullable: true },
      lastFailureAt: { name: 'last_failure_at', type: t.timestamp, nullable: true },
      lastFailureMessage: { name: 'last_failure_message', type: String, length: 1024, nullable: true },
      scheduledSlot: { name: 'scheduled_slot', type: String, length: 16, nullable: true },
      lockOwner: { name: 'lock_owner', type: String, length: 128, nullable: true },
      lockExpiresAt: { name: 'lock_expires_at', type: t.timestamp, nullable: true },
      syncProgress: { name: 'sync_progress', type: String, length: 512, nullable: true },
      syncOutcome: { name: 'sync_outcome', type: String, length: 2048, nullable: true },
    },
  });
