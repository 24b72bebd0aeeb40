import { expect } from 'chai';
import https from 'node:https';
import path from 'node:path';
import { KeyObject } from 'node:crypto';
import { pemEncode } from '../../src/pki/der';
import { pooledKeys } from '../support/keys';
import { run } from '../support/proc';
import { createIosCerts, IntegrationServer, startIntegrationServer, TEST_ACTOR } from './integrations-support';
import { craftWithOurCa, Device, enrollDevice, foreignCertificate, mtlsCheck } from './trust-support';

const BIN = path.resolve(__dirname, '../../../bin/scepter');
const DAY = 86_400_000;

describe('device trust over mTLS (real server, certificates issued through SCEP)', function () {
  let server: IntegrationServer;
  let integ: Awaited<ReturnType<typeof createIosCerts>>;
  let keys: KeyObject[];
  let caPem: string;
  let port: number;
  let device: Device;

  const check = (query: string, client?: { certPem: string; keyPem: string }) => mtlsCheck(port, caPem, query, client);
  const setPolicy = async (policy: string, application?: string) => {
    await server.app.services.trustPolicy.set(policy, application, TEST_ACTOR);
  };
  const cli = (...args: string[]) => run(process.execPath, [BIN, ...args], { env: { ...process.env, ...server.env }, timeoutMs: 60_000 });

  // the server reloads integrations and policies every 500 ms; tests that are not about that reload now
  const settle = () => server.app.trust.refresh();

  before(async () => {
    server = await startIntegrationServer();
    caPem = pemEncode('CERTIFICATE', server.app.services.authority.caCertificate.der);
    port = server.app.tlsPort();
    keys = await pooledKeys(4);
    integ = await createIosCerts(server);
    await server.app.services.integrations.setStatus(integ.id, 'all', undefined, TEST_ACTOR);
    device = await enrollDevice(server, integ, 'UDID-TRUSTED-1', keys[0]!);
  });
  after(async () => server.destroy());

  it('answers allow without checking while no policy is configured', async () => {
    const r = await check('user=alice', device);
    expect(r.status).to.equal(200);
    expect(r.body).to.include({ decision: 'allow', trusted: false, reason: 'not-checked', policy: 'not-configured' });
  });

  it('trusts a valid certificate over real mTLS and names its integration, device and serial', async () => {
    await setPolicy('require-trusted');
    await settle();
    const r = await check('user=alice&application=vpn', device);
    expect(r.status).to.equal(200);
    expect(r.body).to.deep.include({
      decision: 'allow',
      trusted: true,
      reason: 'trusted',
      integration: integ.id,
      device: 'UDID-TRUSTED-1',
      serial: device.serial,
      policy: 'require-trusted',
      user: 'alice',
      application: 'vpn',
    });
  });

  it('denies with 403 and says why: no certificate, another CA, expired, not yet valid', async () => {
    const authority = server.app.services.authority;
    const now = Date.now();
    const cases: [string, { certPem: string; keyPem: string } | undefined][] = [
      ['no-certificate', undefined],
      ['unknown-issuer', await foreignCertificate(authority, 'UDID-IMPOSTOR')],
      ['expired', await craftWithOurCa(authority, 'UDID-OLD', new Date(now - 30 * DAY), new Date(now - DAY))],
      ['not-yet-valid', await craftWithOurCa(authority, 'UDID-FUTURE', new Date(now + DAY), new Date(now + 30 * DAY))],
      ['unknown-certificate', await craftWithOurCa(authority, 'UDID-UNRECORDED', new Date(now - DAY), new Date(now + DAY))],
    ];
    for (const [reason, client] of cases) {
      const r = await check('user=alice', client);
      expect(r.status, reason).to.equal(403);
      expect(r.body, reason).to.include({ decision: 'deny', trusted: false, reason });
    }
  });

  it('allow-all lets an untrusted device in but still checks and logs it; application overrides win', async () => {
    await setPolicy('allow-all');
    await setPolicy('require-trusted', 'payroll');
    await settle();
    const open = await check('user=bob&application=wiki');
    expect(open.status).to.equal(200);
    expect(open.body).to.include({ decision: 'allow', trusted: false, reason: 'no-certificate', policy: 'allow-all' });
    const strict = await check('user=bob&application=payroll');
    expect(strict.status).to.equal(403);
    expect(strict.body).to.include({ decision: 'deny', reason: 'no-certificate', policy: 'require-trusted' });
    await setPolicy('not-configured', 'wiki');
    await settle();
    expect((await check('user=bob&application=wiki')).body).to.include({ decision: 'allow', reason: 'not-checked' });
    await setPolicy('require-trusted');
    await settle();
  });

  it('scopes a test-group integration to the group members, and a disabled one to nobody', async () => {
    const groups = server.app.services.groups;
    await groups.create('pilot', TEST_ACTOR);
    await groups.addMember('pilot', 'carol', TEST_ACTOR);
    await server.app.services.integrations.setStatus(integ.id, 'test-group', 'pilot', TEST_ACTOR);
    await settle();
    expect((await check('user=carol', device)).body).to.include({ decision: 'allow', trusted: true });
    const outsider = await check('user=dave', device);
    expect(outsider.status).to.equal(403);
    expect(outsider.body).to.include({ reason: 'user-not-in-test-group', integration: integ.id });
    await server.app.services.integrations.setStatus(integ.id, 'disabled', undefined, TEST_ACTOR);
    await settle();
    expect((await check('user=carol', device)).body).to.include({ decision: 'deny', reason: 'integration-disabled' });
    await server.app.services.integrations.setStatus(integ.id, 'all', undefined, TEST_ACTOR);
    await settle();
  });

  it('keeps trusting a superseded certificate until it expires (renewal with a new key)', async () => {
    const renewed = await enrollDevice(server, integ, 'UDID-RENEW', keys[1]!);
    const [row] = await server.app.services.db.manager.query('SELECT status FROM certificates WHERE serial = ?', [renewed.serial]);
    const second = await enrollDevice(server, integ, 'UDID-RENEW', keys[2]!);
    const [old] = await server.app.services.db.manager.query('SELECT status FROM certificates WHERE serial = ?', [renewed.serial]);
    expect(row.status).to.equal('valid');
    expect(old.status).to.equal('superseded');
    expect((await check('user=alice', renewed)).body).to.include({ trusted: true, serial: renewed.serial });
    expect((await check('user=alice', second)).body).to.include({ trusted: true, serial: second.serial });
  });

  it('sees a revocation made with the CLI while the server runs within one second', async () => {
    const victim = await enrollDevice(server, integ, 'UDID-REVOKE', keys[3]!);
    expect((await check('user=alice', victim)).body).to.include({ trusted: true });
    const r = await cli('cert', 'revoke', victim.serial.toLowerCase().match(/../g)!.join(':'), '--reason', 'keyCompromise');
    expect(r.exitCode, r.stderr + r.stdout).to.equal(0);
    const revokedAt = Date.now();
    let answer = await check('user=alice', victim);
    while (answer.body.reason !== 'revoked' && Date.now() - revokedAt < 3000) answer = await check('user=alice', victim);
    expect(Date.now() - revokedAt).to.be.below(1000);
    expect(answer.status).to.equal(403);
    expect(answer.body).to.include({ trusted: false, reason: 'revoked', serial: victim.serial });
  });

  it('no longer trusts the certificates of a deleted integration', async () => {
    const other = await createIosCerts(server, 'to be deleted');
    await server.app.services.integrations.setStatus(other.id, 'all', undefined, TEST_ACTOR);
    const [key] = await pooledKeys(1);
    const doomed = await enrollDevice(server, other, 'UDID-DOOMED', key);
    await settle();
    expect((await check('user=alice', doomed)).body).to.include({ trusted: true, integration: other.id });
    // require-trusted is in force and the integration is active: deleting it needs --force
    const refused = await cli('integration', 'delete', other.id, '--yes');
    expect(refused.exitCode).to.equal(1);
    expect(refused.stderr).to.contain('--force');
    const r = await cli('integration', 'delete', other.id, '--yes', '--force');
    expect(r.exitCode, r.stderr + r.stdout).to.equal(0);
    await settle();
    const after = await check('user=alice', doomed);
    expect(after.status).to.equal(403);
    expect(after.body).to.include({ reason: 'revoked', integration: other.id });
  });

  it('serves many checks on one keep-alive connection and records the last sighting once per batch', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    let sockets = 0;
    const before = Date.now();
    try {
      for (let i = 0; i < 50; i++) {
        const r = await mtlsCheck(port, caPem, 'user=alice', device, { agent });
        expect(r.body.trusted).to.equal(true);
      }
      sockets = Object.values(agent.freeSockets).flat().length;
    } finally {
      agent.destroy();
    }
    expect(sockets).to.equal(1);
    await server.app.trust.flush();
    const [row] = await server.app.services.db.manager.query('SELECT last_seen_at FROM certificates WHERE serial = ?', [device.serial]);
    expect(new Date(`${row.last_seen_at.replace(' ', 'T')}Z`).getTime()).to.be.at.least(before - 1000);
  });

  it('answers POST with a JSON body the same way, and 400 for a missing user', async () => {
    const r = await mtlsCheck(port, caPem, '', device, { method: 'POST', body: { user: 'alice', application: 'vpn' } });
    expect(r.status).to.equal(200);
    expect(r.body).to.include({ trusted: true, application: 'vpn' });
    const bad = await mtlsCheck(port, caPem, 'application=vpn', device);
    expect(bad.status).to.equal(400);
  });
});
