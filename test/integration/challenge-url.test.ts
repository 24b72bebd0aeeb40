import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { PkiStatus } from '../../src/scep/scep.types';
import { pooledKeys } from '../support/keys';
import { checkpointWal } from '../support/sqlite-checkpoint';
import {
  basic,
  createIosCerts,
  decodeNdesPage,
  getChallengePage,
  httpGet,
  IntegrationServer,
  parseNdesChallenge,
  startIntegrationServer,
  TEST_ACTOR,
} from './integrations-support';

describe('challenge URL (NDES mscep_admin, dynamic challenges)', function () {
  let server: IntegrationServer;
  let a: Awaited<ReturnType<typeof createIosCerts>>;
  let b: Awaited<ReturnType<typeof createIosCerts>>;

  before(async () => {
    server = await startIntegrationServer({ SCEPTER_AUTH_MAX_FAILURES: '3', SCEPTER_AUTH_COOLDOWN_SECONDS: '120' });
    a = await createIosCerts(server, 'A');
    b = await createIosCerts(server, 'B');
  });
  after(async () => server.destroy());

  it("answers NDES's page: UTF-16LE with a BOM, the challenge, the CA thumbprint, the 60-minute sentence", async () => {
    const res = await getChallengePage(server, a.challengeUsername, a.challengePassword);
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.match(/^text\/html; charset=utf-16/);
    expect([...res.body.subarray(0, 2)]).to.deep.equal([0xff, 0xfe]);
    const text = decodeNdesPage(res.body);
    const challenge = parseNdesChallenge(res.body);
    expect(challenge).to.match(/^[0-9A-F]{16}$/);
    const thumb = server.app.services.authority.caCertificate.fingerprintSha1.toString('hex').toUpperCase();
    expect(text).to.contain(`The thumbprint (hash value) for the CA certificate is: <B> ${thumb} </B>`);
    expect(text).to.contain('This password can be used only once and will expire within 60 minutes.');
    expect(text).to.match(/^<HTML>/);
  });

  it('answers {challenge, expiresAt} with Accept: application/json, valid 60 minutes', async () => {
    const before = Date.now();
    const res = await getChallengePage(server, a.challengeUsername, a.challengePassword, { json: true });
    expect(res.status).to.equal(200);
    const body = JSON.parse(res.body.toString());
    expect(Object.keys(body).sort()).to.deep.equal(['challenge', 'expiresAt']);
    expect(body.challenge).to.match(/^[0-9A-F]{16}$/);
    const ttl = Date.parse(body.expiresAt) - before;
    expect(ttl).to.be.within(59.9 * 60_000, 60.1 * 60_000);
  });

  it('gives a different challenge every time and stores only hashes', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5; i++) seen.add(parseNdesChallenge((await getChallengePage(server, a.challengeUsername, a.challengePassword)).body));
    expect(seen.size).to.equal(5);
    await checkpointWal(server.app.services.db, 'FULL');
    const files = fs
      .readdirSync(server.dir)
      .filter((f) => f.startsWith('scepter.sqlite'))
      .map((f) => fs.readFileSync(path.join(server.dir, f)).toString('latin1'));
    for (const secret of [...seen, a.challengePassword]) for (const f of files) expect(f.includes(secret), 'secret found in the database').to.equal(false);
  });

  it("also answers on /certsrv/mscep_admin/<id>/, only to that integration's credentials", async () => {
    const own = await getChallengePage(server, a.challengeUsername, a.challengePassword, { path: `/certsrv/mscep_admin/${a.id}/` });
    expect(own.status).to.equal(200);
    parseNdesChallenge(own.body);
    const other = await getChallengePage(server, b.challengeUsername, b.challengePassword, {
      path: `/certsrv/mscep_admin/${a.id}/`,
      localAddress: '127.0.0.4',
    });
    expect(other.status).to.equal(401);
    const unknown = await getChallengePage(server, a.challengeUsername, a.challengePassword, { path: '/certsrv/mscep_admin/DINOSUCHINTEGRATION1/' });
    expect(unknown.status).to.equal(404);
  });

  it('answers 401 with WWW-Authenticate: Basic without or with wrong credentials', async () => {
    const none = await httpGet(`${server.url}/certsrv/mscep_admin/`);
    expect(none.status).to.equal(401);
    expect(none.headers['www-authenticate']).to.match(/^Basic realm="[^"]+"/);
    const wrong = await getChallengePage(server, a.challengeUsername, 'not-the-password', { localAddress: '127.0.0.5' });
    expect(wrong.status).to.equal(401);
    expect(wrong.headers['www-authenticate']).to.match(/^Basic /);
    const unknownUser = await getChallengePage(server, 'ndes-nobody', a.challengePassword, { localAddress: '127.0.0.5' });
    expect(unknownUser.status).to.equal(401);
  });

  it('answers 429 with Retry-After to an address after repeated failures, even with good credentials; other addresses are unaffected', async () => {
    const from = '127.0.0.2';
    for (let i = 0; i < 3; i++) expect((await getChallengePage(server, a.challengeUsername, `wrong-${i}`, { localAddress: from })).status).to.equal(401);
    const blocked = await getChallengePage(server, a.challengeUsername, a.challengePassword, { localAddress: from });
    expect(blocked.status).to.equal(429);
    expect(Number(blocked.headers['retry-after'])).to.be.within(1, 120);
    expect((await getChallengePage(server, a.challengeUsername, a.challengePassword, { localAddress: '127.0.0.3' })).status).to.equal(200);
    // the cool-down ends
    server.clock.advance(121_000);
    expect((await getChallengePage(server, a.challengeUsername, a.challengePassword, { localAddress: from })).status).to.equal(200);
    server.clock.advance(-121_000);
  });

  it('rotating the credentials with grace 0 retires the old password at once', async () => {
    const c = await createIosCerts(server, 'rotating');
    const rotated = await server.app.services.integrations.rotateChallengeCredentials(c.id, TEST_ACTOR, { grace: '0' });
    expect(rotated.challengeUsername).to.equal(c.challengeUsername);
    expect(rotated.challengePassword).to.be.a('string').and.not.equal(c.challengePassword);
    expect((await getChallengePage(server, c.challengeUsername, c.challengePassword, { localAddress: '127.0.0.6' })).status).to.equal(401);
    expect((await getChallengePage(server, c.challengeUsername, rotated.challengePassword!)).status).to.equal(200);
  });

  it('answers 404 for a deleted integration, with its valid credentials', async () => {
    const c = await createIosCerts(server, 'to delete');
    await server.app.services.integrations.markDeleted(c.id, TEST_ACTOR);
    expect((await getChallengePage(server, c.challengeUsername, c.challengePassword)).status).to.equal(404);
    expect((await getChallengePage(server, c.challengeUsername, c.challengePassword, { path: `/certsrv/mscep_admin/${c.id}/` })).status).to.equal(404);
  });

  it('mints nothing for HEAD (a probe must not fill the cache)', async () => {
    const before = await server.app.services.challenges.outstanding(b.id);
    const res = await fetch(`${server.url}/certsrv/mscep_admin/`, { method: 'HEAD', headers: basic(b.challengeUsername, b.challengePassword) });
    expect(res.status).to.equal(200);
    expect(await server.app.services.challenges.outstanding(b.id)).to.equal(before);
  });

  it('ignores a forged X-Forwarded-For (the rate limit keys on the socket address)', async () => {
    const res = await httpGet(`${server.url}/certsrv/mscep_admin/`, { ...basic(a.challengeUsername, a.challengePassword), 'X-Forwarded-For': '127.0.0.2' });
    expect(res.status).to.equal(200);
  });
});

