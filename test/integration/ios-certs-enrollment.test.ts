import { expect } from 'chai';
import { KeyObject } from 'node:crypto';
import { CaCertificates, ScepClient } from '../../src/scep/client/scep-client';
import { FailInfo, MessageType, PkiStatus } from '../../src/scep/scep.types';
import { managerOf } from '../../src/db/transaction';
import { pooledKeys } from '../support/keys';
import { createIosCerts, fetchChallenge, httpGet, IntegrationServer, startIntegrationServer, TEST_ACTOR } from './integrations-support';

const DAY = 86_400_000;

describe('ios-certs enrollment policy (our SCEP client)', function () {
  let server: IntegrationServer;
  let integ: Awaited<ReturnType<typeof createIosCerts>>;
  let client: ScepClient;
  let cas: CaCertificates;
  let keys: KeyObject[];

  before(async () => {
    server = await startIntegrationServer({ SCEPTER_CERT_VALIDITY_DAYS: '90' });
    integ = await createIosCerts(server);
    client = server.scepClient(integ.id);
    cas = await client.getCaCertificates();
    keys = await pooledKeys(6);
  });
  after(async () => server.destroy());

  // keys are shared, so every request gets its own transactionID (it defaults to the key's hash)
  let n = 0;
  const tid = () => `ios-certs-${++n}`;
  const subject = (cn: string | undefined, ou: string | null = integ.id, extra: { type: string; value: string }[] = []) => [
    ...extra,
    ...(ou === null ? [] : [{ type: 'OU', value: ou }]),
    ...(cn === undefined ? [] : [{ type: 'CN', value: cn }]),
  ];
  const enroll = async (
    cn: string | undefined,
    opts: { ou?: string | null; extra?: { type: string; value: string }[]; key?: KeyObject; challenge?: string | null } = {},
  ) =>
    client.enroll({
      cas,
      transactionId: tid(),
      subject: subject(cn, opts.ou === undefined ? integ.id : opts.ou, opts.extra),
      challenge: opts.challenge === null ? undefined : (opts.challenge ?? (await fetchChallenge(server, integ))),
      key: opts.key ?? keys[0],
    });

  it('enrolls whatever the status (a new integration is disabled), and records the UDID', async () => {
    expect((await server.app.services.integrations.show(integ.id)).status).to.equal('disabled');
    const r = await enroll('UDID-A');
    expect(r.status).to.equal(PkiStatus.SUCCESS);
    const cert = r.certificate!;
    expect(cert.subject).to.equal(`CN=UDID-A,OU=${integ.id}`);
    expect(Math.round((cert.notAfter.getTime() - cert.notBefore.getTime()) / DAY)).to.equal(90);
    const [row] = await server.app.services.db.manager.query('SELECT device_id, integration_id FROM certificates WHERE serial = ?', [cert.serialHex]);
    expect(row).to.deep.equal({ device_id: 'UDID-A', integration_id: integ.id });
  });

  it('serves GetCACaps/GetCACert on the NDES alias; 404 for unknown, deleted and non-certificate integrations', async () => {
    expect((await httpGet(`${server.url}/certsrv/mscep/${integ.id}/mscep.dll?operation=GetCACaps`)).status).to.equal(200);
    expect((await httpGet(`${server.url}/scep/DINOSUCHINTEGRATION1?operation=GetCACaps`)).status).to.equal(404);
    const ios = await server.app.services.integrations.create({ type: 'ios', name: 'App Config' }, TEST_ACTOR);
    expect((await httpGet(`${server.url}/scep/${ios.id}?operation=GetCACaps`)).status).to.equal(404);
    const gone = await createIosCerts(server, 'gone');
    await server.app.services.integrations.markDeleted(gone.id, TEST_ACTOR);
    expect((await httpGet(`${server.url}/scep/${gone.id}?operation=GetCACaps`)).status).to.equal(404);
    const res = await server.scepClient(gone.id).send(Buffer.from([0x30, 0x00]));
    expect(res.status).to.equal(404);
  });

  it('deletes atomically with work done in the same transaction (e.g. revocation); a failure keeps the integration', async () => {
    const gone = await createIosCerts(server, 'delete hook');
    let err: unknown;
    await server.app.services.integrations
      .markDeleted(gone.id, TEST_ACTOR, async () => {
        throw new Error('revocation failed');
      })
      .catch((e) => (err = e));
    expect(String(err)).to.contain('revocation failed');
    expect((await server.app.services.integrations.show(gone.id)).id).to.equal(gone.id);
    await server.app.services.integrations.markDeleted(gone.id, TEST_ACTOR, async (tx) => {
      const rows: unknown[] = await managerOf(tx).query('SELECT deleted_at FROM integrations WHERE id = ?', [gone.id]);
      return { revoked: 0, seenDeleted: (rows[0] as { deleted_at: unknown }).deleted_at !== null };
    });
    const [entry] = await server.app.services.audit.list({ action: 'integration.delete', limit: 1 });
    expect(entry).to.deep.include({ target: gone.id, details: { revoked: 0, seenDeleted: true } });
    let again: unknown;
    await server.app.services.integrations.markDeleted(gone.id, TEST_ACTOR).catch((e) => (again = e));
    expect(String(again)).to.contain('no integration');
  });

  describe('subject template CN={DeviceUid},OU=<id>', () => {
    const refused = async (r: Awaited<ReturnType<typeof enroll>>, text: RegExp) => {
      expect([r.status, r.failInfo]).to.deep.equal([PkiStatus.FAILURE, FailInfo.badRequest]);
      expect(r.failText).to.match(text);
    };
    it('no CN: badRequest naming the device identifier', async () => refused(await enroll(undefined), /subject has no CN: the device identifier/));
    it('empty CN: badRequest', async () => refused(await enroll('  '), /subject has no CN/));
    it('two CNs: badRequest (which one is the UDID?)', async () =>
      refused(await enroll('UDID-B', { extra: [{ type: 'CN', value: 'UDID-C' }] }), /CN appears more often than the template/));
    it('OU of another integration: badRequest', async () => refused(await enroll('UDID-B', { ou: 'DIOTHERINTEGRATION1' }), /no OU matching/));
    it('no OU: badRequest', async () => refused(await enroll('UDID-B', { ou: null }), /0 OU attribute/));
    it('no challenge: badRequest', async () => refused(await enroll('UDID-B', { challenge: null }), /challengePassword missing/));
    it('a refused subject does not use up the challenge', async () => {
      const challenge = await fetchChallenge(server, integ);
      await refused(await enroll(undefined, { challenge }), /no CN/);
      expect((await enroll('UDID-B', { challenge, key: keys[1] })).status).to.equal(PkiStatus.SUCCESS);
    });
  });

  it('follows a changed template, e.g. CN=iOS-{DeviceUid},OU=<id>,O={EnrollmentUser}', async () => {
    const other = await createIosCerts(server, 'templated');
    await server.app.services.integrations.setSubjectTemplate(other.id, `CN=iOS-{DeviceUid},OU=${other.id},O={EnrollmentUser}`, TEST_ACTOR);
    const c = server.scepClient(other.id);
    const ok = await c.enroll({
      cas,
      transactionId: tid(),
      subject: [
        { type: 'O', value: 'alice' },
        { type: 'OU', value: other.id },
        { type: 'CN', value: 'iOS-UDID-T' },
      ],
      challenge: await fetchChallenge(server, other),
      key: keys[2],
    });
    expect(ok.status).to.equal(PkiStatus.SUCCESS);
    const [row] = await server.app.services.db.manager.query('SELECT device_id FROM certificates WHERE serial = ?', [ok.certificate!.serialHex]);
    expect(row.device_id).to.equal('UDID-T');
    const noPrefix = await c.enroll({
      cas,
      transactionId: tid(),
      subject: [
        { type: 'O', value: 'alice' },
        { type: 'OU', value: other.id },
        { type: 'CN', value: 'UDID-T' },
      ],
      challenge: await fetchChallenge(server, other),
      key: keys[2],
    });
    expect(noPrefix.failInfo).to.equal(FailInfo.badRequest);
    let err: unknown;
    await server.app.services.integrations.setSubjectTemplate(other.id, 'CN=fixed,OU=x', TEST_ACTOR).catch((e) => (err = e));
    expect(String(err)).to.contain('{DeviceUid} exactly once');
  });

  describe('renewal', () => {
    it('refuses a RenewalReq before the 14-day window with the date it opens, accepts it inside, supersedes the old certificate', async () => {
      const first = await enroll('UDID-R', { key: keys[3] });
      expect(first.status).to.equal(PkiStatus.SUCCESS);
      const signer = { certificate: first.certificate!, key: keys[3]! };
      const early = await client.enroll({ cas, subject: subject('UDID-R'), key: keys[4], transactionId: tid(), messageType: MessageType.RenewalReq, signer });
      expect([early.status, early.failInfo]).to.deep.equal([PkiStatus.FAILURE, FailInfo.badRequest]);
      const opens = new Date(first.certificate!.notAfter.getTime() - 14 * DAY).toISOString();
      expect(early.failText).to.equal(`renewal not yet allowed: the 14-day renewal window opens ${opens}`);

      server.clock.advance(80 * DAY); // 10 days before expiry
      try {
        const renewed = await client.enroll({
          cas,
          subject: subject('UDID-R'),
          key: keys[4],
          transactionId: tid(),
          messageType: MessageType.RenewalReq,
          signer,
        });
        expect(renewed.status).to.equal(PkiStatus.SUCCESS);
        const rows = await server.app.services.db.manager.query('SELECT serial, status, device_id FROM certificates WHERE device_id = ? ORDER BY id', [
          'UDID-R',
        ]);
        expect(rows).to.deep.equal([
          { serial: first.certificate!.serialHex, status: 'superseded', device_id: 'UDID-R' },
          { serial: renewed.certificate!.serialHex, status: 'valid', device_id: 'UDID-R' },
        ]);
      } finally {
        server.clock.advance(-80 * DAY);
      }
    });

    it('refuses a RenewalReq signed by a certificate of another integration (badCertId)', async () => {
      const other = await createIosCerts(server, 'renewal-other');
      const c = server.scepClient(other.id);
      const theirs = await c.enroll({
        cas,
        transactionId: tid(),
        subject: [
          { type: 'OU', value: other.id },
          { type: 'CN', value: 'UDID-X' },
        ],
        challenge: await fetchChallenge(server, other),
        key: keys[5],
      });
      expect(theirs.status).to.equal(PkiStatus.SUCCESS);
      const r = await client.enroll({
        cas,
        subject: subject('UDID-X'),
        key: keys[4],
        transactionId: tid(),
        messageType: MessageType.RenewalReq,
        signer: { certificate: theirs.certificate!, key: keys[5]! },
      });
      expect([r.status, r.failInfo]).to.deep.equal([PkiStatus.FAILURE, FailInfo.badCertId]);
    });
  });
});
