import { expect } from 'chai';
import path from 'node:path';
import { pemEncode } from '../../src/pki/der';
import { InventoryRepository } from '../../src/db/inventory.repository';
import { pooledKeys } from '../support/keys';
import { run } from '../support/proc';
import { createIosCerts, httpGet, IntegrationServer, startIntegrationServer, TEST_ACTOR } from './integrations-support';
import { Device, enrollDevice, mtlsCheck } from './trust-support';
import { replaceInventory } from '../../src/mdm/workspace-one/inventory-store.ports';

const BIN = path.resolve(__dirname, '../../../bin/scepter');

describe('device trust: identifiers, proxy header, authentication log, CLI and admin API', function () {
  let server: IntegrationServer;
  let caPem: string;
  let device: Device;
  let integId: string;

  const services = () => server.app.services;
  const cli = async (...args: string[]) => {
    const r = await run(process.execPath, [BIN, ...args], { env: { ...process.env, ...server.env }, timeoutMs: 60_000 });
    return { ...r, json: () => JSON.parse(r.stdout) };
  };
  // the server reloads integrations and policies every 500 ms; tests that are not about that reload now
  const settle = () => server.app.trust.refresh();
  const post = (body: unknown) => mtlsCheck(server.app.tlsPort(), caPem, '', undefined, { method: 'POST', body });
  const admin = async (key: string, method: string, p: string, body?: unknown) => {
    const res = await fetch(`${server.url}/admin/v1${p}`, {
      method,
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  before(async () => {
    // 127.0.0.2 stands for the TLS-terminating proxy; the tests themselves connect from 127.0.0.1
    server = await startIntegrationServer({ SCEPTER_TRUSTED_PROXIES: '127.0.0.2, 10.0.0.0/8' });
    caPem = pemEncode('CERTIFICATE', services().authority.caCertificate.der);
    const integ = await createIosCerts(server);
    integId = integ.id;
    await services().integrations.setStatus(integ.id, 'all', undefined, TEST_ACTOR);
    const [key] = await pooledKeys(1);
    device = await enrollDevice(server, integ, 'UDID-ADMIN-1', key);
    await services().trustPolicy.set('require-trusted', undefined, TEST_ACTOR);
    await settle();
  });
  after(async () => server.destroy());

  describe('identifier checks (desktop agents and App Config)', () => {
    let windowsId: string;
    let iosId: string;
    let configKey: string;

    before(async () => {
      const inventory = new InventoryRepository(services().db);
      const windows = await services().integrations.create({ type: 'windows', name: 'Windows' }, TEST_ACTOR);
      const ios = await services().integrations.create({ type: 'ios', name: 'iOS App Config' }, TEST_ACTOR);
      windowsId = windows.id;
      iosId = ios.id;
      await services().integrations.setStatus(windowsId, 'all', undefined, TEST_ACTOR);
      await services().groups.create('ios-pilot', TEST_ACTOR);
      await services().groups.addMember('ios-pilot', 'erin', TEST_ACTOR);
      await services().integrations.setStatus(iosId, 'test-group', 'ios-pilot', TEST_ACTOR);
      configKey = (await services().appConfig.forIntegration(iosId))!.configurationKey;
      // what the nightly WS1 sync would have stored
      const now = new Date();
      await replaceInventory(
        inventory,
        windowsId,
        [{ udid: 'WIN-UDID-0001', serialNumber: 'PF3ABCDE', macAddress: '00:1A:2B:3C:4D:5E', platform: 'WinRT', enrollmentStatus: 'Enrolled' }],
        now,
      );
      await replaceInventory(
        inventory,
        iosId,
        [{ udid: '00008030-001A2B3C4D5E802E', serialNumber: 'F2LXK0ABCD', platform: 'Apple', enrollmentStatus: 'Enrolled' }],
        now,
      );
      await settle();
    });

    it('trusts a synced identifier case-insensitively, by UDID, serial or MAC', async () => {
      for (const identifier of ['win-udid-0001', 'pf3abcde', '00-1a-2b-3c-4d-5e']) {
        const r = await post({ user: 'alice', identifier, platform: 'windows' });
        expect(r.status, identifier).to.equal(200);
        expect(r.body).to.include({ trusted: true, method: 'identifier', integration: windowsId, device: 'WIN-UDID-0001' });
      }
      expect((await post({ user: 'alice', identifier: 'WIN-UDID-0001' })).body).to.include({ trusted: true, integration: windowsId });
    });

    it('denies an identifier no integration synced', async () => {
      const r = await post({ user: 'alice', identifier: 'NOT-SYNCED', platform: 'windows' });
      expect(r.status).to.equal(403);
      expect(r.body).to.include({ reason: 'device-not-found', integration: windowsId });
      expect((await post({ user: 'alice', identifier: 'X', platform: 'macos' })).body).to.include({ reason: 'no-integration' });
    });

    it('App Config: needs the integration key, and the test group', async () => {
      const ok = await post({ user: 'erin', identifier: '00008030-001a2b3c4d5e802e', platform: 'ios', configurationKey: configKey.toLowerCase() });
      expect(ok.status).to.equal(200);
      expect(ok.body).to.include({ trusted: true, integration: iosId, device: '00008030-001A2B3C4D5E802E' });
      expect((await post({ user: 'frank', identifier: '00008030-001A2B3C4D5E802E', configurationKey: configKey })).body).to.include({
        reason: 'user-not-in-test-group',
      });
      expect((await post({ user: 'erin', identifier: '00008030-001A2B3C4D5E802E', configurationKey: 'AAAAAAAAAAAAAAAAAAAA' })).body).to.include({
        reason: 'configuration-key-mismatch',
      });
      expect((await post({ user: 'erin', identifier: '00008030-001A2B3C4D5E802E', platform: 'ios' })).body).to.include({
        reason: 'configuration-key-mismatch',
      });
      expect((await post({ user: 'erin', identifier: 'F2LXK0ABCD', configurationKey: configKey, platform: 'android' })).body).to.include({
        reason: 'configuration-key-mismatch',
      });
    });

    it('refuses malformed requests with 400', async () => {
      expect((await post({ user: 'alice', identifier: 'X', platform: 'blackberry' })).status).to.equal(400);
      expect((await post({ user: 'alice', platform: 'windows' })).status).to.equal(400);
      expect((await post({ user: 7 })).status).to.equal(400);
    });
  });

  describe('behind a TLS-terminating proxy (plain HTTP port)', () => {
    const header = (pem: string) => ({ 'X-SSL-Client-Cert': encodeURIComponent(pem) });
    const get = (localAddress: string, headers: Record<string, string | string[]>) =>
      httpGet(`${server.url}/v1/device-trust?user=alice&application=proxy-test`, headers, localAddress);

    it('honours the certificate header from a trusted proxy address', async () => {
      const r = await get('127.0.0.2', { ...header(device.certPem), 'X-Forwarded-For': '203.0.113.7' });
      expect(r.status).to.equal(200);
      expect(JSON.parse(r.body.toString())).to.include({ trusted: true, serial: device.serial });
      const none = await get('127.0.0.2', { 'X-SSL-Client-Cert': '' });
      expect(JSON.parse(none.body.toString())).to.include({ reason: 'no-certificate' });
      const junk = await get('127.0.0.2', { 'X-SSL-Client-Cert': 'not%20a%20certificate' });
      expect(JSON.parse(junk.body.toString())).to.include({ reason: 'malformed-certificate' });
    });

    it('refuses, as malformed, a header sent twice or holding anything besides one certificate', async () => {
      const other = `-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n`;
      for (const value of [
        ['garbage', encodeURIComponent(device.certPem)],
        [encodeURIComponent(device.certPem), encodeURIComponent(device.certPem)],
        [encodeURIComponent(`junk ${device.certPem}`)],
        [encodeURIComponent(`${device.certPem}${other}`)],
      ]) {
        const r = await get('127.0.0.2', { 'X-SSL-Client-Cert': value });
        expect(r.status, value.join(' | ').slice(0, 80)).to.equal(403);
        expect(JSON.parse(r.body.toString())).to.include({ trusted: false, reason: 'malformed-certificate' });
      }
      // the same certificate alone is trusted
      expect(JSON.parse((await get('127.0.0.2', header(device.certPem))).body.toString())).to.include({ trusted: true });
    });

    it('ignores the header from any other address and logs it as spoofing', async () => {
      const r = await get('127.0.0.1', header(device.certPem));
      expect(r.status).to.equal(403);
      expect(JSON.parse(r.body.toString())).to.include({ trusted: false, reason: 'no-certificate' });
      await server.app.trust.flush();
      const log = await services().authLog.list({ since: '1m', limit: 50 });
      const spoofed = log.filter((e) => e.application === 'proxy-test' && e.note === 'spoofed-certificate-header');
      expect(spoofed).to.have.length(1);
      expect(spoofed[0]!.sourceAddress).to.equal('127.0.0.1');
      const proxied = log.find((e) => e.application === 'proxy-test' && e.trusted);
      expect(proxied!.sourceAddress).to.equal('203.0.113.7');
    });
  });

  describe('authentication log, device show and policy from the CLI', () => {
    before(async () => {
      await mtlsCheck(server.app.tlsPort(), caPem, 'user=gina&application=mail', device);
      await mtlsCheck(server.app.tlsPort(), caPem, 'user=gina&application=mail');
      await server.app.trust.flush();
    });

    it('`auth-log --user --since --json` lists every check with its fields', async () => {
      const r = await cli('auth-log', '--user', 'gina', '--since', '10m', '--json');
      expect(r.exitCode, r.stderr).to.equal(0);
      const entries = r.json().entries as Record<string, unknown>[];
      expect(entries).to.have.length(2);
      expect(entries[0]).to.include({
        user: 'gina',
        application: 'mail',
        decision: 'allow',
        trusted: true,
        reason: 'trusted',
        integration: integId,
        device: 'UDID-ADMIN-1',
        serial: device.serial,
        sourceAddress: '127.0.0.1',
        policy: 'require-trusted',
        method: 'certificate',
      });
      expect(entries[1]).to.include({ user: 'gina', decision: 'deny', trusted: false, reason: 'no-certificate' });
      const text = await cli('auth-log', '--user', 'gina');
      expect(text.stdout).to.match(/allow\s+trusted\s+trusted\s+user=gina\s+app=mail/);
      expect((await cli('auth-log', '--since', 'yesterday-ish')).exitCode).to.equal(1);
      expect((await cli('auth-log', '--user', 'gina', '--since', new Date(Date.now() + 60_000).toISOString(), '--json')).json().entries).to.have.length(0);
    });

    it('`device show UDID` shows certificates, integration and last login', async () => {
      const r = await cli('device', 'show', 'UDID-ADMIN-1', '--json');
      expect(r.exitCode, r.stderr).to.equal(0);
      const v = r.json();
      expect(v.integrations).to.deep.equal([integId]);
      expect(v.certificates).to.have.length(1);
      expect(v.certificates[0]).to.include({ serial: device.serial, state: 'valid', integrationId: integId });
      expect(v.certificates[0].lastSeenAt).to.be.a('string');
      expect(v.lastLogin).to.include({ user: 'gina', decision: 'allow' });
      expect((await cli('device', 'show', 'UDID-ADMIN-1')).stdout).to.contain(`Integrations: ${integId}`);
      expect((await cli('device', 'show', 'NO-SUCH-DEVICE')).exitCode).to.equal(1);
    });

    it('`policy set|show` and isDeviceTrustRequired()', async () => {
      const svc = services().trustPolicy;
      expect(await svc.isDeviceTrustRequired()).to.equal(true);
      expect((await cli('policy', 'set', 'allow-all', '--json')).json().global).to.equal('allow-all');
      // the running server (polling every 500 ms) applies the CLI's change within a second
      const changedAt = Date.now();
      let answer = await mtlsCheck(server.app.tlsPort(), caPem, 'user=poll-test');
      while (answer.body.policy !== 'allow-all' && Date.now() - changedAt < 3000) answer = await mtlsCheck(server.app.tlsPort(), caPem, 'user=poll-test');
      expect(Date.now() - changedAt).to.be.below(1000);
      expect(answer.body).to.include({ decision: 'allow', policy: 'allow-all' });
      expect(await svc.isDeviceTrustRequired()).to.equal(false);
      expect((await cli('policy', 'set', 'require-trusted', '--application', 'payroll')).exitCode).to.equal(0);
      expect(await svc.isDeviceTrustRequired()).to.equal(true);
      const shown = (await cli('policy', 'show', '--json')).json();
      expect(shown.global).to.equal('allow-all');
      expect(shown.applications.map((a: { application: string; policy: string }) => [a.application, a.policy])).to.deep.equal([['payroll', 'require-trusted']]);
      const bad = await cli('policy', 'set', 'maybe');
      expect(bad.exitCode).to.equal(1);
      expect(bad.stderr).to.contain('policy must be one of allow-all, require-trusted, not-configured');
      const audit = await services().audit.list({ action: 'trust.policy.set' });
      expect(audit.length).to.be.at.least(2);
      await svc.set('require-trusted', undefined, TEST_ACTOR);
      await svc.set('not-configured', 'payroll', TEST_ACTOR);
    });
  });

  describe('admin API', () => {
    it('reads and sets the policy, reads the log and a device, by role', async () => {
      const owner = (await services().apiKeys.create('owner', TEST_ACTOR)).key;
      const reader = (await services().apiKeys.create('read-only', TEST_ACTOR)).key;
      const set = await admin(owner, 'PUT', '/trust/policy', { policy: 'allow-all', application: 'crm' });
      expect(set.status).to.equal(200);
      expect(set.body.applications).to.deep.include({
        application: 'crm',
        policy: 'allow-all',
        updatedAt: set.body.applications.find((a: { application: string }) => a.application === 'crm').updatedAt,
      });
      expect((await admin(reader, 'PUT', '/trust/policy', { policy: 'allow-all' })).status).to.equal(403);
      expect((await admin(owner, 'PUT', '/trust/policy', { policy: 'nope' })).status).to.equal(400);
      expect((await admin(reader, 'GET', '/trust/policy')).body.global).to.equal('require-trusted');
      const log = await admin(reader, 'GET', '/auth-log?user=gina&limit=1');
      expect(log.status).to.equal(200);
      expect(log.body.entries).to.have.length(1);
      expect(log.body.entries[0]).to.include({ user: 'gina', reason: 'no-certificate' });
      const dev = await admin(reader, 'GET', '/devices/UDID-ADMIN-1');
      expect(dev.status).to.equal(200);
      expect(dev.body.certificates[0].serial).to.equal(device.serial);
      expect((await admin(reader, 'GET', '/devices/NOPE')).status).to.equal(404);
      expect((await fetch(`${server.url}/admin/v1/auth-log`)).status).to.equal(401);
    });

    it('GET /auth-log: bad paging, a repeated or an unknown parameter is a 400', async () => {
      const reader = (await services().apiKeys.create('read-only', TEST_ACTOR)).key;
      for (const [query, message] of [
        ['limit=0', 'limit must be from 1 to 10000'],
        ['limit=10001', 'limit must be from 1 to 10000'],
        ['limit=-5', 'limit must be a whole number'],
        ['limit=abc', 'limit must be a whole number'],
        ['limit=1.5', 'limit must be a whole number'],
        ['limit=1e2', 'limit must be a whole number'],
        ['limit=', 'limit must be a whole number'],
        ['limit=99999999999999999999999', 'limit must be a whole number'],
        ['limit=1&limit=2', 'limit may be given once'],
        ['usr=gina', 'unknown parameter usr'],
      ]) {
        const r = await admin(reader, 'GET', `/auth-log?${query}`);
        expect(r.status, query).to.equal(400);
        expect(r.body.message, query).to.contain(message);
      }
      expect((await admin(reader, 'GET', '/auth-log?limit=2')).body.entries).to.have.length(2);
    });
  });

  describe('PUT /trust/policy: which policy a request names', () => {
    let owner: string;
    const policySets = async () => (await services().audit.list({ action: 'trust.policy.set', limit: 1000 })).length;
    before(async () => {
      owner = (await services().apiKeys.create('owner', TEST_ACTOR)).key;
    });

    it('refuses an application that is not a usable name with 400, and changes nothing', async () => {
      const before = (await admin(owner, 'GET', '/trust/policy')).body;
      const sets = await policySets();
      const cases: [unknown, string][] = [
        [[], 'application must be a string; leave application out (or null) for the global policy'],
        [{ a: 1 }, 'application must be a string'],
        [0, 'application must be a string'],
        [false, 'application must be a string'],
        [true, 'application must be a string'],
        ['', 'application is empty or blank; leave application out (or null) for the global policy'],
        [' ', 'application is empty or blank'],
        ['\t\n', 'application is empty or blank'],
        ['x'.repeat(201), 'application is longer than 200 characters'],
        [' crm', 'application starts or ends with whitespace'],
        ['crm ', 'application starts or ends with whitespace'],
        ['crm\u202Eevil', 'application contains control or invisible formatting characters'],
        ['c\u200Brm', 'application contains control or invisible formatting characters'],
        ['crm\u0000', 'application contains control or invisible formatting characters'],
      ];
      for (const [application, message] of cases) {
        const r = await admin(owner, 'PUT', '/trust/policy', { policy: 'not-configured', application });
        expect(r.status, JSON.stringify(application)).to.equal(400);
        expect(r.body.message, JSON.stringify(application)).to.contain(message);
      }
      expect((await admin(owner, 'PUT', '/trust/policy', { policy: 17, application: 'crm' })).body.message).to.contain('policy must be one of');
      expect((await admin(owner, 'GET', '/trust/policy')).body).to.deep.equal(before);
      expect(await policySets()).to.equal(sets);
    });

    it('absent or null is the global policy; any printable name, in any script, is an override', async () => {
      const global = (await admin(owner, 'GET', '/trust/policy')).body.global;
      const other = global === 'allow-all' ? 'not-configured' : 'allow-all';
      expect((await admin(owner, 'PUT', '/trust/policy', { policy: other, application: null })).body.global).to.equal(other);
      expect((await admin(owner, 'PUT', '/trust/policy', { policy: global })).body.global).to.equal(global);
      for (const name of ['Zoë CRM', '東京 payroll', 'می\u200cخواهم', 'x'.repeat(200)]) {
        const r = await admin(owner, 'PUT', '/trust/policy', { policy: 'allow-all', application: name });
        expect(r.status, name).to.equal(200);
        expect(r.body.global).to.equal(global);
        expect(r.body.applications.map((a: { application: string }) => a.application)).to.include(name);
        expect((await admin(owner, 'DELETE', `/trust/policy/applications/${encodeURIComponent(name)}`)).status).to.equal(200);
      }
    });

    it('the CLI applies the same rule: --application "" or blank is refused, not the global policy', async () => {
      const before = await services().trustPolicy.show();
      for (const application of ['', '  ', 'app\u202Ex']) {
        const r = await cli('policy', 'set', 'not-configured', '--application', application);
        expect(r.exitCode, JSON.stringify(application)).to.equal(1);
        expect(r.stderr).to.match(/application (is empty or blank|contains control or invisible formatting characters)/);
      }
      expect(await services().trustPolicy.show()).to.deep.equal(before);
    });
  });

  it('writes the buffered authentication log when the server shuts down', async () => {
    const s = await startIntegrationServer({}, server.dir);
    try {
      await mtlsCheck(s.app.tlsPort(), caPem, 'user=shutdown-test');
    } finally {
      await s.stop();
    }
    const r = await cli('auth-log', '--user', 'shutdown-test', '--json');
    expect(r.json().entries).to.have.length(1);
  });
});