describe('challenge URL: cache limit and length', function () {
  let server: IntegrationServer;
  before(async () => {
    server = await startIntegrationServer({ SCEPTER_CHALLENGE_CACHE_LIMIT: '3', SCEPTER_CHALLENGE_LENGTH: '24', SCEPTER_CHALLENGE_TTL_MINUTES: '30' });
  });
  after(async () => server.destroy());

  it('past the cap answers NDES\'s "The password cache is full." (HTML 200, JSON 503); using or expiring a challenge frees a slot', async () => {
    const c = await createIosCerts(server);
    const challenges: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await getChallengePage(server, c.challengeUsername, c.challengePassword);
      expect(res.status).to.equal(200);
      expect(decodeNdesPage(res.body)).to.contain('will expire within 30 minutes');
      challenges.push(parseNdesChallenge(res.body));
    }
    expect(challenges[0]).to.match(/^[0-9A-F]{24}$/);
    const full = await getChallengePage(server, c.challengeUsername, c.challengePassword);
    expect(full.status).to.equal(200);
    expect(decodeNdesPage(full.body)).to.contain('The password cache is full.');
    expect(() => parseNdesChallenge(full.body)).to.throw();
    const fullJson = await getChallengePage(server, c.challengeUsername, c.challengePassword, { json: true });
    expect(fullJson.status).to.equal(503);
    expect(JSON.parse(fullJson.body.toString())).to.deep.include({ message: 'The password cache is full.' });
    // another integration has its own cache
    const other = await createIosCerts(server, 'other');
    expect(parseNdesChallenge((await getChallengePage(server, other.challengeUsername, other.challengePassword)).body)).to.have.length(24);

    // one enrollment uses a challenge: one slot again
    const [key] = await pooledKeys(1);
    const client = server.scepClient(c.id);
    const cas = await client.getCaCertificates();
    const r = await client.enroll({
      cas,
      subject: [
        { type: 'OU', value: c.id },
        { type: 'CN', value: 'cache-device' },
      ],
      challenge: challenges[3 - 1],
      key,
    });
    expect(r.status).to.equal(PkiStatus.SUCCESS);
    expect((await getChallengePage(server, c.challengeUsername, c.challengePassword, { json: true })).status).to.equal(200);
    expect((await getChallengePage(server, c.challengeUsername, c.challengePassword, { json: true })).status).to.equal(503);
    // expiry frees them all
    server.clock.advance(31 * 60_000);
    expect((await getChallengePage(server, c.challengeUsername, c.challengePassword, { json: true })).status).to.equal(200);
    expect(await server.app.services.challenges.outstanding(c.id)).to.equal(1);
  });
});
