import { expect } from 'chai';
import http from 'node:http';
import { KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config/config';
import { CaCertificates } from '../../src/scep/client/scep-client';
import { FailInfo, PkiStatus } from '../../src/scep/scep.types';
import { SubjectTemplate } from '../../src/integrations/subject-template';
import { pooledKeys } from '../support/keys';
import { createTestDatabase } from '../support/postgres';
import { run } from '../support/proc';
import { ATTR, sendRawPkcsReq, utf8Name } from '../support/raw-scep';
import {
  createIosCerts,
  fetchChallenge,
  getChallengePage,
  IntegrationServer,
  parseNdesChallenge,
  startIntegrationServer,
  TEST_ACTOR,
} from '../integration/integrations-support';

const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'scepter');
const UDID_A = '00008030-001A35E83C38802E';
const UDID_B = '00008030-001B00000000002E';
const UDID_40 = 'a'.repeat(20) + '0123456789abcdef0123';

/**
 * Threat: a challenge handed out for one device (a test profile, or a challenge URL call naming the
 * device) is used to enroll another device id. And: admin-supplied device ids with CR/LF break the
 * answer (HTTP 500, forged headers), and a crafted subject template blocks the event loop.
 */
describe('security: a challenge minted for a device issues only for that device', function () {
  this.timeout(120_000);
  let server: IntegrationServer;
  let integ: Awaited<ReturnType<typeof createIosCerts>>;
  let cas: CaCertificates;
  let keys: KeyObject[];
  let apiKey: string;
  let n = 0;

  before(async () => {
    server = await startIntegrationServer();
    integ = await createIosCerts(server, 'bound');
    cas = await server.scepClient(integ.id).getCaCertificates();
    keys = await pooledKeys(2);
    apiKey = (await server.app.services.apiKeys.create('administrator', TEST_ACTOR)).key;
  });
  after(async () => server.destroy());

  const enroll = (udid: string, challenge: string, integrationId = integ.id, key = keys[0]!) =>
    sendRawPkcsReq(`${server.url}/scep/${integrationId}`, cas, utf8Name([ATTR.OU, integrationId], [ATTR.CN, udid]), key, challenge, `bound-${++n}`);

  const profile = (body: unknown): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> =>
    new Promise((resolve, reject) => {
      const payload = Buffer.from(JSON.stringify(body));
      const req = http.request(
        `${server.url}/admin/v1/integrations/${integ.id}/profile`,
        { method: 'POST', headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' }, agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  const profileChallenge = (xml: string): string => /<key>Challenge<\/key>\s*<string>([0-9A-F]+)<\/string>/.exec(xml)![1]!;

  describe('profile API and CLI', () => {
    it('binds the profile challenge to its deviceUid: another device id is refused, the device itself enrolls', async () => {
      const p = await profile({ deviceUid: UDID_A });
      expect(p.status).to.equal(200);
      expect(p.headers['x-device-uid']).to.equal(UDID_A);
      const challenge = profileChallenge(p.text);
      const other = await enroll(UDID_B, challenge);
      expect([other.httpStatus, other.status, other.failInfo, other.failText]).to.deep.equal([
        200,
        PkiStatus.FAILURE,
        FailInfo.badRequest,
        'the challengePassword was issued for another device',
      ]);
      expect(other.certificates).to.deep.equal([]);
      // the refusal did not use the challenge up
      const own = await enroll(UDID_A, challenge, integ.id, keys[1]);
      expect(own.status, own.failText).to.equal(PkiStatus.SUCCESS);
      const [row] = await server.app.services.db.manager.query('SELECT device_id FROM certificates WHERE serial = ?', [own.certificates[0]!.serialHex]);
      expect(row.device_id).to.equal(UDID_A);
    });

    it('takes 25- and 40-character Apple UDIDs', async () => {
      expect((await profile({ deviceUid: UDID_40 })).status).to.equal(200);
      expect((await profile({ deviceUid: UDID_B })).status).to.equal(200);
    });

    it('answers 400 (not 500) for a deviceUid with CR/LF, too short, too long or with other characters; nothing is minted', async () => {
      const before = await server.app.services.challenges.outstanding(integ.id);
      for (const bad of [`${UDID_A}\r\nX-Injected: 1`, 'abc', UDID_A + 'X', `${UDID_A.slice(0, 24)}_`, '', 'x'.repeat(5000)]) {
        const r = await profile({ deviceUid: bad });
        expect(r.status, JSON.stringify(bad)).to.equal(400);
        expect(JSON.parse(r.text).message).to.contain('deviceUid must match').and.contain('SCEPTER_DEVICE_ID_PATTERN');
        expect(r.headers).to.not.have.property('x-injected');
      }
      expect(await server.app.services.challenges.outstanding(integ.id)).to.equal(before);
    });

    it('the CLI refuses an invalid --device-uid with a clear error and exit code 1', async () => {
      const out = path.join(server.dir, 'bad.mobileconfig');
      const r = await run('node', [BIN, 'integration', 'profile', integ.id, '--out', out, '--device-uid', 'bad\nline'], {
        env: { ...process.env, ...server.env, SCEPTER_LOG_LEVEL: 'warn' },
        timeoutMs: 30_000,
      });
      expect(r.exitCode).to.equal(1);
      expect(r.stderr).to.contain('deviceUid must match');
      expect(fs.existsSync(out)).to.equal(false);
    });
  });

  describe('NDES challenge URL', () => {
    it('?deviceUid= binds the HTML challenge; an unbound challenge still enrolls any device', async () => {
      const page = await getChallengePage(server, integ.challengeUsername, integ.challengePassword, { path: `/certsrv/mscep_admin/?deviceUid=${UDID_A}` });
      expect(page.status).to.equal(200);
      const bound = parseNdesChallenge(page.body);
      const refused = await enroll(UDID_B, bound);
      expect([refused.status, refused.failInfo, refused.failText]).to.deep.equal([
        PkiStatus.FAILURE,
        FailInfo.badRequest,
        'the challengePassword was issued for another device',
      ]);
      expect((await enroll(UDID_A, bound, integ.id, keys[1])).status).to.equal(PkiStatus.SUCCESS);
      expect((await enroll(UDID_B, await fetchChallenge(server, integ))).status).to.equal(PkiStatus.SUCCESS);
    });

    it('JSON mode echoes the bound deviceUid; the /<id>/ form binds too', async () => {
      const r = await getChallengePage(server, integ.challengeUsername, integ.challengePassword, {
        path: `/certsrv/mscep_admin/${integ.id}/?deviceUid=${UDID_B}`,
        json: true,
      });
      expect(r.status).to.equal(200);
      const body = JSON.parse(r.body.toString());
      expect(body).to.have.keys('challenge', 'expiresAt', 'deviceUid');
      expect(body.deviceUid).to.equal(UDID_B);
      expect((await enroll(UDID_A, body.challenge)).failText).to.equal('the challengePassword was issued for another device');
    });

    it('answers 400 for an invalid deviceUid (after authentication), 401 without credentials', async () => {
      for (const bad of ['%0D%0AX', 'short', `${UDID_A}&deviceUid=${UDID_B}`]) {
        const r = await getChallengePage(server, integ.challengeUsername, integ.challengePassword, {
          path: `/certsrv/mscep_admin/?deviceUid=${bad}`,
          json: true,
        });
        expect(r.status, bad).to.equal(400);
        expect(JSON.parse(r.body.toString()).message).to.match(/deviceUid must (match|be given once)/);
      }
      expect(
        (await getChallengePage(server, integ.challengeUsername, 'wrong', { path: '/certsrv/mscep_admin/?deviceUid=short', localAddress: '127.0.0.7' })).status,
      ).to.equal(401);
    });
  });

  describe('SCEPTER_DEVICE_ID_PATTERN', () => {
    it('is a documented setting: an invalid regular expression stops the start naming it', () => {
      expect(() => loadConfig({ SCEPTER_DEVICE_ID_PATTERN: '([' })).to.throw(/SCEPTER_DEVICE_ID_PATTERN: must be a regular expression/);
      expect(loadConfig({}).deviceIdPattern).to.equal('[A-Za-z0-9-]{25}|[A-Za-z0-9-]{40}');
    });

    it('replaces the Apple UDID rule for the profile API and the challenge URL', async () => {
      const custom = await startIntegrationServer({ SCEPTER_DEVICE_ID_PATTERN: 'DEV-[0-9]{3}' });
      try {
        const i = await createIosCerts(custom, 'custom ids');
        const ok = await getChallengePage(custom, i.challengeUsername, i.challengePassword, { path: '/certsrv/mscep_admin/?deviceUid=DEV-123', json: true });
        expect(ok.status).to.equal(200);
        const apple = await getChallengePage(custom, i.challengeUsername, i.challengePassword, {
          path: `/certsrv/mscep_admin/?deviceUid=${UDID_A}`,
          json: true,
        });
        expect(apple.status).to.equal(400);
        expect(JSON.parse(apple.body.toString()).message).to.contain('DEV-[0-9]{3}');
      } finally {
        await custom.destroy();
      }
    });
  });

  describe('invisible characters in a device id', () => {
    it('are refused at the challenge URL (400, nothing minted) even when the pattern would take them', async () => {
      const loose = await startIntegrationServer({ SCEPTER_DEVICE_ID_PATTERN: '[^&]{1,64}' });
      try {
        const i = await createIosCerts(loose, 'loose ids');
        const ask = (id: string) =>
          getChallengePage(loose, i.challengeUsername, i.challengePassword, { path: `/certsrv/mscep_admin/?deviceUid=${encodeURIComponent(id)}`, json: true });
        for (const bad of ['laptop\u200b7', 'laptop\u202e7', '\ufefflaptop7']) {
          const r = await ask(bad);
          expect(r.status, JSON.stringify(bad)).to.equal(400);
          expect(JSON.parse(r.body.toString()).message).to.equal(
            'deviceUid must match [^&]{1,64} (SCEPTER_DEVICE_ID_PATTERN) without control or invisible formatting characters',
          );
        }
        const minted = async () => Number((await loose.app.services.db.transaction((m) => m.query('SELECT COUNT(*) AS n FROM challenges')))[0].n);
        expect(await minted()).to.equal(0);
        const ok = await ask('Zoë\u200d-laptop-7');
        expect(ok.status).to.equal(200);
        expect(JSON.parse(ok.body.toString()).deviceUid).to.equal('Zoë\u200d-laptop-7');
        expect(await minted()).to.equal(1);
      } finally {
        await loose.destroy();
      }
    });
  });

  describe('subject-template matching is linear, with length caps first', () => {
    // with regular expressions this template plus a long CN backtracked for seconds
    const crafted = (id: string) => `CN={DeviceUid}a{EnrollmentUser}a{EnrollmentUser}a{EnrollmentUser}a{EnrollmentUser}!,OU=${id}`;

    it('refuses a 2,000-character CN against a crafted template by its length, and still matches a real one', async () => {
      const t = await createIosCerts(server, 'crafted');
      await server.app.services.integrations.setSubjectTemplate(t.id, crafted(t.id), TEST_ACTOR);
      const long = await enroll('a'.repeat(2000), await fetchChallenge(server, t), t.id);
      expect([long.httpStatus, long.status, long.failInfo, long.failText]).to.deep.equal([
        200,
        PkiStatus.FAILURE,
        FailInfo.badRequest,
        'subject refused: CN is longer than 64 characters',
      ]);
      const ok = await enroll('UDIDaXaYaZaW!', await fetchChallenge(server, t), t.id);
      expect(ok.status, ok.failText).to.equal(PkiStatus.SUCCESS);
      const [row] = await server.app.services.db.manager.query('SELECT device_id FROM certificates WHERE serial = ?', [ok.certificates[0]!.serialHex]);
      expect(row.device_id).to.equal('UDID');
    });

    it('the matcher itself: caps values before matching, answers pathological inputs correctly', () => {
      const t = SubjectTemplate.parse(crafted('X'));
      expect(
        t.match([
          { type: 'OU', value: 'X' },
          { type: 'CN', value: 'a'.repeat(2000) },
        ]),
      ).to.deep.equal({ ok: false, reason: 'a subject value is longer than 256 characters' });
      expect(
        t.match([
          { type: 'OU', value: 'X' },
          { type: 'CN', value: 'a'.repeat(255) },
        ]),
      ).to.deep.include({ ok: false });
      expect(
        t.match([
          { type: 'OU', value: 'X' },
          { type: 'CN', value: `${'a'.repeat(250)}!` },
        ]),
      ).to.deep.equal({ ok: true, deviceUid: 'a' });
      const user = SubjectTemplate.parse('CN={EnrollmentUser}-{DeviceUid},OU=X');
      expect(
        user.match([
          { type: 'OU', value: 'X' },
          { type: 'CN', value: `alice-${UDID_A}` },
        ]),
      ).to.deep.equal({ ok: true, deviceUid: UDID_A });
      expect(
        user.match([
          { type: 'OU', value: 'X' },
          { type: 'CN', value: '-x' },
        ]),
      ).to.deep.include({ ok: false });
    });

    it('refuses templates whose lookup values touch (no way to tell which text is which)', () => {
      expect(() => SubjectTemplate.parse('CN={DeviceUid}{EnrollmentUser},OU=X')).to.throw(/two lookup values with nothing between them/);
    });
  });

  describe('on PostgreSQL (the migration adds challenges.device_id)', () => {
    it('binds and refuses the same way', async function () {
      const db = await createTestDatabase();
      const pg = await startIntegrationServer({ SCEPTER_DATABASE: db.url });
      try {
        const [col] = await pg.app.services.db.manager.query(
          "SELECT is_nullable FROM information_schema.columns WHERE table_name = 'challenges' AND column_name = 'device_id'",
        );
        expect(col).to.deep.equal({ is_nullable: 'YES' });
        const i = await createIosCerts(pg, 'pg bound');
        const pcas = await pg.scepClient(i.id).getCaCertificates();
        const page = await getChallengePage(pg, i.challengeUsername, i.challengePassword, { path: `/certsrv/mscep_admin/?deviceUid=${UDID_A}`, json: true });
        const challenge = JSON.parse(page.body.toString()).challenge;
        const send = (udid: string, key: KeyObject) =>
          sendRawPkcsReq(`${pg.url}/scep/${i.id}`, pcas, utf8Name([ATTR.OU, i.id], [ATTR.CN, udid]), key, challenge, `pg-bound-${++n}`);
        expect((await send(UDID_B, keys[0]!)).failText).to.equal('the challengePassword was issued for another device');
        expect((await send(UDID_A, keys[1]!)).status).to.equal(PkiStatus.SUCCESS);
      } finally {
        await pg.destroy();
        await db.drop();
      }
    });
  });
});
