import { expect } from 'chai';
import { startWs1Simulator, type Ws1Simulator } from '../../scripts/ws1-sim/ws1-simulator';
import { databaseEnv } from '../support/postgres';
import { startTestServer, type TestServer } from '../support/test-server';

const ACTOR = { who: 'test', from: 'test' };

/** The WS1 operations through the admin API: settings, Test Configuration, sync (faults, quota, removals), search. */
for (const dialect of ['sqlite', 'postgres'] as const)
  describe(`WS1 through the admin API (${dialect})`, function () {
    this.timeout(120_000);
    let dropDb: (() => Promise<void>) | undefined;
    let sim: Ws1Simulator;
    let server: TestServer;
    let manager: string;
    let admin: string;
    let readOnly: string;
    let id: string;

    const api = async (method: string, path: string, key: string, body?: unknown) => {
      const res = await fetch(`${server.url}/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };
    const sync = () => api('POST', `/integrations/${id}/ws1/sync`, manager);
    const search = async (identifier: string) =>
      (await api('GET', `/integrations/${id}/devices/search?identifier=${encodeURIComponent(identifier)}`, readOnly)).body;
    const state = async () => (await api('GET', `/integrations/${id}/ws1`, readOnly)).body.sync;
    const enrolled = () => sim.devices.search('Android').filter((d) => d.enrollmentStatus === 'Enrolled');

    before(async () => {
      sim = await startWs1Simulator({ devicesPerPlatform: { Android: 1100, Apple: 5 }, seed: 5 });
      const db = await databaseEnv(dialect);
      dropDb = db.drop;
      server = await startTestServer({ ...db.env, SCEPTER_SYNC_SCHEDULE: 'off' });
      const s = server.app.services;
      manager = (await s.apiKeys.create('application-manager', ACTOR)).key;
      admin = (await s.apiKeys.create('administrator', ACTOR)).key;
      readOnly = (await s.apiKeys.create('read-only', ACTOR)).key;
      id = (await s.integrations.create({ type: 'android', name: 'Androids', allowLegacy: false }, ACTOR)).id;
    });
    after(async () => {
      await server?.destroy();
      await sim?.close();
      await dropDb?.();
    });
    afterEach(() => {
      sim.setFault(null);
      sim.setLatency(0);
      sim.setQuota(50_000, 86_400);
    });

    it('configures the settings (a read-only key may not); answers never carry the secrets', async () => {
      const settings = { url: sim.url, username: sim.credentials.username, password: sim.credentials.password, apiKey: sim.credentials.tenantCode };
      expect((await api('PUT', `/integrations/${id}/ws1`, readOnly, settings)).status).to.equal(403);
      // the destination of the WS1 secrets is an administrator's to set, not an application manager's
      expect((await api('PUT', `/integrations/${id}/ws1`, manager, settings)).status).to.equal(403);
      const r = await api('PUT', `/integrations/${id}/ws1`, admin, settings);
      expect(r.status).to.equal(200);
      expect(r.body).to.include({ integrationId: id, platform: 'Android', password: 'set', apiKey: 'set' });
      const shown = await api('GET', `/integrations/${id}/ws1`, readOnly);
      const all = JSON.stringify(shown.body) + JSON.stringify(r.body) + JSON.stringify((await api('GET', `/integrations/${id}`, readOnly)).body);
      expect(all).to.not.contain(sim.credentials.password).and.not.contain(sim.credentials.tenantCode);
      expect((await api('PUT', `/integrations/${id}/ws1`, admin, { url: 'ftp://x' })).status).to.equal(400);
    });

    it('Test Configuration: {ok, message}, and a wrong API key caught', async () => {
      expect((await api('POST', `/integrations/${id}/ws1/test`, manager)).body).to.deep.equal({ ok: true, message: 'Configuration Successful!' });
      await api('PUT', `/integrations/${id}/ws1`, admin, { apiKey: 'WRONG' });
      expect((await api('POST', `/integrations/${id}/ws1/test`, manager)).body).to.include({ ok: false, reason: 'bad-tenant-code' });
      await api('PUT', `/integrations/${id}/ws1`, admin, { apiKey: sim.credentials.tenantCode });
    });

    it('syncs several pages; search finds devices case-insensitively', async () => {
      const r = await sync();
      expect(r.status).to.equal(200);
      expect(r.body).to.include({ ok: true, pages: 3, fetched: 1100, managed: enrolled().length });
      const d = enrolled()[0]!;
      expect(await search(d.serialNumber.toLowerCase())).to.deep.include({ found: true });
      expect((await search(d.udid.toUpperCase())).device.udid).to.equal(d.udid);
      expect(await search('nothing-like-it')).to.include({ found: false });
      expect((await state()).deviceCount).to.equal(enrolled().length);
    });

    it('a fault mid-sync keeps the previous inventory and records the error and its time', async () => {
      const before = await state();
      const gone = enrolled()[0]!;
      sim.removeDevices([gone.udid]); // would disappear if the failed sync were applied
      sim.setFault({ type: 'status', status: 500, page: 1 }); // page 1 keeps failing through the retries
      const r = await sync();
      expect(r.body).to.include({ ok: false, pages: 1 });
      expect(r.body.message).to.contain('HTTP 500').and.contain('previous inventory was kept');
      const after = await state();
      expect(after).to.include({ deviceCount: before.deviceCount, lastSuccessAt: before.lastSuccessAt });
      expect(after.lastFailureMessage).to.contain('HTTP 500');
      expect(new Date(after.lastFailureAt).getTime()).to.be.greaterThan(new Date(before.lastSuccessAt).getTime());
      expect(await search(gone.udid)).to.include({ found: true }); // still trusted: the old inventory stands
      sim.setFault(null);

      // the next good sync applies the removal
      expect((await sync()).body).to.include({ ok: true, managed: enrolled().length });
      expect(await search(gone.udid)).to.include({ found: false });
    });

    it('a device that stops being enrolled is not managed after the next sync', async () => {
      const d = enrolled()[0]!;
      sim.setEnrollmentStatus(d.udid, 'EnterpriseWipePending');
      expect((await sync()).body).to.include({ ok: true });
      expect(await search(d.udid)).to.include({ found: false });
    });

    it('waits for the quota to reset and completes', async () => {
      sim.setQuota(2, 2); // 3 pages, 2 requests per 2 s
      const started = Date.now();
      const r = await sync();
      expect(r.body).to.include({ ok: true, pages: 3 });
      expect(Date.now() - started).to.be.greaterThan(900);
      expect(sim.stats.byStatus.get(429) ?? 0).to.be.at.most(1); // it waited for the reset rather than hammering
    });

    it('two concurrent syncs of one integration: one runs, the other gets 409 busy', async () => {
      sim.setLatency(300);
      const [a, b] = await Promise.all([sync(), sync()]);
      const statuses = [a.status, b.status].sort((x, y) => x - y);
      expect(statuses).to.deep.equal([200, 409]);
      const busy = a.status === 409 ? a : b;
      expect(busy.body.message).to.contain('already running');
      expect((await state()).running).to.equal(false); // the lease was released
    });

    it('shows the App Config key for an android integration', async () => {
      const r = await api('GET', `/integrations/${id}/app-config`, readOnly);
      expect(r.body.configurationKey).to.match(/^[A-Z0-9]{20}$/);
      expect(r.body.json).to.deep.equal({ trustedEndpointConfigurationKey: r.body.configurationKey, trustedEndpointIdentifier: '{DeviceUid}' });
      expect(r.body.plist).to.contain('<key>trustedEndpointIdentifier</key>');
      const shown = await api('GET', `/integrations/${id}`, readOnly);
      expect(shown.body.appConfig.configurationKey).to.equal(r.body.configurationKey);
      expect(shown.body.ws1Api.sync.lastSuccessAt).to.be.a('string');
      expect(await server.app.services.appConfig.integrationForKey(r.body.configurationKey.toLowerCase())).to.equal(id);
    });

    it('audits settings changes and syncs, without secrets', async () => {
      const entries = (await server.app.services.audit.list({ limit: 1000 })).filter((e) => e.target === id);
      const actions = entries.map((e) => e.action);
      expect(actions).to.include('integration.ws1.configure').and.include('integration.ws1.sync');
      const sync = entries.find((e) => e.action === 'integration.ws1.sync')!;
      expect(sync.who).to.match(/^AK/); // the API key that asked for it
      expect(JSON.stringify(entries)).to.not.contain(sim.credentials.password).and.not.contain(sim.credentials.tenantCode);
    });
  });
