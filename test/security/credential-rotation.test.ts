import { expect } from 'chai';
import { pooledKeys } from '../support/keys';
import { PkiStatus } from '../../src/scep/scep.types';
import { createIosCerts, fetchChallenge, getChallengePage, IntegrationServer, startIntegrationServer, TEST_ACTOR } from '../integration/integrations-support';
import { runCli } from './startup-support';

const HOUR = 3_600_000;

/**
 * Threat: rotating the challenge URL's credentials either breaks enrollments until WS1 is updated
 * (so admins put it off) or, after a leak, leaves the old password and the challenges already
 * minted with it usable. Rotation offers a grace period for the old password, and an option that
 * ends it now and expires every unused challenge. Both through the admin API and the CLI, audited.
 */
describe('security: challenge credential rotation', function () {
  let server: IntegrationServer;
  let adminKey: string;
  before(async () => {
    server = await startIntegrationServer();
    adminKey = (await server.app.services.apiKeys.create('administrator', TEST_ACTOR)).key;
  });
  after(async () => server?.destroy());

  const rotate = async (id: string, body?: unknown) => {
    const res = await fetch(`${server.url}/admin/v1/integrations/${id}/rotate-challenge-credentials`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const status = async (username: string, password: string) => (await getChallengePage(server, username, password)).status;

  it('admin API: the old password keeps working during the grace period, then stops; audited', async () => {
    const integ = await createIosCerts(server, 'rotation-api');
    const user = integ.challengeUsername;
    const old = integ.challengePassword;
    const r = await rotate(integ.id, { grace: '2h' });
    expect(r.status).to.equal(200);
    const fresh = r.body.challengePassword as string;
    expect(fresh).to.be.a('string').and.not.equal(old);
    expect(Date.parse(r.body.previousPasswordValidUntil as string) - server.clock.now().getTime()).to.be.within(2 * HOUR - 60_000, 2 * HOUR);
    expect(await status(user, old)).to.equal(200);
    expect(await status(user, fresh)).to.equal(200);
    server.clock.advance(2 * HOUR + 1000);
    expect(await status(user, old)).to.equal(401);
    expect(await status(user, fresh)).to.equal(200);
    const [entry] = await server.app.services.audit.list({ action: 'integration.rotate-challenge-credentials' });
    expect(entry).to.deep.include({ target: integ.id });
    expect(JSON.stringify(entry)).to.contain('"graceSeconds":7200');
  });

  it('admin API: the default grace is 24h; a bad grace or flag is 400 and changes nothing', async () => {
    const integ = await createIosCerts(server, 'rotation-default');
    for (const body of [{ grace: 'forever' }, { grace: '31d' }, { grace: '5' }, { expireUnusedChallenges: 'yes' }]) {
      const bad = await rotate(integ.id, body);
      expect(bad.status, JSON.stringify(body)).to.equal(400);
      expect(JSON.stringify(bad.body)).to.match(/grace|expireUnusedChallenges/);
    }
    expect(await status(integ.challengeUsername, integ.challengePassword)).to.equal(200);
    const r = await rotate(integ.id); // no body at all: the defaults
    expect(r.status).to.equal(200);
    expect(Date.parse(r.body.previousPasswordValidUntil as string) - server.clock.now().getTime()).to.be.within(24 * HOUR - 60_000, 24 * HOUR);
    server.clock.advance(23 * HOUR);
    expect(await status(integ.challengeUsername, integ.challengePassword)).to.equal(200);
    server.clock.advance(2 * HOUR);
    expect(await status(integ.challengeUsername, integ.challengePassword)).to.equal(401);
  });

  it('admin API: after a leak, grace 0 and expireUnusedChallenges end the old password and every unused challenge now', async () => {
    const integ = await createIosCerts(server, 'rotation-leak');
    await server.app.services.integrations.setStatus(integ.id, 'all', undefined, TEST_ACTOR);
    const minted = [await fetchChallenge(server, integ), await fetchChallenge(server, integ)];
    const r = await rotate(integ.id, { grace: '0', expireUnusedChallenges: true });
    expect(r.status).to.equal(200);
    expect(r.body).to.include({ previousPasswordValidUntil: null, expiredChallenges: 2 });
    expect(await status(integ.challengeUsername, integ.challengePassword)).to.equal(401);
    const client = server.scepClient(integ.id);
    const cas = await client.getCaCertificates();
    const [key] = await pooledKeys(1);
    const refused = await client.enroll({
      cas,
      subject: [
        { type: 'OU', value: integ.id },
        { type: 'CN', value: 'LEAKED-CHALLENGE-1' },
      ],
      challenge: minted[0]!,
      key: key,
      transactionId: `leak-${Date.now()}`,
    });
    expect(refused.status).to.equal(PkiStatus.FAILURE);
    // a challenge minted with the new password works
    const ok = await client.enroll({
      cas,
      subject: [
        { type: 'OU', value: integ.id },
        { type: 'CN', value: 'AFTER-ROTATION-1' },
      ],
      challenge: await fetchChallenge(server, { challengeUsername: integ.challengeUsername, challengePassword: r.body.challengePassword as string }),
      key: key,
      transactionId: `after-${Date.now()}`,
    });
    expect(ok.status, ok.failText).to.equal(PkiStatus.SUCCESS);
  });

  it('device-bound challenges across a rotation: the old password still binds during the grace, a bound challenge still refuses other devices, and a leak rotation expires bound ones too', async () => {
    const integ = await createIosCerts(server, 'rotation-bound');
    await server.app.services.integrations.setStatus(integ.id, 'all', undefined, TEST_ACTOR);
    const udidA = '00008030-001A35E83C38802E';
    const udidB = '00008030-001B00000000002E';
    const bound = async (password: string, udid: string) => {
      const res = await getChallengePage(server, integ.challengeUsername, password, { path: `/certsrv/mscep_admin/?deviceUid=${udid}`, json: true });
      expect(res.status, res.body.toString()).to.equal(200);
      return JSON.parse(res.body.toString()) as { challenge: string; deviceUid: string };
    };
    const beforeRotation = await bound(integ.challengePassword, udidA);
    const r = await rotate(integ.id, { grace: '1h' });
    expect(r.status).to.equal(200);
    const duringGrace = await bound(integ.challengePassword, udidA);
    expect(duringGrace.deviceUid).to.equal(udidA);
    const client = server.scepClient(integ.id);
    const cas = await client.getCaCertificates();
    const [key] = await pooledKeys(1);
    const enroll = (udid: string, challenge: string, tid: string) =>
      client.enroll({
        cas,
        subject: [
          { type: 'OU', value: integ.id },
          { type: 'CN', value: udid },
        ],
        challenge,
        key: key,
        transactionId: `${tid}-${Date.now()}`,
      });
    const other = await enroll(udidB, duringGrace.challenge, 'grace-other');
    expect([other.status, other.failText]).to.deep.equal([PkiStatus.FAILURE, 'the challengePassword was issued for another device']);
    expect((await enroll(udidA, duringGrace.challenge, 'grace-own')).status).to.equal(PkiStatus.SUCCESS);
    // after a leak: grace 0 and expire every unused challenge, the bound one from before the rotation included
    const leak = await rotate(integ.id, { grace: '0', expireUnusedChallenges: true });
    expect(leak.body).to.include({ expiredChallenges: 1 });
    const expired = await enroll(udidA, beforeRotation.challenge, 'leak-own');
    expect(expired.status).to.equal(PkiStatus.FAILURE);
    expect(await status(integ.challengeUsername, r.body.challengePassword as string)).to.equal(401);
  });

  it('CLI: --grace and --expire-unused-challenges do the same, with the grace shown and audited', async () => {
    const fresh = await startIntegrationServer(); // its own clock, at the CLI's time
    try {
      const integ = await createIosCerts(fresh, 'rotation-cli');
      await fetchChallenge(fresh, integ); // one unused challenge for --expire-unused-challenges
      const env = fresh.env;
      const graced = await runCli(['integration', 'rotate-challenge-credentials', integ.id, '--grace', '90m', '--json'], env, fresh.dir);
      expect(graced.code, graced.stderr).to.equal(0);
      const g = JSON.parse(graced.stdout);
      expect(Date.parse(g.previousPasswordValidUntil) - Date.now()).to.be.within(89 * 60_000, 90 * 60_000);
      expect((await getChallengePage(fresh, integ.challengeUsername, integ.challengePassword)).status).to.equal(200);
      expect((await getChallengePage(fresh, integ.challengeUsername, g.challengePassword)).status).to.equal(200);
      const text = await runCli(['integration', 'rotate-challenge-credentials', integ.id, '--grace', '0', '--expire-unused-challenges'], env, fresh.dir);
      expect(text.code, text.stderr).to.equal(0);
      expect(text.stdout)
        .to.contain('The previous password no longer works.')
        .and.match(/Expired [1-9]\d* unused challenge/);
      expect((await getChallengePage(fresh, integ.challengeUsername, g.challengePassword)).status).to.equal(401);
      const bad = await runCli(['integration', 'rotate-challenge-credentials', integ.id, '--grace', 'soon'], env, fresh.dir);
      expect(bad.code).to.equal(1);
      expect(bad.stderr).to.contain('grace must be a duration');
      const audit = await fresh.app.services.audit.list({ action: 'integration.rotate-challenge-credentials' });
      expect(JSON.stringify(audit)).to.contain('"graceSeconds":5400').and.contain('"expireUnusedChallenges":true');
    } finally {
      await fresh.destroy();
    }
  });
});
