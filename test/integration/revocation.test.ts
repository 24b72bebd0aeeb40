import { expect } from 'chai';
import fs from 'node:fs';
import { derSequence } from '../../src/pki/der-writer';
import { startTestServer, TestServer } from '../support/test-server';
import { pooledKeys } from '../support/keys';
import { NotFoundError, BadRequestError } from '../../src/shared/errors';
import { OID } from '../../src/pki/oids';
import { contentCipherByOid } from '../../src/pki/content-cipher';
import { MessageType, PkiStatus } from '../../src/scep/scep.types';
import { buildPkiMessage, openCertRep } from '../../src/scep/client/scep-client.codec';
import { crlText, fetchCrl, issue, Issued, ocspQuery, ossl, scratch, TEST_ACTOR } from './revocation-support';

const MALFORMED = Buffer.from('30030a0101', 'hex');
const UNAUTHORIZED = Buffer.from('30030a0106', 'hex');

describe('revocation: CRL, OCSP and SCEP GetCRL (real server, openssl)', function () {
  let server: TestServer;
  const files = scratch();
  let good: Issued;
  let revoked: Issued;
  let revokedAt: Date;

  before(async () => {
    server = await startTestServer();
    const keys = await pooledKeys(2);
    good = await issue(server, files.dir, 'rv-good', keys[0]);
    revoked = await issue(server, files.dir, 'rv-revoked', keys[1]);
    // as an admin types it: lowercase, with colons
    const typed = revoked.cert.serialHex.toLowerCase().match(/../g)!.join(':');
    const r = await server.app.services.revocation.revoke(typed, { reason: 'key-compromise', actor: TEST_ACTOR });
    expect(r).to.include({ serial: revoked.cert.serialHex, revoked: true, reason: 'keyCompromise' });
    revokedAt = r.revokedAt;
  });
  after(async () => server.destroy());

  it('puts the CRL distribution point and the OCSP URL into every new certificate', async () => {
    const r = await ossl(['x509', '-in', good.pem, '-noout', '-text']);
    expect(r.out).to.match(new RegExp(`X509v3 CRL Distribution Points:\\s+Full Name:\\s+URI:${server.url}/crl/ca.crl`));
    expect(r.out).to.match(new RegExp(`Authority Information Access:\\s+OCSP - URI:${server.url}/ocsp`));
  });

  it('serves a signed v2 CRL listing the revoked certificate with its reason and date', async () => {
    const text = await crlText(server, files.dir, await fetchCrl(server));
    expect(text).to.contain('Version 2 (0x1)');
    expect(text).to.match(/X509v3 CRL Number:\s+\d+/);
    expect(text).to.contain('X509v3 Authority Key Identifier');
    expect(text).to.match(
      new RegExp(`Serial Number: ${revoked.cert.serialHex}\\s+Revocation Date: [^\\n]+\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code:\\s+Key Compromise`),
    );
    expect(text).to.not.contain(good.cert.serialHex);
    const next = /Next Update: (.+)/.exec(text)![1]!;
    const last = /Last Update: (.+)/.exec(text)![1]!;
    expect(Date.parse(next) - Date.parse(last)).to.equal(24 * 3_600_000);
  });

  it('makes `openssl verify -crl_check` refuse the revoked certificate and accept the valid one', async () => {
    const crl = files.file('verify.crl.der', await fetchCrl(server));
    const pem = files.file('verify.crl.pem');
    expect((await ossl(['crl', '-inform', 'DER', '-in', crl, '-out', pem])).code).to.equal(0);
    const bad = await ossl(['verify', '-crl_check', '-CAfile', server.caPemFile, '-CRLfile', pem, revoked.pem]);
    expect(bad.code).to.not.equal(0);
    expect(bad.out).to.contain('certificate revoked');
    const ok = await ossl(['verify', '-crl_check', '-CAfile', server.caPemFile, '-CRLfile', pem, good.pem]);
    expect(ok.out).to.contain(': OK');
  });

  it('answers the CRL as DER with caching headers, a 304 on revalidation, and on /crl too', async () => {
    const res = await fetch(`${server.url}/crl/ca.crl`);
    expect(res.headers.get('content-type')).to.equal('application/pkix-crl');
    const maxAge = Number(/max-age=(\d+)/.exec(res.headers.get('cache-control') ?? '')?.[1]);
    expect(maxAge).to.be.within(24 * 3600 - 120, 24 * 3600);
    const etag = res.headers.get('etag')!;
    expect(etag).to.match(/^"[0-9a-f]+-\d+"$/);
    expect(res.headers.get('last-modified')).to.be.a('string');
    const body = Buffer.from(await res.arrayBuffer());
    expect((await fetch(`${server.url}/crl/ca.crl`, { headers: { 'If-None-Match': etag } })).status).to.equal(304);
    expect((await fetch(`${server.url}/crl/ca.crl`, { headers: { 'If-Modified-Since': res.headers.get('last-modified')! } })).status).to.equal(304);
    expect((await fetch(`${server.url}/crl/ca.crl`, { headers: { 'If-None-Match': '"other"' } })).status).to.equal(200);
    const alias = await fetch(`${server.url}/crl`);
    expect(Buffer.from(await alias.arrayBuffer()).equals(body)).to.equal(true);
  });

  it('OCSP over POST: openssl reports revoked with time and reason, good for the valid one; nonce echoed', async () => {
    const r = await ocspQuery(server, [revoked.pem, good.pem]);
    expect(r.code, r.out).to.equal(0);
    expect(r.out).to.contain('Response verify OK');
    expect(r.out).to.not.contain('WARNING'); // e.g. "no nonce in response"
    expect(r.out).to.match(new RegExp(`${revoked.pem}: revoked\\s+This Update: [^\\n]+\\s+Reason: keyCompromise\\s+Revocation Time: `));
    expect(r.out).to.contain(`${good.pem}: good`);
    const when = /Revocation Time: (.+)/.exec(r.out)![1]!;
    expect(Math.abs(Date.parse(when) - revokedAt.getTime())).to.be.below(1000);
  });

  it('signs with the delegated responder (id-kp-OCSPSigning, ocsp-nocheck) that the CA issued', async () => {
    const r = await ocspQuery(server, [good.pem], ['-resp_text']);
    expect(r.out).to.contain('Response verify OK');
    expect(r.out).to.contain('Responder Id: ');
    expect(r.out).to.contain('OCSP Responder');
    expect(r.out).to.contain('OCSP Signing');
    expect(r.out).to.contain('OCSP No Check');
  });

  it('OCSP over GET with the URL-encoded base64 request', async () => {
    const req = files.file('get.req');
    await ossl(['ocsp', '-issuer', server.caPemFile, '-cert', revoked.pem, '-no_nonce', '-reqout', req]);
    const b64 = fs.readFileSync(req).toString('base64');
    for (const path of [encodeURIComponent(b64), b64]) {
      const res = await fetch(`${server.url}/ocsp/${path}`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('application/ocsp-response');
      const resp = files.file('get.resp', Buffer.from(await res.arrayBuffer()));
      const r = await ossl(['ocsp', '-respin', resp, '-issuer', server.caPemFile, '-cert', revoked.pem, '-CAfile', server.caPemFile, '-no_nonce']);
      expect(r.out).to.contain('Response verify OK');
      expect(r.out).to.contain(': revoked');
    }
  });

  it('answers unknown for a serial this CA never issued', async () => {
    const r = await ossl(['ocsp', '-issuer', server.caPemFile, '-serial', '0x0102030405060708', '-url', `${server.url}/ocsp`, '-CAfile', server.caPemFile]);
    expect(r.out).to.contain('Response verify OK');
    expect(r.out).to.contain('0x0102030405060708: unknown');
  });

  it('answers malformedRequest (HTTP 200, application/ocsp-response) to bad input, never a 500', async () => {
    const post = (body: Buffer) =>
      fetch(`${server.url}/ocsp`, { method: 'POST', body: new Uint8Array(body), headers: { 'Content-Type': 'application/ocsp-request' } });
    const answers = [
      await post(Buffer.from('not der at all')),
      await post(Buffer.alloc(0)),
      await post(Buffer.from('3003020101', 'hex')),
      await post(Buffer.alloc(64 * 1024, 0x30)), // over the body limit
      await fetch(`${server.url}/ocsp/%%%`),
      await fetch(`${server.url}/ocsp/bm90IGRlcg%3D%3D`),
      await fetch(`${server.url}/ocsp`),
    ];
    for (const res of answers) {
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('application/ocsp-response');
      expect(Buffer.from(await res.arrayBuffer()).equals(MALFORMED)).to.equal(true);
    }
    const r = await ossl(['ocsp', '-respin', files.file('bad.resp', MALFORMED), '-resp_text', '-noverify']);
    expect(r.out).to.contain('malformedrequest');
  });

  describe('a request about another CA', () => {
    before(async () => {
      const d = files.dir;
      await ossl(
        ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other-ca.key', '-out', 'other-ca.pem', '-subj', '/CN=Other CA', '-days', '2'],
        d,
      );
      await ossl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other-leaf.key', '-subj', '/CN=other', '-out', 'other-leaf.csr'], d);
      // same serial as our revoked certificate: only the issuer hashes tell them apart
      await ossl(
        [
          'x509',
          '-req',
          '-in',
          'other-leaf.csr',
          '-CA',
          'other-ca.pem',
          '-CAkey',
          'other-ca.key',
          '-set_serial',
          `0x${revoked.cert.serialHex}`,
          '-days',
          '1',
          '-out',
          'other-leaf.pem',
        ],
        d,
      );
    });

    it('is unauthorized when it asks only about that CA', async () => {
      const r = await ossl(['ocsp', '-issuer', files.file('other-ca.pem'), '-cert', files.file('other-leaf.pem'), '-url', `${server.url}/ocsp`, '-noverify']);
      expect(r.out).to.match(/Responder Error: unauthorized \(6\)/);
      const raw = await ossl([
        'ocsp',
        '-issuer',
        files.file('other-ca.pem'),
        '-cert',
        files.file('other-leaf.pem'),
        '-no_nonce',
        '-reqout',
        files.file('other.req'),
      ]);
      expect(raw.code).to.equal(0);
      const res = await fetch(`${server.url}/ocsp`, {
        method: 'POST',
        body: new Uint8Array(fs.readFileSync(files.file('other.req'))),
        headers: { 'Content-Type': 'application/ocsp-request' },
      });
      expect(Buffer.from(await res.arrayBuffer()).equals(UNAUTHORIZED)).to.equal(true);
    });

    it('gets unknown for that certificate in a request that also asks about ours', async () => {
      const r = await ossl([
        'ocsp',
        '-issuer',
        files.file('other-ca.pem'),
        '-cert',
        files.file('other-leaf.pem'),
        // -noverify: openssl accepts a responder only when it is authorised for every CertID in the
        // response, which no responder can be for two CAs; the signature is checked in the tests above
        '-issuer',
        server.caPemFile,
        '-cert',
        good.pem,
        '-url',
        `${server.url}/ocsp`,
        '-noverify',
      ]);
      expect(r.out).to.contain(`${files.file('other-leaf.pem')}: unknown`);
      expect(r.out).to.contain(`${good.pem}: good`);
    });
  });

  it('SCEP GetCRL answers a CertRep carrying the current CRL', async () => {
    const cas = await server.client.getCaCertificates();
    const ias = derSequence(cas.ca.subjectDer, good.cert.serialDer);
    const m = await buildPkiMessage({
      messageType: MessageType.GetCRL,
      messageData: new Uint8Array(ias),
      recipient: cas.recipient,
      cipher: contentCipherByOid(OID.aes128Cbc)!,
      digest: 'sha256',
      signerCert: good.cert,
      signerKey: good.key,
    });
    const res = await server.client.send(m.der);
    const rep = await openCertRep(Buffer.from(await res.arrayBuffer()), { certificate: good.cert, key: good.key });
    expect(rep.message.pkiStatus).to.equal(PkiStatus.SUCCESS);
    expect(rep.signatureValid).to.equal(true);
    expect(rep.crls).to.have.length(1);
    expect(rep.crls[0]!.equals(await fetchCrl(server))).to.equal(true);
    expect(await crlText(server, files.dir, rep.crls[0]!)).to.contain(revoked.cert.serialHex);
  });

  describe('revoking', () => {
    it('twice is harmless: the first time and reason stay', async () => {
      const again = await server.app.services.revocation.revoke(revoked.cert.serialHex, { reason: 'superseded', actor: TEST_ACTOR });
      expect(again).to.deep.include({ revoked: false, reason: 'keyCompromise' });
      expect(again.revokedAt.getTime()).to.equal(revokedAt.getTime());
    });

    it('an unknown serial is a NotFoundError saying so', async () => {
      const err = await server.app.services.revocation.revoke('0A:0B:0C', { actor: TEST_ACTOR }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(NotFoundError);
      expect((err as Error).message).to.equal('no certificate with serial 0A0B0C was issued by this CA');
    });

    it('refuses a non-hex serial, an unknown reason and removeFromCRL', async () => {
      for (const [serial, reason] of [
        ['xyz', undefined],
        [good.cert.serialHex, 'because'],
        [good.cert.serialHex, 'removeFromCRL'],
      ]) {
        const err = await server.app.services.revocation.revoke(serial!, { reason, actor: TEST_ACTOR }).catch((e: unknown) => e);
        expect(err, `${serial} ${reason}`).to.be.instanceOf(BadRequestError);
      }
    });

    it('records the revocation in the audit log', async () => {
      const entries = await server.app.services.audit.list({ action: 'certificate.revoke' });
      expect(entries.map((e) => e.target)).to.include(revoked.cert.serialHex);
    });
  });
});
