import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PkiStatus } from '../../src/scep/scep.types';
import { pooledKeys } from '../support/keys';
import { run, RunResult } from '../support/proc';
import { getChallengePage, httpGet, IntegrationServer, parseNdesChallenge, startIntegrationServer } from './integrations-support';

const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'scepter');
const loadPlist = () => import('plist');

/** `scepter ...` as an admin runs it: a separate process on the running server's database and CA. */
describe('scepter CLI: integrations, groups, keys, audit (beside a running server)', function () {
  this.timeout(60_000);
  let server: IntegrationServer;
  let created: any;
  const user = (() => {
    try {
      return os.userInfo().username;
    } catch {
      return process.env.USER ?? 'unknown';
    }
  })();

  before(async () => {
    server = await startIntegrationServer();
  });
  after(async () => server.destroy());

  const cli = (...args: string[]): Promise<RunResult> =>
    run('node', [BIN, ...args], { env: { ...process.env, ...server.env, SCEPTER_LOG_LEVEL: 'warn' }, timeoutMs: 30_000 });
  const json = async (...args: string[]) => {
    const r = await cli('--json', ...args);
    expect(r.exitCode, r.stderr + r.stdout).to.equal(0);
    return JSON.parse(r.stdout);
  };

  it('refuses to create an ios-certs integration without --allow-legacy, with the end-of-life notice', async () => {
    const r = await cli('integration', 'create', '--type', 'ios-certs', '--name', 'Legacy iOS');
    expect(r.exitCode).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.match(/^scepter: The "Certs for iOS" certificate integration is end of life/);
    expect(r.stderr).to.contain('7 October 2024').and.contain('--allow-legacy');
    const j = await cli('--json', 'integration', 'create', '--type', 'ios-certs', '--name', 'Legacy iOS');
    expect(j.exitCode).to.equal(1);
    expect(JSON.parse(j.stdout).error).to.contain('end of life');
  });

  it('creates one with --allow-legacy and prints the WS1 settings and the challenge password once', async () => {
    created = await json('integration', 'create', '--type', 'ios-certs', '--name', 'Legacy iOS', '--allow-legacy');
    expect(created).to.include({ type: 'ios-certs', name: 'Legacy iOS', status: 'disabled' });
    expect(created.id).to.match(/^DI[A-Z2-9]{18}$/);
    expect(created.scepUrl).to.equal(`${server.url}/scep/${created.id}`);
    expect(created.challengeUrl).to.equal(`${server.url}/certsrv/mscep_admin/`);
    expect(created.subjectName).to.equal(`CN={DeviceUid},OU=${created.id}`);
    expect(created.challengeUsername).to.match(/^ndes-[a-z2-9]{12}$/);
    expect(created.challengePassword).to.be.a('string');
    // the running server sees it at once
    const page = await getChallengePage(server, created.challengeUsername, created.challengePassword);
    expect(page.status).to.equal(200);
    const challenge = parseNdesChallenge(page.body);
    const [key] = await pooledKeys(1);
    const client = server.scepClient(created.id);
    const r = await client.enroll({
      cas: await client.getCaCertificates(),
      subject: [
        { type: 'OU', value: created.id },
        { type: 'CN', value: 'CLI-UDID' },
      ],
      challenge,
      key,
      transactionId: 'cli-1',
    });
    expect(r.status).to.equal(PkiStatus.SUCCESS);
  });

  it('shows the Workspace ONE form fields (text), without the password', async () => {
    const r = await cli('integration', 'show', created.id);
    expect(r.exitCode, r.stderr).to.equal(0);
    const field = (label: string) => new RegExp(`^\\s*${label.replace(/[()]/g, '\\$&')}:\\s+(.+)$`, 'm').exec(r.stdout)?.[1];
    expect(field('Authority Type')).to.equal('Microsoft ADCS');
    expect(field('Protocol')).to.equal('SCEP');
    expect(field('Version')).to.equal('NDES 2008/2012');
    expect(field('SCEP URL')).to.equal(`${server.url}/certsrv/mscep/${created.id}/mscep.dll`);
    expect(field('Challenge Type')).to.equal('Dynamic');
    expect(field('Challenge Username')).to.equal(created.challengeUsername);
    expect(field('Challenge Password')).to.match(/^\(shown once/);
    expect(field('SCEP Challenge URL')).to.equal(`${server.url}/certsrv/mscep_admin/`);
    expect(field('Subject Name')).to.equal(`CN={DeviceUid},OU=${created.id}`);
    expect(field('Private Key Length')).to.equal('2048');
    expect(field('Private Key Type')).to.equal('Signing');
    expect(field('Auto Renewal Period (days)')).to.equal('14');
    expect(r.stdout).to.not.contain(created.challengePassword);
    const j = await json('integration', 'show', created.id);
    expect(j).to.not.have.property('challengePassword');
    expect(j.ws1.certificateTemplate).to.deep.equal({
      subjectName: `CN={DeviceUid},OU=${created.id}`,
      privateKeyLength: 2048,
      privateKeyType: 'Signing',
      autoRenewalPeriodDays: 14,
    });
  });

  it('lists integrations, creates groups, sets status (test-group needs a group)', async () => {
    const other = await json('integration', 'create', '--type', 'android', '--name', 'Android');
    expect(other).to.not.have.property('challengePassword');
    const list = await json('integration', 'list');
    expect(list.integrations.map((i: { id: string }) => i.id)).to.include.members([created.id, other.id]);
    expect((await cli('integration', 'status', other.id, 'test-group')).stderr).to.contain('needs a group');
    expect((await cli('integration', 'status', other.id, 'test-group', '--group', 'pilots')).stderr).to.contain('no group pilots');
    expect(await json('group', 'create', 'pilots')).to.include({ name: 'pilots' });
    expect((await cli('group', 'create', 'pilots')).exitCode).to.equal(1);
    expect((await json('group', 'add-member', 'pilots', 'alice@example.com')).members).to.deep.equal(['alice@example.com']);
    expect(await json('integration', 'status', other.id, 'test-group', '--group', 'pilots')).to.include({ status: 'test-group', group: 'pilots' });
    expect((await cli('integration', 'status', other.id, 'all')).stdout.trim()).to.equal(`${other.id}: status all`);
    expect((await cli('integration', 'status', other.id, 'sometimes')).exitCode).to.equal(1);
    const text = await cli('integration', 'list');
    expect(text.stdout).to.match(new RegExp(`^${other.id}\\s+android\\s+all\\s+Android$`, 'm'));
  });

  it('rotates the challenge credentials (--grace 0): the server takes the new password and refuses the old', async () => {
    const rotated = await json('integration', 'rotate-challenge-credentials', created.id, '--grace', '0');
    expect(rotated.challengeUsername).to.equal(created.challengeUsername);
    expect((await getChallengePage(server, created.challengeUsername, created.challengePassword)).status).to.equal(401);
    expect((await getChallengePage(server, created.challengeUsername, rotated.challengePassword)).status).to.equal(200);
    created.challengePassword = rotated.challengePassword;
  });

  it("writes an iOS profile that plist (and Python's plistlib) read back key by key, whose challenge enrolls", async () => {
    const out = path.join(server.dir, 'test.mobileconfig');
    const info = await json('integration', 'profile', created.id, '--out', out, '--device-uid', 'PROFILE-UDID-000000000001');
    expect(info).to.include({ file: out, deviceUid: 'PROFILE-UDID-000000000001' });
    const xml = fs.readFileSync(out, 'utf8');
    const { parse } = await loadPlist();
    const p = parse(xml) as any;
    expect(Object.keys(p).sort()).to.deep.equal([
      'PayloadContent',
      'PayloadDescription',
      'PayloadDisplayName',
      'PayloadIdentifier',
      'PayloadOrganization',
      'PayloadRemovalDisallowed',
      'PayloadType',
      'PayloadUUID',
      'PayloadVersion',
    ]);
    expect(p).to.include({ PayloadType: 'Configuration', PayloadVersion: 1, PayloadIdentifier: `com.scepter.${created.id}`, PayloadRemovalDisallowed: false });
    expect(p.PayloadUUID).to.match(/^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
    expect(p.PayloadContent).to.have.length(1);
    const scep = p.PayloadContent[0];
    expect(scep).to.include({ PayloadType: 'com.apple.security.scep', PayloadVersion: 1, PayloadIdentifier: `com.scepter.${created.id}.scep` });
    expect(scep.PayloadUUID).to.not.equal(p.PayloadUUID);
    const c = scep.PayloadContent;
    expect(Object.keys(c).sort()).to.deep.equal(
      ['CAFingerprint', 'Challenge', 'Key Type', 'Key Usage', 'Keysize', 'Name', 'Retries', 'RetryDelay', 'Subject', 'URL'].sort(),
    );
    expect(c.URL).to.equal(`${server.url}/scep/${created.id}`);
    expect(c.Name).to.equal(created.id);
    expect(c.Subject).to.deep.equal([[['CN', 'PROFILE-UDID-000000000001']], [['OU', created.id]]]);
    expect(c.Challenge).to.match(/^[0-9A-F]{16}$/);
    expect(c.Keysize).to.equal(2048);
    expect(c['Key Type']).to.equal('RSA');
    expect(c['Key Usage']).to.equal(1);
    expect(c.Retries).to.be.a('number');
    expect(c.RetryDelay).to.be.a('number');
    expect(Buffer.from(c.CAFingerprint).equals(server.app.services.authority.caCertificate.fingerprintSha1)).to.equal(true);
    expect(xml).to.match(/<key>CAFingerprint<\/key>\s*<data>/);

    const py = await run('python3', [
      '-c',
      'import plistlib,sys,json; p=plistlib.load(open(sys.argv[1],"rb")); c=p["PayloadContent"][0]["PayloadContent"]; print(json.dumps([c["Keysize"], c["Key Usage"], c["CAFingerprint"].hex(), c["Subject"]]))',
      out,
    ]);
    expect(py.exitCode, py.stderr).to.equal(0);
    expect(JSON.parse(py.stdout)).to.deep.equal([
      2048,
      1,
      server.app.services.authority.caCertificate.fingerprintSha1.toString('hex'),
      [[['CN', 'PROFILE-UDID-000000000001']], [['OU', created.id]]],
    ]);

    // what iOS would send with this profile
    const [key] = await pooledKeys(2);
    const client = server.scepClient(created.id);
    const subject = (c.Subject as [[string, string]][]).map(([[type, value]]) => ({ type, value }));
    const r = await client.enroll({ cas: await client.getCaCertificates(), subject, challenge: c.Challenge, key, transactionId: 'profile-1' });
    expect(r.status).to.equal(PkiStatus.SUCCESS);
    expect(r.certificate!.subject).to.equal(`OU=${created.id},CN=PROFILE-UDID-000000000001`);
  });

  it('makes an API key printed once as {"key"}, which the running server accepts with its role', async () => {
    const k = await json('admin', 'create-key', '--role', 'read-only');
    expect(k.key).to.match(/^scepter\./);
    const auth = { Authorization: `Bearer ${k.key}` };
    expect((await httpGet(`${server.url}/admin/v1/integrations`, auth)).status).to.equal(200);
    expect((await cli('admin', 'create-key', '--role', 'superuser')).exitCode).to.not.equal(0);
    const keys = await json('admin', 'list-keys');
    expect(JSON.stringify(keys)).to.not.contain(k.key.split('.')[2]);
    expect(keys.keys.find((x: { id: string }) => x.id === k.id)).to.include({ role: 'read-only', createdBy: `cli:${user}`, revokedAt: null });
    await json('admin', 'revoke-key', k.id);
    expect((await httpGet(`${server.url}/admin/v1/integrations`, auth)).status).to.equal(401);
  });

  it('prints the audit log: cli:<user> from cli, every change', async () => {
    const { entries } = await json('audit');
    const mine = entries.filter((e: { who: string }) => e.who === `cli:${user}`);
    expect(mine.every((e: { from: string }) => e.from === 'cli')).to.equal(true);
    const actions = mine.map((e: { action: string }) => e.action);
    for (const a of [
      'integration.create',
      'group.create',
      'group.add-member',
      'integration.status',
      'integration.rotate-challenge-credentials',
      'integration.profile',
      'api-key.create',
      'api-key.revoke',
    ])
      expect(actions).to.include(a);
    const text = await cli('audit', '--limit', '3');
    expect(text.stdout.trim().split('\n')).to.have.length(3);
    expect(text.stdout).to.match(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+Z  cli:${user}  cli  api-key\\.revoke  AK`, 'm'));
  });

  it('answers unknown ids with one line and exit code 1', async () => {
    const r = await cli('integration', 'show', 'DINOSUCHINTEGRATION1');
    expect([r.exitCode, r.stderr]).to.deep.equal([1, 'scepter: no integration DINOSUCHINTEGRATION1\n']);
    const j = await cli('--json', 'integration', 'show', 'DINOSUCHINTEGRATION1');
    expect(JSON.parse(j.stdout)).to.deep.equal({ error: 'no integration DINOSUCHINTEGRATION1' });
  });
});
