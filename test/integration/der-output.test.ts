import { expect } from 'chai';
import fs from 'node:fs';
import { createPrivateKey, KeyObject, randomBytes } from 'node:crypto';
import { startTestServer, TestServer, TEST_CHALLENGE } from '../support/test-server';
import { pooledKeys } from '../support/keys';
import { assertStrictDer } from '../support/strict-der';
import { ParsedCertificate } from '../../src/pki/certificate';
import { decryptEnvelopedData } from '../../src/pki/cms-enveloped-data';
import { RsaKeyTransport } from '../../src/pki/rsa-key-transport';
import { derOid, derSequence } from '../../src/pki/der-writer';
import { OID } from '../../src/pki/oids';
import { contentCipherByOid } from '../../src/pki/content-cipher';
import { decodePkiMessage } from '../../src/scep/pki-message.codec';
import { MessageType, PkiStatus } from '../../src/scep/scep.types';
import { buildPkiMessage } from '../../src/scep/client/scep-client.codec';
import { buildCsr } from '../../src/pki/csr.builder';
import { buildEnvelopedData } from '../../src/pki/cms-enveloped-data';
import { attribute, buildSignedData, parseSignedData } from '../../src/pki/cms-signed-data';
import { derOctetString, tlv } from '../../src/pki/der-writer';
import { selfSignedFor } from '../../src/scep/client/scep-client';
import { toBer } from '../support/ber';
import { fixturePath, readFixture } from '../support/fixtures';
import { makeTempDir } from '../support/proc';
import { issue, Issued, ossl, scratch, TEST_ACTOR } from './revocation-support';

/**
 * Everything the real server emits, captured over HTTP and checked with the strict DER validator
 * (test/support/strict-der.ts): CertRep SUCCESS and FAILURE with the enveloped degenerate
 * SignedData inside, GetCACert (CA only and the RA bundle), GetCRL, the CRL, OCSP answers of every
 * kind, GetNextCACert after a rollover, and every certificate the CA made or issued. The server
 * never answers PENDING, so there is nothing of that kind to capture.
 */
