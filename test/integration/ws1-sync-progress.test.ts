// "Sync now" progress is stored in the database: a sync run by one server instance shows its
// progress and then its outcome in the console of another instance on the same database.
import { expect } from 'chai';
import { loadConfig } from '../../src/config/config';
import { buildServices, Services } from '../../src/main';
import { createLogger } from '../../src/shared/logger';
import { startWs1Simulator, type Ws1Simulator } from '../../scripts/ws1-sim/ws1-simulator';
import { Visitor } from '../support/console-visitor';
import { startTestServer, type TestServer } from '../support/test-server';

interface RunView {
  running: boolean;
  progress: { page: number; fetched: number; total: number; managed: number } | null;
  outcome: { ok: boolean; managed?: number; fetched: number } | null;
}

describe('WS1 sync progress across two server instances', function () {
  this.timeout(120_000);
  let sim: Ws1Simulator;
  let a: TestServer;
  let b: Services;
  let id: string;
  let viewer: Visitor;
  let manager: Visitor;
  /** "Sync now" as console.js sends it */
  const syncNow = async (integrationId: string) => {
    const r = await manager.post(
      `/console/integrations/${integrationId}/sync`,
      { _csrf: await manager.csrf() },
      { 'X-Requested-With': 'console', Accept: 'application/json' },
    );
    return { status: r.res.status, body: JSON.parse(r.text) as { started: boolean; error?: string } };
  };

  before(async () => {
    sim = await startWs1Simulator({ devicesPerPlatform: { WinRT: 2600 }, seed: 5, unenrolledRatio: 0 });
    a = await startTestServer({ SCEPTER_SYNC_SCHEDULE: 'off' });
    b = await buildServices(loadConfig(a.env), { logger: createLogger('silent') }); // a second instance on the same database
    const actor = { who: 'test', from: 'test' };
    id = (await a.app.services.integrations.create({ type: 'windows', name: 'PCs', allowLegacy: false }, actor)).id;
    await a.app.services.ws1Settings.configure(
      id,
      { baseUrl: sim.url, username: sim.credentials.username, password: sim.credentials.password, apiKey: sim.credentials.tenantCode },
      actor,
    );
    await a.app.services.adminUsers.create({ name: 'Rita Reader', email: 'rita@example.com', role: 'read-only', password: 'read only password' }, actor, 'cli');
    viewer = new Visitor(a.url);
    expect((await viewer.signIn('rita@example.com', 'read only password')).status).to.equal(302);
    await a.app.services.adminUsers.create(
      { name: 'Manny Manager', email: 'manny@example.com', role: 'application-manager', password: 'app manager password' },
      actor,
      'cli',
    );
    manager = new Visitor(a.url);
    expect((await manager.signIn('manny@example.com', 'app manager password')).status).to.equal(302);
  });
  after(async () => {
    await b?.db.close();
    await a?.destroy();
    await sim?.close();
  });

  const view = async (): Promise<RunView> => {
    const r = await viewer.get(`/console/integrations/${id}/sync-progress`);
    expect(r.res.status).to.equal(200);
    return JSON.parse(r.text) as RunView;
  };

  it("shows the other instance's running sync with its progress, then its outcome", async () => {
    expect(await view()).to.deep.include({ running: false, progress: null, outcome: null });
    sim.setLatency(700); // each WS1 page takes a while, so the run can be watched
    let started = false;
    const run = b.ws1Sync.sync(id, { onStarted: () => (started = true) });
    // instance a's console reads the progress instance b stored
    let seen: RunView | undefined;
    for (let i = 0; i < 400 && !seen; i++) {
      const v = await view();
      if (v.running && v.progress) seen = v;
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(started).to.equal(true);
    expect(seen, 'a running sync with progress, seen from the other instance').not.to.equal(undefined);
    // "Sync now" on this instance while the other one syncs: not started, and the page polls that sync
    expect(await syncNow(id)).to.deep.equal({ status: 200, body: { started: false } });
    expect(seen!.progress!.fetched).to.be.greaterThan(0);
    expect(seen!.progress!.total).to.equal(2600);
    const outcome = await run;
    expect(outcome?.ok).to.equal(true);
    const done = await view();
    expect(done.running).to.equal(false);
    expect(done.progress).to.equal(null);
    expect(done.outcome).to.deep.include({ ok: true, fetched: 2600, managed: 2600 });
    // an integration without WS1 settings: refused before anything starts, with the reason for the page
    const bare = await a.app.services.integrations.create({ type: 'windows', name: 'Bare', allowLegacy: false }, { who: 'test', from: 'test' });
    const refused = await syncNow(bare.id);
    expect(refused.status).to.be.within(400, 499);
    expect(refused.body.started).to.equal(false);
    expect(refused.body.error).to.be.a('string').and.not.equal('');
  });
});
