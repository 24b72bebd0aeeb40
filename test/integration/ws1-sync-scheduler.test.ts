import { expect } from 'chai';
import { loadConfig } from '../../src/config/config';
import { buildServices, Services } from '../../src/main';
import { currentSlot, parseDailyTime } from '../../src/jobs/daily-slot';
import { Ws1SyncScheduler } from '../../src/jobs/ws1-sync.job';
import { createLogger } from '../../src/shared/logger';
import { startWs1Simulator, type Ws1Simulator } from '../../scripts/ws1-sim/ws1-simulator';
import { startTestServer, type TestServer } from '../support/test-server';

describe('nightly WS1 sync schedule', () => {
  it('parses HH:MM and names the most recent slot by its local date', () => {
    expect(parseDailyTime('02:00')).to.deep.equal({ hour: 2, minute: 0 });
    expect(() => parseDailyTime('2:00')).to.throw();
    expect(() => parseDailyTime('24:00')).to.throw();
    const t = parseDailyTime('02:30');
    const before = currentSlot(t, new Date(2026, 0, 10, 1, 0));
    expect(before.key).to.equal('2026-01-09');
    expect(before.startsAt).to.deep.equal(new Date(2026, 0, 9, 2, 30));
    expect(currentSlot(t, new Date(2026, 0, 10, 2, 30)).key).to.equal('2026-01-10');
    expect(currentSlot(t, new Date(2026, 0, 1, 0, 5)).key).to.equal('2025-12-31');
  });
});

describe('nightly WS1 sync across two server instances', function () {
  this.timeout(60_000);
  let sim: Ws1Simulator;
  let a: TestServer;
  let b: Services;
  let id: string;
  const logger = createLogger('silent');

  before(async () => {
    sim = await startWs1Simulator({ devicesPerPlatform: { WinRT: 1300 }, seed: 3 });
    a = await startTestServer({ SCEPTER_SYNC_SCHEDULE: 'off' });
    b = await buildServices(loadConfig(a.env), { logger }); // a second instance on the same database
    const actor = { who: 'test', from: 'test' };
    id = (await a.app.services.integrations.create({ type: 'windows', name: 'PCs', allowLegacy: false }, actor)).id;
    await a.app.services.ws1Settings.configure(
      id,
      { baseUrl: sim.url, username: sim.credentials.username, password: sim.credentials.password, apiKey: sim.credentials.tenantCode },
      actor,
    );
  });
  after(async () => {
    await b?.db.close();
    await a?.destroy();
    await sim?.close();
  });

  it('runs once per night, whichever instance gets there first, and again the next night', async () => {
    let now = new Date();
    const time = currentSlot({ hour: now.getHours(), minute: now.getMinutes() }, now).startsAt; // the slot began this minute
    const opts = { time: { hour: time.getHours(), minute: time.getMinutes() }, spreadMinutes: 0, clock: { now: () => now }, logger };
    const schedulers = [a.app.services, b].map(
      (s) => new Ws1SyncScheduler({ listConfigured: () => s.ws1Settings.listConfigured(), sync: (i, o) => s.ws1Sync.sync(i, o) }, opts),
    );
    const requests = () => sim.stats.searchRequests;

    const r0 = requests();
    await Promise.all(schedulers.map((s) => s.tick()));
    expect(requests() - r0).to.equal(3); // one sync of 3 pages, not two
    const status = await a.app.services.ws1Sync.status(id);
    expect(status.deviceCount).to.be.greaterThan(1000);

    const r1 = requests();
    await Promise.all(schedulers.map((s) => s.tick()));
    expect(requests()).to.equal(r1); // the slot was served

    now = new Date(now.getTime() + 86_400_000); // next night
    await Promise.all(schedulers.map((s) => s.tick()));
    expect(requests() - r1).to.equal(3);
  });

  it('waits for its random delay within the spread', async () => {
    const now = new Date(2030, 5, 1, 2, 10);
    const synced: string[] = [];
    const s = new Ws1SyncScheduler(
      { listConfigured: async () => ['X'], sync: async (i) => (synced.push(i), undefined) },
      { time: { hour: 2, minute: 0 }, spreadMinutes: 30, clock: { now: () => now }, logger, random: () => 0.5 },
    );
    await s.tick();
    expect(synced).to.deep.equal([]); // due at 02:15
    now.setMinutes(16);
    await s.tick();
    await s.tick();
    expect(synced).to.deep.equal(['X']); // once
  });
});
