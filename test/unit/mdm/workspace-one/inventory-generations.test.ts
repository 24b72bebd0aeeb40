import { expect } from 'chai';
import { Database } from '../../../../src/db/database';
import { InventoryLeaseRepository } from '../../../../src/db/inventory-lease.repository';
import { InventoryRepository, placeholders, SyncLeaseLostError } from '../../../../src/db/inventory.repository';
import { syncDevices } from '../../../../src/mdm/workspace-one/device-sync';
import { replaceInventory } from '../../../../src/mdm/workspace-one/inventory-store.ports';
import { Ws1ServerError } from '../../../../src/mdm/workspace-one/ws1.errors';
import type { ManagedDevice, Ws1Device } from '../../../../src/mdm/workspace-one/ws1.types';
import { openTestDatabase } from '../../../support/test-database';
import { pagedSource, ws1Device } from './inventory-source-support';

const managed = (i: number, userName = `user${i}`): ManagedDevice => ({
  udid: `GEN-UDID-${String(i).padStart(6, '0')}`,
  serialNumber: `GSER${i}`,
  platform: 'Apple',
  enrollmentStatus: 'Enrolled',
  userName,
});

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`inventory generations on ${dialect}: pages streamed into a new generation, switched once the walk succeeded`, function () {
    this.timeout(60_000);
    let db: Database;
    let inventory: InventoryRepository;
    let leases: InventoryLeaseRepository;
    let cleanup: () => Promise<void>;
    const t0 = new Date('2026-02-01T02:00:00Z');
    const at = (ms: number) => new Date(t0.getTime() + ms);

    before(async function () {
      ({ db, cleanup } = await openTestDatabase(dialect, 'inventory-gen-'));
      inventory = new InventoryRepository(db);
      leases = new InventoryLeaseRepository(db, inventory);
    });
    after(() => cleanup?.());

    const count = async (text: string, params: unknown[]) => Number((await db.manager.query(placeholders(db.dialect, text), params))[0].n);
    /** rows of the integration outside its current generation: what a failed or interrupted sync left */
    const strayRows = (id: string) =>
      count(
        'SELECT COUNT(*) AS n FROM ws1_devices WHERE integration_id = ? AND generation <> (SELECT generation FROM ws1_sync_state WHERE integration_id = ?)',
        [id, id],
      );
    const allRows = (id: string) => count('SELECT COUNT(*) AS n FROM ws1_devices WHERE integration_id = ?', [id]);
    const clock = (d: Date) => ({ now: () => d });

    it('a walk failing on page 13 of 25 keeps the old inventory and leaves no rows of its partial generation', async () => {
      const id = 'G-FAIL';
      await replaceInventory(
        inventory,
        id,
        Array.from({ length: 700 }, (_, i) => managed(i)),
        t0,
      );
      expect(await leases.tryAcquire(id, 'walker', t0, at(60_000))).to.equal(true);
      const devices = Array.from({ length: 12_500 }, (_, i) => ws1Device(10_000 + i));
      let written = -1;
      const r = await syncDevices({
        client: pagedSource(devices, 500, async (page) => {
          if (page < 12) return;
          written = await allRows(id); // the partial generation is really in the database
          throw new Ws1ServerError({ upstreamStatus: 500 });
        }),
        platform: 'Apple',
        store: leases.fencedStore('walker'),
        integrationId: id,
        clock: clock(at(1000)),
      });
      expect(r.ok).to.equal(false);
      if (r.ok) return;
      expect(r.error).to.be.instanceOf(Ws1ServerError);
      expect(r.pages).to.equal(12);
      expect(written).to.be.at.least(700 + 5_000); // the first pages were streamed in before the failure
      expect(await inventory.getSyncStatus(id))
        .to.include({ deviceCount: 700 })
        .and.to.have.property('lastSuccessAt')
        .that.deep.equals(t0);
      expect((await inventory.findByIdentifier(id, managed(5).udid))?.userName).to.equal('user5');
      expect(await inventory.findByIdentifier(id, devices[0]!.udid!)).to.equal(undefined);
      expect(await strayRows(id)).to.equal(0);
      expect(await allRows(id)).to.equal(700);
      await leases.release(id, 'walker');
    });

    it('an interrupted walk (a crash: neither switched nor cleaned up) stays invisible and the next sync removes it', async () => {
      const id = 'G-CRASH';
      await replaceInventory(inventory, id, [managed(1), managed(2)], t0);
      const crashed = await inventory.beginGeneration(id, at(1000));
      await crashed.add(Array.from({ length: 6_000 }, (_, i) => managed(100 + i))); // a full transaction's worth: written at once
      // the process dies here
      expect(await inventory.findByIdentifier(id, managed(100).udid)).to.equal(undefined);
      expect(await inventory.getSyncStatus(id)).to.include({ deviceCount: 2 });
      expect(await strayRows(id)).to.equal(6_000);

      const r = await syncDevices({
        client: pagedSource([ws1Device(7), ws1Device(8), ws1Device(9)], 2),
        platform: 'Apple',
        store: inventory,
        integrationId: id,
        clock: clock(at(2000)),
      });
      expect(r).to.include({ ok: true, pages: 2, managed: 3 });
      expect(await strayRows(id)).to.equal(0);
      expect(await allRows(id)).to.equal(3);
      expect(await inventory.findByIdentifier(id, managed(1).udid)).to.equal(undefined);
      expect((await inventory.findByIdentifier(id, ws1Device(8).udid!))?.syncedAt).to.deep.equal(at(2000));
    });

    it('a device on two overlapping pages is stored once, as the later page reported it', async () => {
      const id = 'G-OVERLAP';
      const moved: Ws1Device = { ...ws1Device(3), userName: 'moved' };
      const r = await syncDevices({
        client: pagedSource([ws1Device(1), ws1Device(2), ws1Device(3), ws1Device(4), moved, ws1Device(5)], 3),
        platform: 'Apple',
        store: inventory,
        integrationId: id,
        clock: clock(at(3000)),
      });
      expect(r).to.include({ ok: true, fetched: 6, managed: 5 });
      expect(await inventory.getSyncStatus(id)).to.include({ deviceCount: 5 });
      expect((await inventory.findByIdentifier(id, ws1Device(3).serialNumber!))?.userName).to.equal('moved');
    });

    it('a walker that lost its lease mid-walk writes only its own generation: the successor snapshot stays exact', async () => {
      const id = 'G-FENCE';
      await replaceInventory(inventory, id, [managed(1)], t0);
      expect(await leases.tryAcquire(id, 'slow', t0, at(1000))).to.equal(true);
      const slow = await leases.fencedStore('slow').beginGeneration(id, at(500));
      await slow.add([managed(500), managed(501)]);
      expect(await leases.tryAcquire(id, 'fast', at(2000), at(60_000))).to.equal(true); // slow's lease expired
      const fast = await leases.fencedStore('fast').beginGeneration(id, at(2000));
      await fast.add([managed(600)]);
      await slow.add([managed(502)]); // still streaming, unaware
      await fast.add([managed(601)]);
      expect(await fast.commit(at(3000))).to.equal(2);
      let err: unknown;
      await slow.commit(at(3500)).catch((e: unknown) => (err = e));
      expect(err).to.be.instanceOf(SyncLeaseLostError);
      expect(await inventory.getSyncStatus(id)).to.include({ deviceCount: 2 });
      for (const gone of [managed(1), managed(500), managed(502)]) expect(await inventory.findByIdentifier(id, gone.udid)).to.equal(undefined);
      expect(await inventory.findByIdentifier(id, managed(601).udid)).to.not.equal(undefined);
      expect(await allRows(id)).to.equal(2); // slow's generation was dropped when its switch was refused
      await leases.release(id, 'fast');
    });

    it('a walker that lost its lease before its first page cannot even open a generation', async () => {
      const id = 'G-NOLEASE';
      expect(await leases.tryAcquire(id, 'a', t0, at(1000))).to.equal(true);
      expect(await leases.tryAcquire(id, 'b', at(2000), at(60_000))).to.equal(true);
      let err: unknown;
      await leases
        .fencedStore('a')
        .beginGeneration(id, at(2500))
        .catch((e: unknown) => (err = e));
      expect(err).to.be.instanceOf(SyncLeaseLostError);
      await leases.release(id, 'b');
    });
  });
}
