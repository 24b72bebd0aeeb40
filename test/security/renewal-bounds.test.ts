import { expect } from 'chai';
import { KeyObject } from 'node:crypto';
import { loadConfig } from '../../src/config/config';
import { ParsedCertificate } from '../../src/pki/certificate';
import { CaCertificates, ScepClient } from '../../src/scep/client/scep-client';
import { FailInfo, MessageType, PkiStatus } from '../../src/scep/scep.types';
import { pooledKeys } from '../support/keys';
import { createTestDatabase } from '../support/postgres';
import { startTestServer, TestServer, TEST_CHALLENGE } from '../support/test-server';
import { createIosCerts, fetchChallenge, IntegrationServer, startIntegrationServer, TestClock, TEST_ACTOR } from '../integration/integrations-support';

const DAY = 86_400_000;
type Name = { type: string; value: string }[];
interface Held {
  certificate: ParsedCertificate;
  key: KeyObject;
}

/**
 * Threat: a device (or whoever stole its key) uses a certificate we issued, with no challenge, to
 * get more than that certificate gave it: another subject (the CA's own name), more certificates,
 * or certificates from one that was replaced, revoked or expired.
 */
describe('security: renewal is bounded (default endpoint /scep)', function () {
  this.timeout(120_000);
  const clock = new TestClock();
  let server: TestServer;
  let cas: CaCertificates;
  let keys: KeyObject[];
  let n = 0;
  const tid = () => `renew-bounds-${++n}`;
  const name = (cn: string): Name => [
    { type: 'O', value: 'Scepter Tests' },
    { type: 'CN', value: cn },
  ];

  before(async () => {
    server = await startTestServer({}, undefined, { clock });
    cas = await server.client.getCaCertificates();
    keys = await pooledKeys(8);
  });
  afterEach(() => (clock.offsetMs = 0));
  after(async () => server?.destroy());

  async function enroll(cn: string, key: KeyObject): Promise<Held> {
    const r = await server.client.enroll({ cas, subject: name(cn), challenge: TEST_CHALLENGE, key, transactionId: tid() });
    expect(r.status, r.failText).to.equal(PkiStatus.SUCCESS);
    return { certificate: r.certificate!, key };
  }
  /** a renewal signed by `held`: RenewalReq, or (certmonger, macOS) PKCSReq signed by the current certificate */
  const renew = (held: Held, o: { key: KeyObject; subject?: Name; type?: MessageType; challenge?: string; transactionId?: string }) =>
    server.client.enroll({
      cas,
      subject: o.subject ?? name(cnOf(held)),
      key: o.key,
      messageType: o.type ?? MessageType.RenewalReq,
      signer: held,
      challenge: o.challenge,
      transactionId: o.transactionId ?? tid(),
    });
  const cnOf = (held: Held) => /CN=([^,]+)/.exec(held.certificate.subject)![1]!;
  const intoWindow = (held: Held, daysBeforeExpiry = 10) => (clock.offsetMs = held.certificate.notAfter.getTime() - daysBeforeExpiry * DAY - Date.now());
  const rows = async (cn: string): Promise<{ serial: string; status: string; renewed_from: string | null }[]> =>
    server.app.services.db.manager.query('SELECT serial, status, renewed_from FROM certificates WHERE subject = ? ORDER BY id', [`CN=${cn},O=Scepter Tests`]);

  it("a certificate from /scep cannot renew into the CA's own name (RenewalReq or PKCSReq signed by it, no challenge)", async () => {
    const held = await enroll('dev-name', keys[0]!);
    intoWindow(held);
    const caName = [
      { type: 'O', value: 'Scepter' },
      { type: 'CN', value: 'Scepter Device CA' },
    ];
    for (const type of [MessageType.RenewalReq, MessageType.PKCSReq]) {
      const r = await renew(held, { key: keys[1]!, subject: caName, type });
      expect([r.status, r.failInfo, r.failText]).to.deep.equal([
        PkiStatus.FAILURE,
        FailInfo.badRequest,
        'a renewal must keep the subject of the certificate it renews',
      ]);
    }
    const other = await renew(held, { key: keys[1]!, subject: name('another-device') });
    expect([other.status, other.failInfo]).to.deep.equal([PkiStatus.FAILURE, FailInfo.badRequest]);
    const [{ c }] = await server.app.services.db.manager.query(
      "SELECT COUNT(*) AS c FROM certificates WHERE subject LIKE '%Scepter Device CA%' OR subject LIKE '%another-device%'",
    );
    expect(Number(c)).to.equal(0);
    expect((await rows('dev-name')).map((x) => x.status)).to.deep.equal(['valid']);
  });

  it('renews only inside SCEPTER_RENEWAL_WINDOW_DAYS (default 14) before expiry, keeping the exact subject, and supersedes', async () => {
    const held = await enroll('dev-window', keys[0]!);
    const early = await renew(held, { key: keys[1]! });
    const opens = new Date(held.certificate.notAfter.getTime() - 14 * DAY).toISOString();
    expect([early.status, early.failInfo, early.failText]).to.deep.equal([
      PkiStatus.FAILURE,
      FailInfo.badRequest,
      `renewal not yet allowed: the 14-day renewal window opens ${opens}`,
    ]);
    intoWindow(held, 13);
    const renewed = await renew(held, { key: keys[1]! });
    expect(renewed.status, renewed.failText).to.equal(PkiStatus.SUCCESS);
    expect(renewed.certificate!.subjectDer.equals(held.certificate.subjectDer)).to.equal(true);
    expect(await rows('dev-window')).to.deep.equal([
      { serial: held.certificate.serialHex, status: 'superseded', renewed_from: null },
      { serial: renewed.certificate!.serialHex, status: 'valid', renewed_from: held.certificate.serialHex },
    ]);
  });

  it('one certificate renews once: a superseded certificate does not renew into more valid ones; the current one does', async () => {
    const a = await enroll('dev-once', keys[0]!);
    intoWindow(a);
    const b = await renew(a, { key: keys[1]! });
    expect(b.status).to.equal(PkiStatus.SUCCESS);
    // today's repro: the superseded certificate renewed into four valid ones
    for (const [i, type] of [MessageType.RenewalReq, MessageType.PKCSReq, MessageType.RenewalReq].entries()) {
      const again = await renew(a, { key: keys[2 + i]!, type });
      expect([again.status, again.failInfo], again.failText).to.deep.equal([PkiStatus.FAILURE, FailInfo.badCertId]);
    }
    const afterRefusals = await rows('dev-once');
    expect(afterRefusals.filter((x) => x.status === 'valid').map((x) => x.serial)).to.deep.equal([b.certificate!.serialHex]);
    // the successor is the device's current certificate: it renews in its own window
    const held = { certificate: b.certificate!, key: keys[1]! };
    intoWindow(held);
    const c = await renew(held, { key: keys[5]! });
    expect(c.status, c.failText).to.equal(PkiStatus.SUCCESS);
    expect((await rows('dev-once')).map((x) => [x.status, x.renewed_from])).to.deep.equal([
      ['superseded', null],
      ['superseded', a.certificate.serialHex],
      ['valid', b.certificate!.serialHex],
    ]);
  });

  it('a resent identical renewal (same transactionID and key) gets the same certificate back; another key under that transactionID is refused', async () => {
    const held = await enroll('dev-resend', keys[0]!);
    intoWindow(held);
    const req = await server.client.preparePkcsReq({
      cas,
      subject: name('dev-resend'),
      key: keys[1],
      messageType: MessageType.RenewalReq,
      signer: held,
      transactionId: 'resend-1',
    });
    const first = await server.client.submit(req);
    const again = await server.client.submit(req);
    expect([first.status, again.status]).to.deep.equal([PkiStatus.SUCCESS, PkiStatus.SUCCESS]);
    expect(again.certificate!.der.equals(first.certificate!.der)).to.equal(true);
    const otherKey = await renew(held, { key: keys[2]!, transactionId: 'resend-1' });
    expect(otherKey.status).to.equal(PkiStatus.FAILURE);
    expect((await rows('dev-resend')).map((x) => x.status)).to.deep.equal(['superseded', 'valid']);
  });

  it('certmonger without a challenge (PKCSReq signed by the current certificate, same key and transactionID) renews inside the window, once', async () => {
    const held = await enroll('dev-resubmit', keys[0]!);
    const enrolledTid = `renew-bounds-${n}`;
    const early = await renew(held, { key: keys[0]!, type: MessageType.PKCSReq, transactionId: enrolledTid });
    expect([early.status, early.failInfo]).to.deep.equal([PkiStatus.FAILURE, FailInfo.badRequest]);
    intoWindow(held);
    const req = await server.client.preparePkcsReq({ cas, subject: name('dev-resubmit'), key: keys[0], signer: held, transactionId: enrolledTid });
    const renewed = await server.client.submit(req);
    expect(renewed.status, renewed.failText).to.equal(PkiStatus.SUCCESS);
    expect(renewed.certificate!.serialHex).to.not.equal(held.certificate.serialHex);
    const resent = await server.client.submit(req);
    expect(resent.certificate!.serialHex).to.equal(renewed.certificate!.serialHex);
    expect((await rows('dev-resubmit')).map((x) => [x.status, x.renewed_from])).to.deep.equal([
      ['superseded', null],
      ['valid', held.certificate.serialHex],
    ]);
  });

  it('concurrent renewals of one certificate with different keys: exactly one wins (the database decides)', async () => {
    const held = await enroll('dev-race', keys[0]!);
    intoWindow(held);
    const results = await Promise.all([1, 2, 3, 4].map((i) => renew(held, { key: keys[i]!, type: i % 2 ? MessageType.RenewalReq : MessageType.PKCSReq })));
    expect(results.filter((r) => r.status === PkiStatus.SUCCESS)).to.have.length(1);
    expect(results.filter((r) => r.status === PkiStatus.FAILURE && r.failInfo === FailInfo.badCertId)).to.have.length(3);
    const all = await rows('dev-race');
    expect(all.map((x) => x.status)).to.deep.equal(['superseded', 'valid']);
  });

  it('revoked and expired certificates do not renew', async () => {
    const revoked = await enroll('dev-revoked', keys[0]!);
    await server.app.services.revocation.revoke(revoked.certificate.serialHex, { reason: 'keyCompromise', actor: TEST_ACTOR });
    intoWindow(revoked);
    const r1 = await renew(revoked, { key: keys[1]! });
    expect([r1.status, r1.failInfo, r1.failText]).to.deep.equal([PkiStatus.FAILURE, FailInfo.badCertId, 'the signing certificate is revoked']);
    clock.offsetMs = 0;
    const expired = await enroll('dev-expired', keys[0]!);
    intoWindow(expired, -1);
    const r2 = await renew(expired, { key: keys[1]!, type: MessageType.PKCSReq });
    expect([r2.status, r2.failInfo]).to.deep.equal([PkiStatus.FAILURE, FailInfo.badCertId]);
    expect((await rows('dev-revoked')).length + (await rows('dev-expired')).length).to.equal(2);
  });

  it('outside the window a PKCSReq with a valid challenge still replaces the certificate (signed by it or self-signed)', async () => {
    const held = await enroll('dev-rekey', keys[0]!);
    const noChallenge = await renew(held, { key: keys[1]!, type: MessageType.PKCSReq });
    expect([noChallenge.status, noChallenge.failInfo]).to.deep.equal([PkiStatus.FAILURE, FailInfo.badRequest]);
    const wrong = await renew(held, { key: keys[1]!, type: MessageType.PKCSReq, challenge: 'not-the-challenge' });
    expect(wrong.status).to.equal(PkiStatus.FAILURE);
    const replaced = await renew(held, { key: keys[1]!, type: MessageType.PKCSReq, challenge: TEST_CHALLENGE });
    expect(replaced.status, replaced.failText).to.equal(PkiStatus.SUCCESS);
    expect((await rows('dev-rekey')).map((x) => [x.status, x.renewed_from])).to.deep.equal([
      ['superseded', null],
      ['valid', null],
    ]);
  });

  it('SCEPTER_RENEWAL_WINDOW_DAYS is a validated setting (default 14)', () => {
    expect(loadConfig({}).renewalWindowDays).to.equal(14);
    expect(loadConfig({ SCEPTER_RENEWAL_WINDOW_DAYS: '30' }).renewalWindowDays).to.equal(30);
    for (const bad of ['0', '-3', '1.5', 'two weeks', '99999']) {
      expect(() => loadConfig({ SCEPTER_RENEWAL_WINDOW_DAYS: bad }), bad).to.throw(/^SCEPTER_RENEWAL_WINDOW_DAYS: /);
    }
  });
});

