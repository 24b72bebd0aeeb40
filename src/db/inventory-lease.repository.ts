import { InventoryStore } from '../mdm/workspace-one/inventory-store.ports';
import type { ScheduledSlot, SyncLeaseInfo } from '../mdm/workspace-one/ws1-integration.types';
import { Database } from './database';
import { dateParam } from './dialect';
import { InventoryRepository } from './inventory.repository';

/**
 * The sync lease on `ws1_sync_state`: owner and expiry, taken and renewed by conditional UPDATEs,
 * so exactly one process syncs an integration at a time whatever the number of instances. An
 * expired lease (a crashed holder) can be taken over; the swap itself is fenced on the owner.
 */
export class InventoryLeaseRepository {
  constructor(
    private readonly db: Database,
    private readonly inventory: InventoryRepository,
  ) {}

  /** false when another owner holds an unexpired lease (or, with `slot`, when the slot was already served) */
  async tryAcquire(integrationId: string, owner: string, now: Date, expiresAt: Date, slot?: ScheduledSlot): Promise<boolean> {
    await this.inventory.ensureState(integrationId);
    const d = this.db.dialect;
    return this.db.transaction(async (m) => {
      const qb = m
        .createQueryBuilder()
        .update('Ws1SyncState')
        .set({ lockOwner: owner, lockExpiresAt: expiresAt, syncProgress: null, ...(slot ? { scheduledSlot: slot.key } : {}) })
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

  /** false when the lease was lost (expired and taken by someone else) */
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

  /** an InventoryStore whose swap only commits while `owner` still holds the lease */
  fencedStore(owner: string): InventoryStore {
    return {
      beginGeneration: (integrationId, startedAt) => this.inventory.begin(integrationId, startedAt, owner),
      recordSyncFailure: (integrationId, message, at) => this.inventory.recordSyncFailure(integrationId, message, at),
    };
  }

  async currentLease(integrationId: string, now: Date): Promise<SyncLeaseInfo | undefined> {
    return (await this.runState(integrationId, now)).lease;
  }

  recordProgress(integrationId: string, owner: string, progressJson: string): Promise<void> {
    return this.updateHeld(integrationId, owner, { syncProgress: progressJson.slice(0, 512) });
  }

  recordOutcome(integrationId: string, owner: string, outcomeJson: string): Promise<void> {
    return this.updateHeld(integrationId, owner, { syncProgress: null, syncOutcome: outcomeJson.slice(0, 2048) });
  }

  async runState(integrationId: string, now: Date): Promise<{ lease?: SyncLeaseInfo; progressJson: string | null; outcomeJson: string | null }> {
    const s = await this.inventory.state(integrationId);
    const held = s?.lockOwner && s.lockExpiresAt && s.lockExpiresAt > now;
    return {
      ...(held ? { lease: { owner: s.lockOwner!, expiresAt: s.lockExpiresAt! } } : {}),
      progressJson: held ? s.syncProgress : null,
      outcomeJson: s?.syncOutcome ?? null,
    };
  }

  private async updateHeld(integrationId: string, owner: string, values: { syncProgress?: string | null; syncOutcome?: string }): Promise<void> {
    await this.db.transaction((m) =>
      m
        .createQueryBuilder()
        .update('Ws1SyncState')
        .set(values)
        .where('integration_id = :integrationId AND lock_owner = :owner', { integrationId, owner })
        .execute(),
    );
  }
}
