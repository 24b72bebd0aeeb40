import { expect } from 'chai';
import { Database } from '../../../src/db/database';
import { InventoryLeaseRepository } from '../../../src/db/inventory-lease.repository';
import { InventoryRepository, SyncLeaseLostError } from '../../../src/db/inventory.repository';
import type { ManagedDevice } from '../../../src/mdm/workspace-one/ws1.types';
import { openTestDatabase } from '../../support/test-database';
import { replaceInventory } from '../../../src/mdm/workspace-one/inventory-store.ports';

const device = (i: number, extra: Partial<ManagedDevice> = {}): ManagedDevice => ({
  udid: `UDID-${String(i).padStart(6, '0')}-ABCDEF`,
  serialNumber: `SER${i}X`,
  macAddress: `AABBCC${String(i).padStart(6, '0')}`,
  imei: `35${String(i).padStart(13, '0')}`,
  platform: 'Apple',
  enrollmentStatus: 'Enrolled',
  lastSeen: new Date('2025-01-02T03:04:05.678Z'),
  userName: `user${i}`,
  ...extra,
});
const fleet = (from: number, n: number) => Array.from({ length: n }, (_, k) => device(from + k));

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`inventory repository on ${dialect}: atomic swap, case-insensitive lookup, sync lease`, function () {
    this.timeout(60_000);
    let db: Database;
    let inventory: InventoryRepository;
    let leases: InventoryLeaseRepository;
    let cleanup: () => Promise<void>;
    const now = new Date('2026-01-01T02:00:00Z');
    const later = (ms: number) => new Date(now.getTime() + ms);

    before(async function () {
      ({ db, cleanup } = await openTestDatabase(dialect, 'inventory-'));
      inventory = new InventoryRepository(db);
      leases = new InventoryLeaseRepository(db, inventory);
    });
    after(() => cleanup?.());

    it('stores a snapshot and finds devices by any identifier, whatever the case or MAC format', async () => {
      await replaceInventory(
        inventory,
        'I1',
        [...fleet(0, 1200), device(5000, { imei: undefined, macAddress: undefined, lastSeen: undefined, userName: undefined })],
        now,
      );
      const d = device(7);
      for (const id of [d.udid.toLowerCase(), 'ser7x', 'aa:bb:cc:00:00:07', 'AA-BB-CC-00-00-07', ` ${d.imei} `]) {
        const found = await inventory.findByIdentifier('I1', id);
        expect(found, id).to.deep.equal({ ...d, syncedAt: now });
      }
      expect(await inventory.findByIdentifier('I1', device(5000).udid)).to.deep.equal({
        udid: device(5000).udid,
        serialNumber: 'SER5000X',
        platform: 'Apple',
        enrollmentStatus: 'Enrolled',
        syncedAt: now,
      });
      expect(await inventory.findByIdentifier('I1', 'SER99999X')).to.equal(undefined);
      expect(await inventory.findByIdentifier('other', d.udid)).to.equal(undefined);
      expect(await inventory.getSyncStatus('I1')).to.deep.equal({ deviceCount: 1201, lastSuccessAt: now });
    });

    it('readers see the old snapshot or the new one, never a mix, while a swap is written', async () => {
      // one device in both snapshots (with another user name), 1,200 devices before, 12,000 after
      const shared = device(1_100);
      const visibleCount = async () => {
        const sql =
          'SELECT COUNT(*) AS n FROM ws1_devices d JOIN ws1_sync_state s ON s.integration_id = d.integration_id AND s.generation = d.generation WHERE s.integration_id = ' +
          (dialect === 'postgres' ? '$1' : '?');
        return Number((await db.manager.query(sql, ['I1']))[0].n);
      };
      const seen = new Set<string>();
      let done = false;
      const next = fleet(1_000, 12_000).map((d) => (d.udid === shared.udid ? { ...d, userName: 'renamed' } : d));
      const swap = replaceInventory(inventory, 'I1', next, later(1000)).finally(() => (done = true));
      while (!done) {
        const [d, n] = await Promise.all([inventory.findByIdentifier('I1', shared.udid), visibleCount()]);
        seen.add(`device:${d?.userName ?? 'missing'}`);
        seen.add(`count:${n}`);
      }
      await swap;
      seen.add(`device:${(await inventory.findByIdentifier('I1', shared.udid))?.userName}`).add(`count:${await visibleCount()}`);
      const allowed = new Set(['device:user1100', 'device:renamed', 'count:1201', 'count:12000']);
      expect(
        [...seen].filter((x) => !allowed.has(x)),
        [...seen].join(' '),
      ).to.deep.equal([]);
      expect(seen.has('device:renamed') && seen.has('count:12000')).to.equal(true);
      expect(await inventory.findByIdentifier('I1', device(0).udid)).to.equal(undefined);
      const rows = await db.manager.query('SELECT COUNT(*) AS n FROM ws1_devices');
      expect(Number(rows[0].n)).to.equal(12_000); // the old generation was deleted
    });

    it('records a failure without touching the inventory', async () => {
      await inventory.recordSyncFailure('I1', 'WS1 answered HTTP 500', later(2000));
      const s = await inventory.getSyncStatus('I1');
      expect(s).to.deep.equal({ deviceCount: 12_000, lastSuccessAt: later(1000), lastFailureAt: later(2000), lastFailureMessage: 'WS1 answered HTTP 500' });
    });

    it('the lease: one holder at a time, renewable, taken over only after it expires', async () => {
      expect(await leases.tryAcquire('L1', 'a', now, later(60_000))).to.equal(true);
      expect(await leases.tryAcquire('L1', 'b', later(1000), later(61_000))).to.equal(false);
      expect(await leases.renew('L1', 'a', later(120_000))).to.equal(true);
      expect(await leases.tryAcquire('L1', 'b', later(90_000), later(150_000))).to.equal(false);
      expect(await leases.currentLease('L1', later(90_000))).to.deep.equal({ owner: 'a', expiresAt: later(120_000) });
      expect(await leases.tryAcquire('L1', 'b', later(121_000), later(180_000))).to.equal(true); // a's lease expired
      expect(await leases.renew('L1', 'a', later(200_000))).to.equal(false);
      await leases.release('L1', 'a'); // not a's any more: no effect
      expect((await leases.currentLease('L1', later(122_000)))?.owner).to.equal('b');
      await leases.release('L1', 'b');
      expect(await leases.currentLease('L1', later(122_000))).to.equal(undefined);
    });

    it('a holder that lost its lease cannot swap its inventory in', async () => {
      await replaceInventory(inventory, 'L2', fleet(0, 10), now);
      expect(await leases.tryAcquire('L2', 'slow', now, later(1000))).to.equal(true);
      expect(await leases.tryAcquire('L2', 'fast', later(2000), later(60_000))).to.equal(true);
      let err: unknown;
      await replaceInventory(leases.fencedStore('slow'), 'L2', fleet(100, 5), later(3000)).catch((e: unknown) => (err = e));
      expect(err).to.be.instanceOf(SyncLeaseLostError);
      expect((await inventory.getSyncStatus('L2')).deviceCount).to.equal(10);
      expect(await inventory.findByIdentifier('L2', device(100).udid)).to.equal(undefined);
      await replaceInventory(leases.fencedStore('fast'), 'L2', fleet(200, 3), later(4000));
      expect((await inventory.getSyncStatus('L2')).deviceCount).to.equal(3);
      const rows = await db.manager.query(
        dialect === 'postgres'
          ? 'SELECT COUNT(*) AS n FROM ws1_devices WHERE integration_id = $1'
          : 'SELECT COUNT(*) AS n FROM ws1_devices WHERE integration_id = ?',
        ['L2'],
      );
      expect(Number(rows[0].n)).to.equal(3);
    });

    it('a nightly slot is served once, and not after a sync that succeeded since it began', async () => {
      const slot = { key: '2026-01-01', startsAt: now };
      expect(await leases.tryAcquire('S1', 'x', now, later(60_000), slot)).to.equal(true);
      await leases.release('S1', 'x');
      expect(await leases.tryAcquire('S1', 'y', later(1000), later(60_000), slot)).to.equal(false); // already claimed
      await replaceInventory(inventory, 'S2', fleet(0, 2), later(5000)); // a manual sync after the slot began
      expect(await leases.tryAcquire('S2', 'x', later(6000), later(60_000), slot)).to.equal(false);
      expect(await leases.tryAcquire('S2', 'x', later(6000), later(60_000), { key: '2026-01-02', startsAt: later(86_400_000) })).to.equal(true);
    });
  });
}
