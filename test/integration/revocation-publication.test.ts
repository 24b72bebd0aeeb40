import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freeTcpPort, startTestServer, TestServer } from '../support/test-server';
import { ServerProcess, startServerProcess } from '../support/server-process';
import { loadConfig } from '../../src/config/config';
import { buildServices, Services } from '../../src/main';
import { loadOrCreateOcspSigner, OCSP_SIGNER_FILE } from '../../src/ca/ocsp-signer-material';
import { TestClock } from './integrations-support';
import { ParsedCertificate } from '../../src/pki/certificate';
import { pemDecode } from '../../src/pki/der';
import { crlText, fetchCrl, issue, ocspQuery, ossl, scratch, TEST_ACTOR, within } from './revocation-support';

const HOUR = 3_600_000;

describe('revocation: publication across instances and over time', function () {
  const files = scratch();

  describe('two instances on one database', () => {
    let a: TestServer;
    let bProcess: ServerProcess | undefined;
    let b: { url: string; caPemFile: string };
    // b is its own process, as a second instance is in production: two instances in one process
    // would share libuv's thread pool, where b's sqlite3 calls waiting out a's write lock can take
    // every thread and leave a no thread to finish the transaction that holds the lock
    before(async () => {
      a = await startTestServer();
      const port = await freeTcpPort();
      const url = `http://127.0.0.1:${port}`;
      bProcess = await startServerProcess({ ...a.env, SCEPTER_HTTP_PORT: String(port), SCEPTER_PUBLIC_URL: url, SCEPTER_LOG_LEVEL: 'warn' });
      b = { url, caPemFile: a.caPemFile }; // same SQLite file and CA directory
    });
    after(async () => {
      await bProcess?.kill();
      await a.destroy();
    });

    it('serve the same CRL, whose number only goes up, and the same OCSP answers within a second', async () => {
      const leaf = await issue(a, files.dir, 'two-instances');
      const before = await fetchCrl(b);
      const numberOf = async (der: Buffer) => Number(/X509v3 CRL Number:\s+(\d+)/.exec(await crlText(a, files.dir, der))![1]);
      const n0 = await numberOf(before);
      await a.app.services.revocation.revoke(leaf.cert.serialHex, { reason: 'superseded', actor: TEST_ACTOR });
      await within(1000, 'instance b says revoked', async () => (await ocspQuery(b, [leaf.pem])).out.includes(': revoked'));
      await within(1000, 'instance b serves the new CRL', async () => (await fetchCrl(b)).equals(await fetchCrl(a)) && !(await fetchCrl(b)).equals(before));
      const n1 = await numberOf(await fetchCrl(b));
      expect(n1).to.be.greaterThan(n0);
      expect(await crlText(b, files.dir, await fetchCrl(b))).to.contain(leaf.cert.serialHex);
    });
  });

  describe('with SCEPTER_OCSP_DELEGATED=off', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ SCEPTER_OCSP_DELEGATED: 'off' });
    });
    after(async () => server.destroy());

    it('the CA signs OCSP responses itself and no responder certificate is created', async () => {
      const leaf = await issue(server, files.dir, 'ca-signed');
      const r = await ocspQuery(server, [leaf.pem], ['-resp_text']);
      expect(r.out).to.contain('Response verify OK');
      expect(r.out).to.contain(`${leaf.pem}: good`);
      expect(r.out).to.not.contain('OCSP Responder');
      const ski = (await ossl(['x509', '-in', server.caPemFile, '-noout', '-ext', 'subjectKeyIdentifier'])).out.split('\n')[1]!.trim().replace(/:/g, '');
      expect(r.out).to.contain(`Responder Id: ${ski}`);
      expect(fs.existsSync(path.join(server.dir, 'certs', OCSP_SIGNER_FILE))).to.equal(false);
    });
  });

  describe('with SCEPTER_OCSP_KEY=ec', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ SCEPTER_OCSP_KEY: 'ec' });
    });
    after(async () => server.destroy());

    it('the delegated responder signs with ECDSA P-256, and openssl verifies it', async () => {
      const leaf = await issue(server, files.dir, 'ec-signed');
      const r = await ocspQuery(server, [leaf.pem], ['-resp_text']);
      expect(r.out).to.contain('Response verify OK');
      expect(r.out).to.contain('ecdsa-with-SHA256');
      expect(r.out).to.contain('ASN1 OID: prime256v1');
    });
  });

  describe('the delegated responder certificate renews itself at its margin (test clock)', () => {
    let server: TestServer;
    const clock = new TestClock();
    const DAY = 24 * HOUR;
    before(async () => {
      // responder certificates last 30 days; renewed once 5 days or less are left
      server = await startTestServer({ SCEPTER_OCSP_RENEW_BEFORE_DAYS: '5' }, undefined, { clock });
    });
    after(async () => server.destroy());

    const signerFile = () => path.join(server.dir, 'certs', OCSP_SIGNER_FILE);
    const signerOnDisk = () => ParsedCertificate.fromDer(pemDecode(fs.readFileSync(signerFile(), 'utf8'), 'CERTIFICATE'));
    /** one OCSP answer (openssl, verified at the server's time); the responder certificate it carries */
    async function answer(leaf: string, name: string): Promise<{ out: string; body: Buffer }> {
      const resp = files.file(`${name}.resp`);
      // the view's last poll is stamped with the clock: one at the moved time, or the responder answers tryLater
      await server.app.services.revocationView.sync();
      const at = String(Math.floor(clock.now().getTime() / 1000));
      const r = await ocspQuery(server, [leaf], ['-respout', resp, '-attime', at, '-validity_period', String(40 * 86_400)]);
      return { out: r.out, body: fs.readFileSync(resp) };
    }

    it('answers with the same responder certificate inside its validity, and with a new one once within the margin', async () => {
      const leaf = await issue(server, files.dir, 'responder-renewal');
      const first = signerOnDisk();
      const a = await answer(leaf.pem, 'day0');
      expect(a.out).to.contain('Response verify OK');
      expect(a.body.includes(first.der)).to.equal(true);

      clock.advance(24 * DAY); // 6 days left: outside the 5-day margin
      const b = await answer(leaf.pem, 'day24');
      expect(b.body.includes(first.der)).to.equal(true);
      expect(signerOnDisk().serialHex).to.equal(first.serialHex);

      clock.advance(2 * DAY); // 4 days left: the next answer starts the renewal, the answers after it carry the new certificate
      await answer(leaf.pem, 'day26-trigger');
      await within(10_000, 'a new responder certificate on disk', async () => signerOnDisk().serialHex !== first.serialHex);
      const renewed = signerOnDisk();
      expect(renewed.notAfter.getTime() - clock.now().getTime()).to.be.greaterThan(29 * DAY);
      const c = await answer(leaf.pem, 'day26');
      expect(c.out).to.contain('Response verify OK');
      expect(c.out).to.contain(`${leaf.pem}: good`);
      expect(c.body.includes(renewed.der)).to.equal(true);
      expect(c.body.includes(first.der)).to.equal(false);
      // the new responder certificate is one the CA knows it issued: OCSP about it answers "good", not "unknown"
      const own = files.file('renewed-responder.pem', fs.readFileSync(signerFile(), 'utf8').replace(/[\s\S]*?(-----BEGIN CERTIFICATE-----)/, '$1'));
      expect((await answer(own, 'responder-itself')).out).to.contain(`${own}: good`);
    });
  });

  describe('answers to requests without a nonce', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer();
    });
    after(async () => server.destroy());

    it('are reused until a revocation is seen', async () => {
      const leaf = await issue(server, files.dir, 'no-nonce');
      const req = files.file('no-nonce.req');
      expect((await ossl(['ocsp', '-issuer', server.caPemFile, '-cert', leaf.pem, '-no_nonce', '-reqout', req])).code).to.equal(0);
      const ask = async () =>
        Buffer.from(await (await fetch(`${server.url}/ocsp`, { method: 'POST', body: new Uint8Array(fs.readFileSync(req)) })).arrayBuffer());
      const first = await ask();
      await new Promise((r) => setTimeout(r, 1100)); // a second later: a fresh signature would differ in producedAt
      expect((await ask()).equals(first)).to.equal(true);
      await server.app.services.revocation.revoke(leaf.cert.serialHex, { reason: 'keyCompromise', actor: TEST_ACTOR });
      const after = files.file('no-nonce.resp', await ask());
      const r = await ossl(['ocsp', '-respin', after, '-issuer', server.caPemFile, '-cert', leaf.pem, '-CAfile', server.caPemFile, '-no_nonce']);
      expect(r.out).to.contain('Response verify OK');
      expect(r.out).to.contain(`${leaf.pem}: revoked`);
    });
  });

  describe('over time (fake clock, no HTTP)', () => {
    let services: Services;
    let t = Date.now();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scepter-crl-clock-'));

    before(async () => {
      const config = loadConfig({
        SCEPTER_DATABASE: path.join(dir, 'db.sqlite'),
        SCEPTER_CERTS_DIR: path.join(dir, 'certs'),
        SCEPTER_CA_KEY_BITS: '2048',
        SCEPTER_LOG_LEVEL: 'silent',
        SCEPTER_CRL_VALIDITY_HOURS: '10',
      });
      services = await buildServices(config, { clock: { now: () => new Date(t) } });
    });
    after(async () => {
      await services.db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    async function insertCertificate(serial: string, notAfter: Date, revoked: boolean, caGeneration = 1): Promise<void> {
      const repo = services.db.manager.getRepository('Certificate');
      await repo.insert({
        serial,
        subject: `CN=${serial}`,
        fingerprintSha256: serial.padEnd(64, '0'),
        publicKeyHash: serial.padEnd(64, '0'),
        notBefore: new Date(t - 86_400_000),
        notAfter,
        der: Buffer.from([0x30, 0x00]),
        transactionId: null,
        endpointId: 'test',
        integrationId: null,
        deviceId: null,
        status: 'valid',
        caGeneration,
        createdAt: new Date(t),
      });
      if (revoked) await services.revocation.revoke(serial, { reason: 'keyCompromise', actor: TEST_ACTOR });
    }

    it('republishes at half its validity when nothing changes, with a larger CRL number', async () => {
      const view = services.revocationView;
      await view.sync();
      const first = view.publisher.current!;
      expect(first.nextUpdate.getTime() - first.thisUpdate.getTime()).to.equal(10 * HOUR);
      t += 4 * HOUR;
      await view.sync();
      expect(view.publisher.current!.crlNumber).to.equal(first.crlNumber);
      t += 1.5 * HOUR;
      await view.sync();
      const second = view.publisher.current!;
      expect(second.crlNumber).to.equal(first.crlNumber + 1n);
      expect(second.thisUpdate.getTime()).to.be.greaterThan(first.thisUpdate.getTime());
      expect(second.nextUpdate.getTime()).to.be.lessThan(first.nextUpdate.getTime() + 10 * HOUR);
    });

    it('leaves expired revoked certificates off the CRL, while OCSP still says revoked', async () => {
      await insertCertificate('7A01', new Date(t + 2 * HOUR), true);
      await insertCertificate('7A02', new Date(t + 100 * HOUR), true);
      const listed = async () => crlText({ caPemFile: path.join(dir, 'certs', 'ca.cert.pem') }, files.dir, (await services.revocationView.crl()).der);
      expect(await listed()).to.contain('7A01');
      t += 6 * HOUR; // 7A01 expired, and the CRL is due again
      await services.revocationView.sync();
      const text = await listed();
      expect(text).to.not.contain('Serial Number: 7A01');
      expect(text).to.contain('Serial Number: 7A02');
      const status = await services.revocationView.status('7A01');
      expect(status.status).to.have.property('reason', 'keyCompromise');
    });

    it('renews the delegated OCSP signer once two thirds of its validity have passed', async () => {
      const ca = services.authority.material.ca;
      const o = { dir: path.join(dir, 'certs'), commonName: 'Scepter Device CA', validityDays: 30 };
      const current = await loadOrCreateOcspSigner(ca, o, new Date(t));
      expect((await loadOrCreateOcspSigner(ca, o, new Date(t + 15 * 24 * HOUR))).certificate.serialHex).to.equal(current.certificate.serialHex);
      const renewed = await loadOrCreateOcspSigner(ca, o, new Date(t + 21 * 24 * HOUR));
      expect(renewed.certificate.serialHex).to.not.equal(current.certificate.serialHex);
      expect(renewed.certificate.notAfter.getTime()).to.be.greaterThan(current.certificate.notAfter.getTime());
    });

    it('an older CA republishes its CRL while a certificate it issued is unexpired, and stops once the last one has expired', async () => {
      const view = services.revocationView;
      t += 200 * HOUR; // every certificate the earlier tests recorded has expired
      await view.sync();
      // the last certificate of the first CA expires 8 hours from now
      await insertCertificate('7B01', new Date(t + 8 * HOUR), false);
      const { generation: g2 } = await services.caGenerations.rollover([...services.authority.all], { activateAt: new Date(t) });
      services.authority.addGeneration(g2);
      await services.publishGeneration(g2);
      expect(services.authority.current(new Date(t)).generation).to.equal(2);
      await view.sync();
      await view.sync(); // the second pass sees the last-expiry times the first one asked for
      const number = (generation: number) => view.publisherOf(generation)!.current!.crlNumber;
      const first = { g1: number(1), g2: number(2) };
      t += 5.5 * HOUR; // past half the CRL validity, the certificate still valid: both republish
      await view.sync();
      expect([number(1), number(2)]).to.deep.equal([first.g1 + 1n, first.g2 + 1n]);
      t += 5.5 * HOUR; // the first CA's last certificate has expired: only the new CA republishes
      await view.sync();
      await view.sync();
      expect([number(1), number(2)]).to.deep.equal([first.g1 + 1n, first.g2 + 2n]);
      t += 20 * HOUR;
      await view.sync();
      expect(number(1)).to.equal(first.g1 + 1n);
      expect(number(2)).to.equal(first.g2 + 3n);
    });
  });
});
