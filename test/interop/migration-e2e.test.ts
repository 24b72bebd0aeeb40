// The legacy-integration migration end to end: a legacy ios-certs integration whose devices enrolled through SCEP (three
// with Debian's scepclient through the dynamic challenge, the rest with our own client), a WS1
// simulator holding most of their UDIDs, and the real CLI beside the running server: plan, apply,
// verify, cutover, rollback, plan again, cutover, finalize, checked with device-trust answers,
// the CRL (openssl crl) and OCSP (openssl ocsp).
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { pemEncode } from '../../src/pki/der';
import { startWs1Simulator, type Ws1Simulator } from '../../scripts/ws1-sim/ws1-simulator';
import { makeTempDir, run } from '../support/proc';
import { runScepclient } from '../support/scepclient';
import { createIosCerts, fetchChallenge, IntegrationServer, startIntegrationServer, TEST_ACTOR } from '../integration/integrations-support';
import { Device, mtlsCheck } from '../integration/trust-support';
import { appleDevice, cli, enrollMany, ok, refused, reportFiles, secretFile, settle, udid } from '../integration/migration-support';

describe('migration of a legacy ios-certs integration to App Config, end to end with the CLI', function () {
  this.timeout(180_000);
  let server: IntegrationServer;
  let sim: Ws1Simulator;
  let legacy: Awaited<ReturnType<typeof createIosCerts>>;
  let devices: Device[];
  let caPem: string;
  let dir: string;
  let reports: string;
  let ws1Integration: string;
  let appConfigId: string;
  let configKey: string;
  const missing: string[] = [];
  let unenrolled: string;
  const m = (...args: string[]) => cli(server, ['migrate', ...args, '--report-dir', reports, '--json']);
  const certCheck = (d: Device, user = 'alice') => mtlsCheck(server.app.tlsPort(), caPem, `user=${user}&application=vpn`, d);
  const idCheck = (u: string, user = 'alice') =>
    mtlsCheck(server.app.tlsPort(), caPem, '', undefined, {
      method: 'POST',
      body: { user, application: 'vpn', identifier: u, platform: 'ios', configurationKey: configKey },
    });

  before(async () => {
    server = await startIntegrationServer({ SCEPTER_SYNC_SCHEDULE: 'off' });
    const s = server.app.services;
    caPem = pemEncode('CERTIFICATE', s.authority.caCertificate.der);
    dir = makeTempDir('scepter-migration-e2e');
    reports = path.join(dir, 'reports');
    fs.writeFileSync(path.join(dir, 'ca.pem'), caPem);
    await s.trustPolicy.set('require-trusted', undefined, TEST_ACTOR);
    await s.groups.create('pilot', TEST_ACTOR);
    for (const u of ['alice', 'bob']) await s.groups.addMember('pilot', u, TEST_ACTOR);
    legacy = await createIosCerts(server, 'WS1 iPhones (certificates)');
    await s.integrations.setStatus(legacy.id, 'test-group', 'pilot', TEST_ACTOR);
    // three devices through Debian's scepclient: challenge from the NDES page, then enrollment
    const viaScepclient: Device[] = [];
    for (let i = 0; i < 3; i++) {
      const u = `00008030-00${i}A2D3C0E8880${i}E`;
      const r = await runScepclient({
        url: `${server.url}/certsrv/mscep/${legacy.id}/mscep.dll`,
        challenge: await fetchChallenge(server, legacy),
        cn: u,
        ou: legacy.id,
      });
      expect(r.ok, r.stdout + r.stderr).to.equal(true);
      const serial = (await run('openssl', ['x509', '-noout', '-serial'], { input: r.certPem! })).stdout.trim().replace('serial=', '');
      viaScepclient.push({ udid: u, serial, certPem: r.certPem!, keyPem: r.keyPem });
    }
    devices = [
      ...viaScepclient,
      ...(await enrollMany(
        server,
        legacy,
        Array.from({ length: 17 }, (_, i) => udid('a11ce', i)),
      )),
    ];
    // one device renews (new key, fresh challenge): two certificates, still one device
    await enrollMany(server, legacy, [devices[5]!.udid]);
    devices.forEach((d, i) => fs.writeFileSync(path.join(dir, `d${i}.pem`), d.certPem));
    // WS1 knows all but two; one of those it knows is not enrolled; UDIDs in other case, plus others
    missing.push(devices[1]!.udid, devices[10]!.udid);
    unenrolled = devices[12]!.udid;
    const inventory = devices
      .filter((d) => !missing.includes(d.udid))
      .map((d) => appleDevice(d.udid.toUpperCase(), d.udid === unenrolled ? { enrollmentStatus: 'Unenrolled' } : {}));
    sim = await startWs1Simulator({ inventory: [...inventory, ...Array.from({ length: 40 }, (_, i) => appleDevice(udid('0the7', i)))] });
    // an existing WS1 integration of the same tenant, whose settings apply copies
    ws1Integration = (await s.integrations.create({ type: 'windows', name: 'PCs', allowLegacy: false }, TEST_ACTOR)).id;
    await s.ws1Settings.configure(
      ws1Integration,
      { baseUrl: sim.url, username: sim.credentials.username, password: sim.credentials.password, apiKey: sim.credentials.tenantCode },
      TEST_ACTOR,
    );
    await settle();
  });
  after(async () => {
    await server?.destroy();
    await sim?.close();
  });

  it('status lists the legacy integration, its certificates and devices, and the end-of-life notice', async () => {
    const v = ok(await cli(server, ['migrate', 'status', '--json']));
    expect(v.daysSinceEndOfLife).to.be.greaterThan(400);
    expect(v.notice).to.contain('7 October 2024');
    const l = v.integrations.find((i: { id: string }) => i.id === legacy.id);
    expect(l).to.deep.include({ status: 'test-group', group: 'pilot', migration: null });
    expect(l.certificates).to.include({ valid: 21, revoked: 0, devices: 20 });
  });

  it('before cutover the certificates make their devices trusted', async () => {
    for (const d of [devices[0]!, devices[7]!])
      expect((await certCheck(d)).body).to.include({ decision: 'allow', trusted: true, integration: legacy.id, device: d.udid });
    expect((await certCheck(devices[0]!, 'carol')).body).to.include({ trusted: false, reason: 'user-not-in-test-group' });
  });

  it('plan (entered WS1 settings) reports each device ready or at risk with the reason, and writes the reports', async () => {
    const pw = secretFile(dir, 'pw', sim.credentials.password);
    const key = secretFile(dir, 'key', sim.credentials.tenantCode);
    const r = ok(
      await m('plan', legacy.id, '--ws1-url', sim.url, '--ws1-username', sim.credentials.username, '--ws1-password-file', pw, '--ws1-api-key-file', key),
    );
    expect(r).to.include({ outcome: 'done', stateBefore: null, state: 'planned' });
    expect(r.readiness).to.include({ source: 'ws1-live', total: 20, ready: 17, atRisk: 3, percentReady: 85 });
    expect(r.readiness.byReason).to.deep.equal({ 'not-in-ws1': 2, 'not-enrolled': 1 });
    const atRisk = r.readiness.devices.filter((d: { ready: boolean }) => !d.ready).map((d: { udid: string; reason: string }) => [d.udid, d.reason]);
    expect(atRisk).to.have.deep.members([
      [missing[0], 'not-in-ws1'],
      [missing[1], 'not-in-ws1'],
      [unenrolled, 'not-enrolled'],
    ]);
    expect(r.readiness.devices.find((d: { udid: string }) => d.udid === devices[5]!.udid).serials).to.have.length(2);
    expect(reportFiles(reports, legacy.id, 'plan').map((f) => path.extname(f))).to.have.members(['.json', '.csv', '.md']);
    const csv = fs.readFileSync(r.reports.csv, 'utf8').trim().split('\n');
    expect(csv).to.have.length(21);
    expect(csv.find((l) => l.startsWith(unenrolled))).to.contain('at-risk,not-enrolled');
    expect(fs.readFileSync(r.reports.markdown, 'utf8')).to.contain('### Devices at risk').and.contain(missing[0]!);
  });

  it('apply creates the disabled App Config integration with copied WS1 settings and prints what to paste', async () => {
    const r = ok(await m('apply', legacy.id, '--ws1-from', ws1Integration, '--yes'));
    expect(r).to.include({ outcome: 'done', state: 'applied' });
    appConfigId = r.appConfigId;
    configKey = r.appConfig.configurationKey;
    expect(configKey).to.match(/^[A-Z0-9]{20}$/);
    expect(r.appConfig.entries).to.deep.equal([
      { key: 'trustedEndpointConfigurationKey', valueType: 'String', value: configKey },
      { key: 'trustedEndpointIdentifier', valueType: 'String', value: '{DeviceUid}' },
    ]);
    const i = await server.app.services.integrations.get(appConfigId);
    expect(i).to.include({ type: 'ios', status: 'disabled', name: 'WS1 iPhones (certificates) (App Config)' });
    const text = await cli(server, ['migrate', 'apply', legacy.id, '--report-dir', reports]);
    expect(text.code).to.equal(0);
    expect(text.stdout)
      .to.contain('nothing to do')
      .and.match(new RegExp(`trustedEndpointConfigurationKey\\s+String\\s+${configKey}`));
  });

  it('verify runs Test Configuration and a sync, then readiness against the synced inventory', async () => {
    const r = ok(await m('verify', legacy.id));
    expect(r).to.include({ state: 'verified' });
    expect(r.testConfiguration).to.deep.equal({ ok: true, message: 'Configuration Successful!' });
    expect(r.sync).to.include({ ok: true, managed: 57 });
    expect(r.readiness).to.include({ source: 'ws1-sync', total: 20, ready: 17 });
    expect(r.readiness.byReason).to.deep.equal({ 'not-in-ws1': 2, 'not-enrolled': 1 });
  });

  it('cutover refuses below 95% ready, then moves the scope to App Config with --min-ready', async () => {
    refused(await cli(server, ['migrate', 'cutover', legacy.id, '--yes']), /only 17 of 20 devices .* are ready \(85%, at least 95% needed\)/);
    const r = ok(await m('cutover', legacy.id, '--min-ready', '80', '--yes'));
    expect(r).to.include({ state: 'cut-over', stateBefore: 'verified' });
    expect(await server.app.services.integrations.get(appConfigId)).to.include({ status: 'test-group', groupName: 'pilot' });
    expect(await server.app.services.integrations.get(legacy.id)).to.include({ status: 'disabled', groupName: null });
    await settle();
  });

  it('after cutover the identifier check with the configuration key trusts the ready devices', async () => {
    for (const d of [devices[0]!, devices[7]!, devices[19]!])
      expect((await idCheck(d.udid)).body, d.udid).to.include({ decision: 'allow', trusted: true, integration: appConfigId });
    expect((await idCheck(missing[0]!)).body).to.include({ trusted: false, reason: 'device-not-found' });
    expect((await idCheck(unenrolled)).body).to.include({ trusted: false, reason: 'device-not-found' });
    expect((await idCheck(devices[0]!.udid, 'carol')).body).to.include({ trusted: false, reason: 'user-not-in-test-group' });
    expect((await certCheck(devices[0]!)).body).to.include({ decision: 'deny', reason: 'integration-disabled' });
  });

  it('rollback after cutover restores certificate trust and disables the App Config integration', async () => {
    const r = ok(await m('rollback', legacy.id, '--yes'));
    expect(r).to.include({ state: 'rolled-back', stateBefore: 'cut-over' });
    expect(await server.app.services.integrations.get(legacy.id)).to.include({ status: 'test-group', groupName: 'pilot' });
    expect(await server.app.services.integrations.get(appConfigId)).to.include({ status: 'disabled' });
    await settle();
    expect((await certCheck(devices[0]!)).body).to.include({ decision: 'allow', trusted: true, integration: legacy.id });
    expect((await idCheck(devices[0]!.udid)).body).to.include({ trusted: false, reason: 'integration-disabled' });
  });

  it('from rolled-back only a new plan is allowed; the second attempt reuses the App Config integration', async () => {
    refused(await cli(server, ['migrate', 'apply', legacy.id, '--yes']), /was rolled back: run scepter migrate plan/);
    expect(ok(await m('plan', legacy.id))).to.include({ state: 'planned' }); // WS1 settings: the --ws1-from source recorded by apply
    const a = ok(await m('apply', legacy.id, '--yes'));
    expect(a.appConfigId).to.equal(appConfigId);
    expect(a.appConfig.configurationKey).to.equal(configKey);
    expect(ok(await m('verify', legacy.id)).state).to.equal('verified');
    expect(ok(await m('cutover', legacy.id, '--force', '--yes')).warnings[0]).to.contain('3 devices are not ready');
    const [row] = await server.app.services.db.manager.query('SELECT attempt, state FROM legacy_migrations WHERE legacy_integration_id = ?', [legacy.id]);
    expect(row).to.deep.equal({ attempt: 2, state: 'cut-over' });
  });

  it('finalize waits for the grace period, then deletes the legacy integration and revokes every certificate', async () => {
    refused(await cli(server, ['migrate', 'finalize', legacy.id, '--yes']), /grace period .* ends .* \(14 days after cutover\)/);
    const r = ok(await m('finalize', legacy.id, '--grace', '0', '--yes'));
    expect(r).to.include({ state: 'finalized', revoked: 21 });
    const rows = await server.app.services.db.manager.query(
      "SELECT COUNT(*) AS n FROM certificates WHERE integration_id = ? AND status = 'revoked' AND revocation_reason = 5",
      [legacy.id],
    );
    expect(Number(rows[0].n)).to.equal(21);
    refused(await cli(server, ['migrate', 'finalize', legacy.id, '--grace', '0', '--yes']), /already finalized/);
  });

  it('after finalize the CRL and OCSP say revoked, and the certificate check refuses the devices', async () => {
    await settle(1200); // the server republishes within a second of the commit
    const crl = Buffer.from(await (await fetch(`${server.url}/crl/ca.crl`)).arrayBuffer());
    fs.writeFileSync(path.join(dir, 'ca.crl'), crl);
    const text = await run('openssl', ['crl', '-inform', 'DER', '-in', 'ca.crl', '-noout', '-text', '-CAfile', 'ca.pem'], { cwd: dir });
    expect(text.stdout + text.stderr).to.contain('verify OK');
    for (const d of devices) expect(text.stdout, d.serial).to.contain(`Serial Number: ${d.serial.toUpperCase()}`);
    expect(text.stdout.match(/Cessation Of Operation/g)).to.have.length(21);
    for (const i of [0, 2, 9]) {
      const o = await run('openssl', ['ocsp', '-issuer', 'ca.pem', '-cert', `d${i}.pem`, '-url', `${server.url}/ocsp`, '-CAfile', 'ca.pem'], { cwd: dir });
      expect(o.stdout, o.stderr).to.contain(`d${i}.pem: revoked`);
      expect(o.stdout).to.contain('Reason: cessationOfOperation');
      // the certificate check: never trusted again (the integration is gone and the certificate revoked)
      const c = await certCheck(devices[i]!);
      expect(c.body).to.include({ decision: 'deny', trusted: false });
      expect(c.body.reason).to.equal('revoked');
    }
    // the App Config integration carries on
    expect((await idCheck(devices[0]!.udid)).body).to.include({ decision: 'allow', trusted: true, integration: appConfigId });
  });

  it('status shows the finalized migration, and every step is in the audit log', async () => {
    const l = ok(await cli(server, ['migrate', 'status', '--json'])).integrations.find((i: { id: string }) => i.id === legacy.id);
    expect(l).to.deep.include({ deleted: true });
    expect(l.migration).to.include({ state: 'finalized', revokedCount: 21, appConfigId, attempt: 2 });
    expect(l.certificates).to.include({ valid: 0, revoked: 21, devices: 0 });
    const audit = await server.app.services.audit.list({ limit: 1000 });
    const steps = audit.filter((e) => e.action.startsWith('migration.') && e.target === legacy.id).map((e) => e.action);
    expect(steps).to.deep.equal([
      'migration.plan',
      'migration.apply',
      'migration.verify',
      'migration.cutover',
      'migration.rollback',
      'migration.plan',
      'migration.apply',
      'migration.verify',
      'migration.cutover',
      'migration.finalize',
    ]);
    expect(audit.find((e) => e.action === 'integration.delete' && e.target === legacy.id)?.details).to.include({ revoked: 21, reason: 'cessationOfOperation' });
  });
});
