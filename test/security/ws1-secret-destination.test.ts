import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { startWs1Simulator, type Ws1Simulator } from '../../scripts/ws1-sim/ws1-simulator';
import { loadConfig } from '../../src/config/config';
import { cli, secretFiles } from '../support/ws1-services';
import { selfSignedCert } from '../support/ws1';
import { startTestServer, type TestServer } from '../support/test-server';
import { adminApi, startListener, type Listener } from './security-support';

const ACTOR = { who: 'test', from: 'test' };

/**
 * Threat: a low-privilege admin (or anyone who can change the stored WS1 URL or username) makes the
 * server send the stored WS1 password and API key (aw-tenant-code) to a host of their choosing.
 */
describe('security: stored WS1 secrets never follow a changed destination', function () {
  this.timeout(120_000);
  let sim: Ws1Simulator;
  let server: TestServer;
  let listener: Listener;
  let admin: string;
  let manager: string;
  let id: string;
  const api = (method: string, p: string, key: string, body?: unknown) => adminApi(server.url, method, p, key, body);
  const good = () => ({ url: sim.url, username: sim.credentials.username, password: sim.credentials.password, apiKey: sim.credentials.tenantCode });
  const leaked = () => listener.requests.filter((r) => r.headers.authorization || r.headers['aw-tenant-code']);

  before(async () => {
    sim = await startWs1Simulator({ devicesPerPlatform: { Android: 3 }, seed: 11 });
    server = await startTestServer({ SCEPTER_SYNC_SCHEDULE: 'off' });
    const s = server.app.services;
    admin = (await s.apiKeys.create('administrator', ACTOR)).key;
    manager = (await s.apiKeys.create('application-manager', ACTOR)).key;
    id = (await s.integrations.create({ type: 'android', name: 'Androids', allowLegacy: false }, ACTOR)).id;
    expect((await api('PUT', `/integrations/${id}/ws1`, admin, good())).status).to.equal(200);
  });
  beforeEach(async () => {
    listener = await startListener();
  });
  afterEach(async () => {
    await listener.close();
    // back to the simulator with its secrets, whatever a test changed
    expect((await api('PUT', `/integrations/${id}/ws1`, admin, good())).status).to.equal(200);
  });
  after(async () => {
    await server?.destroy();
    await sim?.close();
  });

  it('repro: an application-manager key PUTs only {"url"} then POSTs /ws1/test and /ws1/sync: the listener receives nothing', async () => {
    const put = await api('PUT', `/integrations/${id}/ws1`, manager, { url: listener.url });
    expect(put.status).to.be.oneOf([400, 403]);
    await api('POST', `/integrations/${id}/ws1/test`, manager);
    await api('POST', `/integrations/${id}/ws1/sync`, manager);
    expect(listener.requests).to.have.length(0);
    // the stored destination is unchanged and still works
    expect((await api('GET', `/integrations/${id}/ws1`, manager)).body.settings.baseUrl).to.equal(sim.url);
    expect((await api('POST', `/integrations/${id}/ws1/test`, manager)).body).to.include({ ok: true });
  });

  it('a new URL or username without the password and API key is 400 naming the missing fields and changes nothing; with them, only the new secrets go there', async () => {
    const before = (await api('GET', `/integrations/${id}/ws1`, admin)).body.settings;
    const onlyUrl = await api('PUT', `/integrations/${id}/ws1`, admin, { url: listener.url });
    expect(onlyUrl.status).to.equal(400);
    expect(onlyUrl.body.message).to.contain('password').and.contain('apiKey');
    const userAndPassword = await api('PUT', `/integrations/${id}/ws1`, admin, { username: 'someone-else', password: 'x' });
    expect(userAndPassword.status).to.equal(400);
    expect(userAndPassword.body.message).to.contain('apiKey').and.not.contain('(password');
    const urlAndKey = await api('PUT', `/integrations/${id}/ws1`, admin, { url: listener.url, apiKey: 'k' });
    expect(urlAndKey.status).to.equal(400);
    expect(urlAndKey.body.message).to.contain('password').and.not.contain('(apiKey');
    expect((await api('GET', `/integrations/${id}/ws1`, admin)).body.settings).to.deep.equal(before);
    await api('POST', `/integrations/${id}/ws1/test`, admin);
    expect(listener.requests).to.have.length(0);
    // the same URL written differently is no change: a password alone may be replaced
    expect((await api('PUT', `/integrations/${id}/ws1`, admin, { url: `${sim.url}/API/`, password: sim.credentials.password })).status).to.equal(200);
    // with the secrets entered again, only those new secrets go to the new destination
    const put = await api('PUT', `/integrations/${id}/ws1`, admin, { url: listener.url, username: 'probe', password: 'new-password', apiKey: 'new-key' });
    expect(put.status).to.equal(200);
    expect((await api('POST', `/integrations/${id}/ws1/test`, admin)).body).to.include({ ok: false });
    expect(listener.requests.length).to.be.greaterThan(0);
    for (const r of listener.requests) {
      expect(r.headers.authorization).to.equal(`Basic ${Buffer.from('probe:new-password').toString('base64')}`);
      expect(r.headers['aw-tenant-code']).to.equal('new-key');
    }
  });

  it("a new extra CA (a trust anchor of one's own, to stand in for WS1) needs the secrets again too; removing it does not", async () => {
    const pem = selfSignedCert().cert.toString();
    const before = (await api('GET', `/integrations/${id}/ws1`, admin)).body.settings;
    const alone = await api('PUT', `/integrations/${id}/ws1`, admin, { caPem: pem });
    expect(alone.status).to.equal(400);
    expect(alone.body.message).to.contain('extra CA').and.contain('password').and.contain('apiKey');
    expect((await api('GET', `/integrations/${id}/ws1`, admin)).body.settings).to.deep.equal(before);
    const withSecrets = await api('PUT', `/integrations/${id}/ws1`, admin, {
      caPem: pem,
      password: sim.credentials.password,
      apiKey: sim.credentials.tenantCode,
    });
    expect(withSecrets.status).to.equal(200);
    expect(withSecrets.body.extraCa ?? withSecrets.body.settings?.extraCa).to.equal(true);
    // the same CA again, or dropping it (trust only narrows), needs nothing
    expect((await api('PUT', `/integrations/${id}/ws1`, admin, { caPem: pem })).status).to.equal(200);
    expect((await api('PUT', `/integrations/${id}/ws1`, admin, { caPem: null })).status).to.equal(200);
  });

  it('a destination changed behind the service (in the database) gets no secret: they only decrypt for the URL and username they were entered with', async () => {
    const db = server.app.services.db;
    for (const [column, value] of [
      ['base_url', listener.url],
      ['username', 'attacker'],
    ] as const) {
      await db.transaction((m) => m.query(`UPDATE ws1_settings SET ${column} = $1 WHERE integration_id = $2`.replace(/\$\d/g, '?'), [value, id]));
      const t = await api('POST', `/integrations/${id}/ws1/test`, admin);
      const sync = await api('POST', `/integrations/${id}/ws1/sync`, admin);
      expect(t.status).to.equal(409);
      expect(t.body.message).to.contain('enter the password and the API key again');
      expect(sync.status === 200 && sync.body.ok).to.not.equal(true);
      expect(JSON.stringify([t.body, sync.body]))
        .to.not.contain(sim.credentials.password)
        .and.not.contain(sim.credentials.tenantCode);
      await db.transaction((m) =>
        m.query('UPDATE ws1_settings SET base_url = ?, username = ? WHERE integration_id = ?', [sim.url, sim.credentials.username, id]),
      );
    }
    expect(leaked()).to.have.length(0);
    expect(listener.requests).to.have.length(0);
  });

  it('CLI: `integration configure --ws1-url` alone exits 1 naming the missing options; `integration test` then still talks to the old host', async () => {
    const r = await cli(server, ['integration', 'configure', id, '--ws1-url', listener.url]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('--ws1-password-file').and.contain('--ws1-api-key-file');
    const u = await cli(server, ['integration', 'configure', id, '--ws1-username', 'other', '--ws1-api-key-file', '-'], { input: 'k' });
    expect(u.code).to.equal(1);
    expect(u.stderr).to.contain('--ws1-password-file').and.not.contain('--ws1-api-key-file)');
    expect((await cli(server, ['integration', 'test', id])).code).to.equal(0);
    expect(listener.requests).to.have.length(0);
  });

  it('http:// WS1 URLs are refused unless SCEPTER_WS1_ALLOW_HTTP=on (default off), also for a stored one', async () => {
    expect(loadConfig({}).ws1.allowHttp).to.equal(false);
    expect(loadConfig({ SCEPTER_WS1_ALLOW_HTTP: 'on' }).ws1.allowHttp).to.equal(true);
    expect(() => loadConfig({ SCEPTER_WS1_ALLOW_HTTP: 'yes' })).to.throw('SCEPTER_WS1_ALLOW_HTTP');
    const off = { SCEPTER_WS1_ALLOW_HTTP: 'off' };
    const dir = fs.mkdtempSync(path.join(server.dir, 'secrets-'));
    const files = secretFiles(dir, 'pw-for-listener', 'key-for-listener');
    const r = await cli(
      server,
      [
        'integration',
        'configure',
        id,
        '--ws1-url',
        listener.url,
        '--ws1-username',
        'u',
        '--ws1-password-file',
        files.passwordFile,
        '--ws1-api-key-file',
        files.apiKeyFile,
      ],
      { env: off },
    );
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('https').and.contain('SCEPTER_WS1_ALLOW_HTTP');
    // the simulator's http URL stored earlier (allowed then) is not used once http is off
    const t = await cli(server, ['integration', 'test', id, '--json'], { env: off });
    expect(t.code).to.equal(1);
    expect(t.stdout).to.contain('SCEPTER_WS1_ALLOW_HTTP');
    expect(listener.requests).to.have.length(0);
    const simBefore = sim.stats.requests;
    await cli(server, ['integration', 'sync', id], { env: off });
    expect(sim.stats.requests).to.equal(simBefore);
  });
});