describe('security: renewal is bounded (ios-certs integration)', function () {
  this.timeout(120_000);
  let server: IntegrationServer;
  let integ: Awaited<ReturnType<typeof createIosCerts>>;
  let client: ScepClient;
  let cas: CaCertificates;
  let keys: KeyObject[];

  before(async () => {
    server = await startIntegrationServer({ SCEPTER_CERT_VALIDITY_DAYS: '30' });
    integ = await createIosCerts(server, 'renewal bounds');
    client = server.scepClient(integ.id);
    cas = await client.getCaCertificates();
    keys = await pooledKeys(4);
  });
  after(async () => server?.destroy());

  it("keeps the DN, not only the device id; only the device's latest certificate renews", async () => {
    const dn = (udid: string, extra: Name = []) => [...extra, { type: 'OU', value: integ.id }, { type: 'CN', value: udid }];
    const first = await client.enroll({ cas, subject: dn('UDID-B1'), challenge: await fetchChallenge(server, integ), key: keys[0], transactionId: 'ib-1' });
    expect(first.status).to.equal(PkiStatus.SUCCESS);
    const held = { certificate: first.certificate!, key: keys[0]! };
    let moved = 20 * DAY;
    server.clock.advance(moved);
    try {
      const renewal = (subject: Name, key: KeyObject, transactionId: string, signer = held) =>
        client.enroll({ cas, subject, key, messageType: MessageType.RenewalReq, signer, transactionId });
      const addsO = await renewal(dn('UDID-B1', [{ type: 'O', value: 'Scepter' }]), keys[1]!, 'ib-2');
      expect([addsO.status, addsO.failInfo]).to.deep.equal([PkiStatus.FAILURE, FailInfo.badRequest]);
      const otherDevice = await renewal(dn('UDID-B2'), keys[1]!, 'ib-3');
      expect(otherDevice.status).to.equal(PkiStatus.FAILURE);
      // the device enrolled again with a challenge: its first certificate is no longer its latest
      const second = await client.enroll({ cas, subject: dn('UDID-B1'), challenge: await fetchChallenge(server, integ), key: keys[2], transactionId: 'ib-4' });
      expect(second.status).to.equal(PkiStatus.SUCCESS);
      const stale = await renewal(dn('UDID-B1'), keys[1]!, 'ib-5');
      expect([stale.status, stale.failInfo]).to.deep.equal([PkiStatus.FAILURE, FailInfo.badCertId]);
      server.clock.advance(20 * DAY);
      moved += 20 * DAY;
      const current = await renewal(dn('UDID-B1'), keys[3]!, 'ib-6', { certificate: second.certificate!, key: keys[2]! });
      expect(current.status, current.failText).to.equal(PkiStatus.SUCCESS);
      const rows = await server.app.services.db.manager.query('SELECT status FROM certificates WHERE device_id = ? ORDER BY id', ['UDID-B1']);
      expect(rows.map((r: { status: string }) => r.status)).to.deep.equal(['superseded', 'superseded', 'valid']);
    } finally {
      server.clock.advance(-moved);
    }
  });
});

