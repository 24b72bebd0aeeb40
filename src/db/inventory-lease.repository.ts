import { InventoryStore } from '../mdm/workspace-one/inventory-store.ports';
import type { ScheduledSlot, SyncLeaseInfo, SyncLeaseStore } from '../mdm/workspace-one/ws1-integration.ports';
import { Database } from './database';
import { dateParam } from './dialect';
import { InventoryRepository } from './inventory.repository';

/**
 * The sync lease on `ws1_sync_state`: owner and expiry, taken and renewed by conditional UPDATEs,
 * so exactly one process syncs an integration at a time whatever the number of instances. An
 * expired lease (a crashed holder) can be taken over; the swap itself is fenced on the owner.
 */
export class InventoryLeaseRepository implements SyncLeaseStore {
  constructor(
    private readonly db: Database,
    private readonly inventory: InventoryRepository,
  ) {}

  async tryAcquire(integrationId: string, owner: string, now: Date, expiresAt: Date, slot?: ScheduledSlot): Promise<boolean> {
    await this.inventory.ensureState(integrationId);
    const d = this.db.dialect;
    return this.db.transaction(async (m) => {
      const qb = m
        .createQueryBuilder()
        .update('Ws1SyncState')
        .set(slot ? { lockOwner: owner, lockExpiresAt: expiresAt, scheduledSlot: slot.key } : { lockOwner: owner, lockExpiresAt: expiresAt })
        .where('integration_id = :integrationId AND (lock_owner IS NULL OR lock_expires_at < :now)', { integrationId, now: dateParam(d, now) });
      // a nightly slot runs once: not when another instance claimed it, nor after a sync that succeeded since it began
      if (slot) {
        qb.andWhere('(scheduled_slot IS NULL OR scheduled_slot <> :slotKey)', { slotKey: slot.key }).andWhere(
          '(last_success_at IS NULL OR last_success_at < :slotStart)',
          { slotStart: dateParam(d, slot.startsAt) },
        );
      }
      return (await qb.execute()).affected === 1;
    });
  }

  async renew(integrationId: string, owner: string, expiresAt: Date): Promise<boolean> {
    return this.db.transaction(async (m) => {
      const res = await m
        .createQueryBuilder()
        .update('Ws1SyncState')
        .set({ lockExpiresAt: expiresAt })
        .where('integration_id = :integrationId AND lock_owner = :owner', { integrationId, owner })
        .execute();
      return res.affected === 1;
    });
  }

  async release(integrationId: string, owner: string): Promise<void> {
    await this.db.transaction((m) =>
      m
        .createQueryBuilder()
        .update('Ws1SyncState')
        .set({ lockOwner: null, lockExpiresAt: null })
        .where('integration_id = :integrationId AND lock_owner = :owner', { integrationId, owner })
        .execute(),
    );
  }

  fencedStore(owner: string): InventoryStore {
    return {
      beginGeneration: (integrationId, startedAt) => this.inventory.begin(integrationId, startedAt, owner),
      recordSyncFailure: (integrationId, message, at) => this.inventory.recordSyncFailure(integrationId, message, at),
    };
  }

  async currentLease(integrationId: string, now: Date): Promise<SyncLeaseInfo | undefined> {
    const s = await this.inventory.state(integrationId);
    if (!s?.lockOwner || !s.lockExpiresAt || s.lockExpiresAt <= now) return undefined;
    return { owner: s.lockOwner, expiresAt: s.lockExpiresAt };
  }
}