describe('DER output: every kind of message the server emits is strict DER', function () {
  this.timeout(180_000);
  const files = scratch();

  /** The CertRep itself, its envelope, the degenerate SignedData inside and each certificate in it. */
  function checkCertRep(body: Buffer, requester: { certificate: ParsedCertificate; key: KeyObject }, what: string) {
    assertStrictDer(body, `${what} CertRep`);
    const msg = decodePkiMessage(body);
    for (const c of parseCertsOf(body)) assertStrictDer(c, `${what} CertRep certificate`);
    if (!msg.envelope) return { msg, inner: undefined };
    assertStrictDer(msg.envelope, `${what} EnvelopedData`);
    const { content } = decryptEnvelopedData(msg.envelope, [requester], new RsaKeyTransport(randomBytes(32)));
    assertStrictDer(content, `${what} degenerate SignedData`);
    return { msg, inner: content };
  }

  /** Certificates of a SignedData's [0] field, as raw TLVs (the validator has already checked the outer bytes). */
  function parseCertsOf(signedDataCi: Buffer): Buffer[] {
    const ci = assertStrictDer(signedDataCi);
    const sd = ci.children![1]!.children![0]!;
    const certs = sd.children!.find((c, i) => i >= 3 && c.tag === 0xa0);
    return (certs?.children ?? []).map((c) => Buffer.from(c.raw));
  }

  function crlsOf(signedDataCi: Buffer): Buffer[] {
    const sd = assertStrictDer(signedDataCi).children![1]!.children![0]!;
    const crls = sd.children!.find((c, i) => i >= 3 && c.tag === 0xa1);
    return (crls?.children ?? []).map((c) => Buffer.from(c.raw));
  }

  for (const ra of [false, true]) {
    describe(ra ? 'with the split RA pair' : 'CA only', () => {
      let server: TestServer;
      let device: Issued;
      let transactionId: string;
      before(async () => {
        server = await startTestServer(ra ? { SCEPTER_RA: 'on' } : {});
      });
      after(async () => server?.destroy());

      it('GetCACert', async () => {
        const res = await fetch(`${server.scepUrl}?operation=GetCACert`);
        const body = Buffer.from(await res.arrayBuffer());
        assertStrictDer(body, 'GetCACert');
        if (ra) {
          expect(res.headers.get('content-type')).to.equal('application/x-x509-ca-ra-cert');
          const certs = parseCertsOf(body);
          expect(certs).to.have.length(3);
          for (const c of certs) assertStrictDer(c, 'GetCACert bundle certificate');
        } else {
          expect(res.headers.get('content-type')).to.equal('application/x-x509-ca-cert');
          const pem = fs.readFileSync(server.caPemFile, 'utf8');
          expect(body.equals(Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64'))).to.equal(true);
        }
      });

      it('CertRep SUCCESS (PKCSReq), the envelope, the degenerate SignedData and the issued certificate', async () => {
        const [key] = await pooledKeys(1);
        const cas = await server.client.getCaCertificates();
        const req = await server.client.preparePkcsReq({
          cas,
          subject: [
            { type: 'CN', value: `der-${ra}` },
            { type: 'O', value: 'Scepter DER' },
          ],
          challenge: TEST_CHALLENGE,
          key,
        });
        const body = Buffer.from(await (await server.client.send(req.der)).arrayBuffer());
        const { msg, inner } = checkCertRep(body, req.requester, 'PKCSReq');
        expect(msg.pkiStatus).to.equal(PkiStatus.SUCCESS);
        const issued = parseCertsOf(inner!);
        expect(issued).to.have.length(1);
        assertStrictDer(issued[0]!, 'issued certificate');
        const cert = ParsedCertificate.fromDer(issued[0]!);
        device = { cert, key: req.requester.key, pem: files.file(`der-${ra}.pem`, cert.der) };
        transactionId = req.transactionId;
      });

      it('CertRep SUCCESS for GetCert and CertPoll', async () => {
        const cas = await server.client.getCaCertificates();
        const signer = { certificate: device.cert, key: device.key };
        const ias = derSequence(cas.ca.subjectDer, device.cert.serialDer);
        const ians = derSequence(cas.ca.subjectDer, device.cert.subjectDer);
        for (const [messageType, data] of [
          [MessageType.GetCert, ias],
          [MessageType.CertPoll, ians],
        ] as const) {
          const m = await buildPkiMessage({
            messageType,
            messageData: data,
            recipient: cas.recipient,
            cipher: contentCipherByOid(OID.aes128Cbc)!,
            digest: 'sha256',
            signerCert: device.cert,
            signerKey: device.key,
            transactionId,
          });
          const body = Buffer.from(await (await server.client.send(m.der)).arrayBuffer());
          const { msg, inner } = checkCertRep(body, signer, MessageType[messageType]);
          expect(msg.pkiStatus, `${MessageType[messageType]}: ${msg.failInfoText}`).to.equal(PkiStatus.SUCCESS);
          expect(parseCertsOf(inner!)[0]!.equals(device.cert.der)).to.equal(true);
        }
      });

      it('CertRep FAILURE (wrong challenge) with failInfo and failInfoText', async () => {
        const key = (await pooledKeys(2))[1];
        const cas = await server.client.getCaCertificates();
        const req = await server.client.preparePkcsReq({ cas, subject: [{ type: 'CN', value: 'der-refused' }], challenge: 'wrong', key });
        const body = Buffer.from(await (await server.client.send(req.der)).arrayBuffer());
        const { msg } = checkCertRep(body, req.requester, 'FAILURE');
        expect(msg.pkiStatus).to.equal(PkiStatus.FAILURE);
        expect(msg.failInfoText).to.be.a('string');
      });

      it('GetCRL CertRep, the CRL inside it and the CRL over HTTP', async () => {
        await server.app.services.revocation.revoke(device.cert.serialHex, { reason: 'key-compromise', actor: TEST_ACTOR });
        const cas = await server.client.getCaCertificates();
        const m = await buildPkiMessage({
          messageType: MessageType.GetCRL,
          messageData: derSequence(cas.ca.subjectDer, device.cert.serialDer),
          recipient: cas.recipient,
          cipher: contentCipherByOid(OID.desEde3Cbc)!,
          digest: 'sha1',
          signerCert: device.cert,
          signerKey: device.key,
        });
        const body = Buffer.from(await (await server.client.send(m.der)).arrayBuffer());
        const { msg, inner } = checkCertRep(body, { certificate: device.cert, key: device.key }, 'GetCRL');
        expect(msg.pkiStatus).to.equal(PkiStatus.SUCCESS);
        const [crl] = crlsOf(inner!);
        assertStrictDer(crl!, 'GetCRL CRL');
        const http = Buffer.from(await (await fetch(`${server.url}/crl/ca.crl`)).arrayBuffer());
        assertStrictDer(http, 'CRL');
        expect(http.equals(crl!)).to.equal(true);
      });

      it('OCSP good, revoked, unknown, a mixed answer and malformedRequest', async () => {
        const key = (await pooledKeys(3))[2];
        const good = await issue(server, files.dir, `der-good-${ra}`, key);
        const req = (name: string, args: string[]) => ossl(['ocsp', '-issuer', server.caPemFile, ...args, '-reqout', files.file(name)]);
        await req('good.req', ['-cert', good.pem]);
        await req('revoked.req', ['-cert', device.pem, '-no_nonce']);
        await req('unknown.req', ['-serial', '0x0102030405060708']);
        await req('mixed.req', ['-cert', good.pem, '-cert', device.pem, '-serial', '0x0a0b']);
        const statuses: string[] = [];
        for (const name of ['good', 'revoked', 'unknown', 'mixed']) {
          const res = await fetch(`${server.url}/ocsp`, {
            method: 'POST',
            body: new Uint8Array(fs.readFileSync(files.file(`${name}.req`))),
            headers: { 'Content-Type': 'application/ocsp-request' },
          });
          const body = Buffer.from(await res.arrayBuffer());
          assertStrictDer(body, `OCSP ${name}`);
          const r = await ossl(['ocsp', '-respin', files.file(`${name}.resp`, body), '-resp_text', '-noverify']);
          statuses.push(...[...r.out.matchAll(/Cert Status: (\w+)/g)].map((x) => x[1]!));
          // the delegated responder's certificate travels in BasicOCSPResponse.certs
          const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.out);
          expect(pem, r.out).to.not.equal(null);
          if (pem) assertStrictDer(Buffer.from(pem[0].replace(/-----[A-Z ]+-----|\s/g, ''), 'base64'), 'OCSP responder certificate');
        }
        expect(statuses).to.deep.equal(['good', 'revoked', 'unknown', 'good', 'revoked', 'unknown']);
        const bad = await fetch(`${server.url}/ocsp`, {
          method: 'POST',
          body: new Uint8Array(Buffer.from('not der')),
          headers: { 'Content-Type': 'application/ocsp-request' },
        });
        assertStrictDer(Buffer.from(await bad.arrayBuffer()), 'OCSP malformedRequest');
      });

      it('answers a request that is BER through and through (as Apple sends) with DER', async () => {
        const key = (await pooledKeys(4))[3];
        const cas = await server.client.getCaCertificates();
        // the subject's strings arrive chunked by toBer below: the certificate carries them as DER
        const org = tlv(0x31, derSequence(derOid('2.5.4.10'), tlv(0x0c, Buffer.from('BER Inc'))));
        const serial = tlv(0x31, derSequence(derOid('2.5.4.5'), tlv(0x13, Buffer.from('42'))));
        const cn = tlv(0x31, derSequence(derOid(OID.commonName), tlv(0x0c, Buffer.from('ber-device'))));
        const name = derSequence(org, serial, cn);
        // the envelope's recipient identifier copies the signer certificate's issuer as it is, so that one is DER
        const signer = await selfSignedFor(key, derSequence(org));
        const csr = toBer(await buildCsr({ subject: name, key, challengePassword: TEST_CHALLENGE }), { chunk: 3 });
        const envelope = toBer(buildEnvelopedData(csr, cas.recipient, contentCipherByOid(OID.aes256Cbc)!), { chunk: 100, longLengths: true });
        const der = await buildSignedData({
          content: envelope,
          signerCert: signer,
          signerKey: key,
          digest: 'sha256',
          certificates: [signer],
          attributes: [
            attribute(OID.scepTransactionId, tlv(0x13, Buffer.from(`ber-${ra}`))),
            attribute(OID.scepMessageType, tlv(0x13, Buffer.from(String(MessageType.PKCSReq)))),
            attribute(OID.scepSenderNonce, derOctetString(randomBytes(16))),
          ],
        });
        const body = Buffer.from(await (await server.client.send(toBer(der, { chunk: 512 }))).arrayBuffer());
        const { msg, inner } = checkCertRep(body, { certificate: signer, key }, 'BER PKCSReq');
        expect(msg.pkiStatus, msg.failInfoText).to.equal(PkiStatus.SUCCESS);
        const [issued] = parseCertsOf(inner!);
        assertStrictDer(issued!, 'certificate issued for a BER CSR');
        const cert = ParsedCertificate.fromDer(issued!);
        expect(cert.subject).to.equal('CN=ber-device,serialNumber=42,O=BER Inc');
        expect(cert.spkiDer.equals(signer.spkiDer)).to.equal(true);
      });

      it('the CA certificate (and the RA pair) on disk', () => {
        const dir = `${server.dir}/certs`;
        for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.cert.pem'))) {
          const pem = fs.readFileSync(`${dir}/${f}`, 'utf8');
          assertStrictDer(Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64'), f);
        }
      });

      it('GetNextCACert after a rollover: the signed answer, its certs-only content, each certificate and the link certificates', async () => {
        const s = server.app.services;
        const { generation } = await s.caGenerations.rollover([...s.authority.all], { activateAt: new Date(Date.now() + 3_600_000) });
        s.authority.addGeneration(generation);
        const res = await fetch(`${server.url}/scep?operation=GetNextCACert`);
        expect(res.status).to.equal(200);
        expect(res.headers.get('content-type')).to.equal('application/x-x509-next-ca-cert');
        const body = Buffer.from(await res.arrayBuffer());
        assertStrictDer(body, 'GetNextCACert');
        for (const c of parseCertsOf(body)) assertStrictDer(c, 'GetNextCACert signer certificate');
        const inner = parseSignedData(body, 'GetNextCACert').content;
        expect(inner, 'GetNextCACert content').to.not.equal(undefined);
        assertStrictDer(inner!, 'GetNextCACert certs-only content');
        const nextCerts = parseCertsOf(inner!);
        expect(nextCerts).to.have.length(ra ? 3 : 1);
        for (const c of nextCerts) assertStrictDer(c, 'next CA certificate');
        for (const c of [generation.newWithOld!, generation.oldWithNew!]) assertStrictDer(c.der, 'link certificate');
      });
    });
  }

  describe('captured requests from real clients, re-encoded as BER, against the fixture CA and RA pair', () => {
    let server: TestServer;
    before(async () => {
      const dir = makeTempDir('scepter-der-fixtures');
      fs.mkdirSync(`${dir}/certs`, { mode: 0o700 });
      const files: [string, string][] = [
        ['test-ca.key.pem', 'ca.key.pem'],
        ['test-ca.cert.pem', 'ca.cert.pem'],
        ['test-ra-sign.key.pem', 'ra-sign.key.pem'],
        ['test-ra-sign.cert.pem', 'ra-sign.cert.pem'],
        ['test-ra-encrypt.key.pem', 'ra-encrypt.key.pem'],
        ['test-ra-encrypt.cert.pem', 'ra-encrypt.cert.pem'],
      ];
      for (const [from, to] of files) fs.copyFileSync(fixturePath(from), `${dir}/certs/${to}`);
      for (const [, to] of files) fs.chmodSync(`${dir}/certs/${to}`, 0o600);
      server = await startTestServer({ SCEPTER_RA: 'on', SCEPTER_STATIC_CHALLENGE: 'fixture-challenge-1' }, dir);
    });
    after(async () => server?.destroy());

    for (const file of ['scepclient-pkcsreq-des.der', 'scepclient-pkcsreq-ra.der']) {
      it(`${file} as BER (indefinite lengths, chunked OCTET STRINGs) is enrolled and answered in DER`, async () => {
        const ber = toBer(readFixture(file), { chunk: 256 });
        expect(ber.equals(readFixture(file))).to.equal(false);
        const res = await server.client.send(ber);
        expect(res.status).to.equal(200);
        const body = Buffer.from(await res.arrayBuffer());
        assertStrictDer(body, 'CertRep');
        const msg = decodePkiMessage(body);
        expect(msg.pkiStatus, msg.failInfoText).to.equal(PkiStatus.SUCCESS);
        expect(await msg.verify()).to.equal(true);
        // the reply is encrypted to the request's signer, whose key the fixture keeps
        const requester = decodePkiMessage(readFixture(file)).signerCertificate;
        const key = createPrivateKey(fs.readFileSync(fixturePath('scepclient-device.key.pem'), 'utf8'));
        const { content } = decryptEnvelopedData(msg.envelope!, [{ certificate: requester, key }], new RsaKeyTransport(randomBytes(32)));
        const [cert] = parseCertsOf(content);
        assertStrictDer(cert!, 'issued certificate');
        expect(ParsedCertificate.fromDer(cert!).subject).to.contain('CN=fixture-device-1');
      });
    }
  });
});
