import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestServer, TestServer } from '../support/test-server';
import { loadConfig } from '../../src/config/config';
import { buildServices, Services } from '../../src/main';
import { loadOrCreateOcspSigner, OCSP_SIGNER_FILE } from '../../src/ca/ocsp-signer-material';
import { crlText, fetchCrl, issue, ocspQuery, ossl, scratch, TEST_ACTOR, within } from './revocation-support';

const HOUR = 3_600_000;

describe('revocation: publication across instances and over time', function () {
  const files = scratch();

  describe('two instances on one database', () => {
    let a: TestServer;
    let b: TestServer;
    before(async () => {
      a = await startTestServer();
      b = await startTestServer({}, a.dir); // same SQLite file and CA directory
    });
    after(async () => {
      await b.stop();
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

    async function insertCertificate(serial: string, notAfter: Date, revoked: boolean): Promise<void> {
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
      const listed = async () =>
        crlText({ caPemFile: path.join(dir, 'certs', 'ca.cert.pem') } as TestServer, files.dir, (await services.revocationView.crl()).der);
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
  });
});