describe('security: renewal is bounded (PostgreSQL: concurrent transactions)', function () {
  this.timeout(120_000);
  const clock = new TestClock();
  let server: TestServer;
  let drop: (() => Promise<void>) | undefined;

  before(async () => {
    const pg = await createTestDatabase();
    drop = pg.drop;
    server = await startTestServer({ SCEPTER_DATABASE: pg.url }, undefined, { clock });
  });
  after(async () => {
    await server?.destroy();
    await drop?.();
  });

  it('of four concurrent renewals of one certificate, exactly one wins; the loser gets badCertId', async () => {
    const cas = await server.client.getCaCertificates();
    const keys = await pooledKeys(5);
    const subject = [{ type: 'CN', value: 'pg-race' }];
    const first = await server.client.enroll({ cas, subject, challenge: TEST_CHALLENGE, key: keys[0], transactionId: 'pg-race-0' });
    const held = { certificate: first.certificate!, key: keys[0] };
    clock.offsetMs = held.certificate.notAfter.getTime() - 3 * DAY - Date.now();
    const results = await Promise.all(
      [1, 2, 3, 4].map((i) =>
        server.client.enroll({ cas, subject, key: keys[i], messageType: MessageType.RenewalReq, signer: held, transactionId: `pg-race-${i}` }),
      ),
    );
    expect(results.filter((r) => r.status === PkiStatus.SUCCESS)).to.have.length(1);
    expect(results.filter((r) => r.failInfo === FailInfo.badCertId)).to.have.length(3);
    const rows = await server.app.services.db.manager.query('SELECT status, renewed_from FROM certificates WHERE subject = $1 ORDER BY id', ['CN=pg-race']);
    expect(rows).to.deep.equal([
      { status: 'superseded', renewed_from: null },
      { status: 'valid', renewed_from: held.certificate.serialHex },
    ]);
  });
});
