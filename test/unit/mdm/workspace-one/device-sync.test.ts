import { expect } from 'chai';
import { syncDevices, type SyncProgress } from '../../../../src/mdm/workspace-one/device-sync';
import { InMemoryInventoryStore } from '../../../../src/mdm/workspace-one/in-memory-inventory-store';
import { Ws1Client } from '../../../../src/mdm/workspace-one/ws1-client';
import { Ws1RateLimitError, Ws1ServerError } from '../../../../src/mdm/workspace-one/ws1.errors';
import { startWs1Simulator, type Ws1Simulator } from '../../../../scripts/ws1-sim/ws1-simulator';
import { FAST_RETRY, settingsFor } from '../../../support/ws1';
import { item, single } from '../../../support/items';

describe('WS1 device sync', () => {
  let sim: Ws1Simulator;
  let client: Ws1Client;
  let store: InMemoryInventoryStore;
  const INT = 'int-ios-1';

  beforeEach(async () => {
    sim = await startWs1Simulator({ devicesPerPlatform: { Apple: 1234, Android: 20 }, seed: 7, unenrolledRatio: 0.1 });
    client = new Ws1Client(settingsFor(sim, { timeoutMs: 2_000 }), { ...FAST_RETRY, maxAttempts: 3 });
    store = new InMemoryInventoryStore();
  });
  afterEach(async () => {
    client.close();
    await sim.close();
  });

  const enrolledApple = () => sim.devices.search('Apple').filter((d) => d.enrollmentStatus === 'Enrolled');

  it('syncs every page and keeps only enrolled devices', async () => {
    const progress: SyncProgress[] = [];
    const r = await syncDevices({ client, platform: 'Apple', store, integrationId: INT, onProgress: (p) => progress.push(p) });
    const expected = enrolledApple();
    expect(expected.length).to.be.within(1000, 1233); // the seed really produced unenrolled devices
    expect(r).to.include({ ok: true, pages: 3, fetched: 1234, managed: expected.length });
    expect(progress.map((p) => p.fetched)).to.deep.equal([500, 1000, 1234]);
    expect(
      store
        .list(INT)
        .map((d) => d.udid)
        .sort(),
    ).to.deep.equal(expected.map((d) => d.udid).sort());
    expect(store.list(INT).every((d) => d.enrollmentStatus === 'Enrolled' && d.platform === 'Apple')).to.equal(true);
    expect(store.getStatus(INT)).to.include({ deviceCount: expected.length });

    const unenrolled = sim.devices.search('Apple').find((d) => d.enrollmentStatus !== 'Enrolled')!;
    expect(await store.findByIdentifier(INT, unenrolled.udid)).to.equal(undefined);
  });

  it('finds devices by UDID, serial, MAC or IMEI, case-insensitively', async () => {
    await syncDevices({ client, platform: 'Apple', store, integrationId: INT });
    const d = enrolledApple().find((x) => x.imei !== '')!;
    const mac = d.macAddress.toLowerCase().match(/../g)!.join(':');
    for (const id of [d.udid.toUpperCase(), d.serialNumber.toLowerCase(), mac, d.macAddress, ` ${d.imei} `]) {
      expect((await store.findByIdentifier(INT, id))?.udid, id).to.equal(d.udid);
    }
    expect(await store.findByIdentifier('other-integration', d.udid)).to.equal(undefined);
  });

  it('keeps the previous inventory and records the failure when a page fails mid-sync', async () => {
    await syncDevices({ client, platform: 'Apple', store, integrationId: INT });
    const before = store.list(INT);
    const lastSuccess = store.getStatus(INT).lastSuccessAt;
    sim.removeDevices(before.slice(0, 100).map((d) => d.udid)); // would shrink the inventory if applied
    sim.setFault({ type: 'status', status: 500, page: 2 }); // persists through every retry

    const r = await syncDevices({ client, platform: 'Apple', store, integrationId: INT });
    expect(r.ok).to.equal(false);
    if (r.ok) return;
    expect(r.error).to.be.instanceOf(Ws1ServerError);
    expect(r.pages).to.equal(2);
    expect(store.list(INT)).to.equal(before); // the very same snapshot
    const status = store.getStatus(INT);
    expect(status.lastSuccessAt).to.equal(lastSuccess);
    expect(status.lastFailureAt).to.be.instanceOf(Date);
    expect(status.lastFailureMessage).to.contain('HTTP 500').and.contain('previous inventory was kept');
  });

  it('retries a transient 503 within the sync and completes', async () => {
    sim.setFault({ type: 'status', status: 503, page: 1, times: 1 });
    const r = await syncDevices({ client, platform: 'Apple', store, integrationId: INT });
    expect(r).to.include({ ok: true, managed: enrolledApple().length });
    expect(sim.stats.byStatus.get(503)).to.equal(1);
    expect(store.getStatus(INT).lastFailureAt).to.equal(undefined);
  });

  it('waits for the quota to reset and completes', async () => {
    sim.setQuota(2, 1); // 3 pages needed, 2 requests per second allowed
    const started = Date.now();
    const r = await syncDevices({ client, platform: 'Apple', store, integrationId: INT });
    expect(r).to.include({ ok: true, fetched: 1234 });
    expect(Date.now() - started).to.be.above(300); // it did wait for the window
    expect(sim.stats.byStatus.get(429) ?? 0).to.equal(0); // paced by x-ratelimit-remaining, never hit 429
  });

  it('records a failure without touching the inventory when the quota resets too late', async () => {
    await syncDevices({ client, platform: 'Apple', store, integrationId: INT });
    const before = store.list(INT);
    sim.setQuota(1, 3600);
    const impatient = new Ws1Client(settingsFor(sim), { maxRateLimitWaitMs: 500 });
    try {
      const r = await syncDevices({ client: impatient, platform: 'Apple', store, integrationId: INT });
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.error).to.be.instanceOf(Ws1RateLimitError);
      expect(store.list(INT)).to.equal(before);
      expect(store.getStatus(INT).lastFailureMessage).to.contain('quota');
    } finally {
      impatient.close();
    }
  });

  it('drops a device removed from WS1 (or unenrolled) at the next sync', async () => {
    await syncDevices({ client, platform: 'Apple', store, integrationId: INT });
    const apple = enrolledApple();
    const gone = item(apple, 0);
    const wiped = item(apple, 1);
    expect(await store.findByIdentifier(INT, gone.udid)).to.not.equal(undefined);
    sim.removeDevices([gone.udid]);
    sim.setEnrollmentStatus(wiped.udid, 'Unenrolled');
    const added = sim.addDevices([{ udid: 'f'.repeat(40), platform: 'Apple', serialNumber: 'NEWSERIAL001' }]);

    const r = await syncDevices({ client, platform: 'Apple', store, integrationId: INT });
    expect(r).to.include({ ok: true, fetched: 1234 });
    expect(await store.findByIdentifier(INT, gone.udid)).to.equal(undefined);
    expect(await store.findByIdentifier(INT, wiped.serialNumber)).to.equal(undefined);
    expect((await store.findByIdentifier(INT, 'newserial001'))?.udid).to.equal(single(added).udid);
    expect(store.list(INT)).to.have.length(enrolledApple().length);
  });

  it('empties the inventory when WS1 has no devices of the platform (204)', async () => {
    await syncDevices({ client, platform: 'Android', store, integrationId: 'int-android' });
    expect(store.list('int-android').length).to.be.above(0);
    sim.setInventory([]);
    const r = await syncDevices({ client, platform: 'Android', store, integrationId: 'int-android' });
    expect(r).to.include({ ok: true, pages: 0, managed: 0 });
    expect(store.list('int-android')).to.deep.equal([]);
  });
});
