import { expect } from 'chai';
import { startTestServer, TestServer, TEST_CHALLENGE } from '../support/test-server';
import { pooledKeys, type Keys } from '../support/keys';
import { openssl, tempFile } from '../support/openssl-cli';
import { OID } from '../../src/pki/oids';
import { pemEncode } from '../../src/pki/der';
import { FailInfo, MessageType, PkiStatus } from '../../src/scep/scep.types';
import { CaCertificates, newRsaKey } from '../../src/scep/client/scep-client';
import { buildPkiMessage, openCertRep } from '../../src/scep/client/scep-client.codec';
import { contentCipherByOid } from '../../src/pki/content-cipher';
import { buildCsr } from '../../src/pki/csr.builder';
import { buildName } from '../../src/pki/names';
import { derSequence, derUnsignedInteger } from '../../src/pki/der-writer';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { challengeAttribute, rawCsr, rawCsrWithAttributes, selfSigned, sendPkiMessage, utf8Name } from '../support/raw-scep';

describe('SCEP enrollment over HTTP (real server, real SQLite)', function () {
  let server: TestServer;
  let cas: CaCertificates;
  let keys: Keys<8>;

  before(async () => {
    // a renewal window as long as the validity: a fresh certificate may renew (see test/security/ for the bounds)
    server = await startTestServer({ SCEPTER_RENEWAL_WINDOW_DAYS: '365' });
    cas = await server.client.getCaCertificates();
    keys = await pooledKeys(8);
  });
  after(async () => server.destroy());

  const subject = (cn: string) => [
    { type: 'O', value: 'Scepter Tests' },
    { type: 'CN', value: cn },
  ];

  it('answers GetCACaps with the capabilities, one per line', async () => {
    const res = await fetch(`${server.scepUrl}?operation=GetCACaps`);
    expect(res.status).to.equal(200);
    expect((await res.text()).split('\n')).to.deep.equal(['POSTPKIOperation', 'SHA-1', 'SHA-256', 'SHA-512', 'AES', 'DES3', 'Renewal', 'SCEPStandard']);
  });

  it('answers GetCACert with the CA certificate as DER, also on the NDES aliases', async () => {
    for (const p of ['/scep', '/certsrv/mscep/mscep.dll', '/certsrv/mscep/mscep.dll/pkiclient.exe']) {
      const res = await fetch(`${server.url}${p}?operation=GetCACert`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('application/x-x509-ca-cert');
      expect(Buffer.from(await res.arrayBuffer()).equals(server.app.services.authority.caCertificate.der)).to.equal(true);
    }
  });

  it('issues a device certificate that openssl verifies, with the required profile', async () => {
    const r = await server.client.enroll({ cas, subject: subject('device-1'), challenge: TEST_CHALLENGE, key: keys[0] });
    expect(r.status).to.equal(PkiStatus.SUCCESS);
    expect(r.signatureValid).to.equal(true);
    expect(r.recipientNonceMatches).to.equal(true);
    const cert = r.certificate!;
    const pem = tempFile('leaf.pem', pemEncode('CERTIFICATE', cert.der));
    expect(openssl(['verify', '-CAfile', server.caPemFile, pem]).out).to.contain(': OK');
    const text = openssl(['x509', '-in', pem, '-noout', '-text']).out;
    expect(text).to.match(/X509v3 Key Usage: critical\s+Digital Signature\n/);
    expect(text).to.match(/X509v3 Extended Key Usage:\s+TLS Web Client Authentication\n/);
    expect(text).to.contain('Public-Key: (2048 bit)');
    expect(text).to.contain('sha256WithRSAEncryption');
    expect(text).to.contain('X509v3 Subject Key Identifier');
    expect(text).to.contain('X509v3 Authority Key Identifier');
    expect(cert.subject).to.equal('CN=device-1,O=Scepter Tests');
    expect(cert.serialHex).to.have.length(32);
    const skew = Date.now() - cert.notBefore.getTime();
    expect(skew).to.be.within(4 * 60_000, 6 * 60_000);
    const days = (cert.notAfter.getTime() - cert.notBefore.getTime() - 5 * 60_000) / 86_400_000;
    expect(days).to.be.closeTo(365, 0.01);
  });

  for (const [name, oid] of Object.entries({
    'DES-CBC': OID.desCbc,
    'DES-EDE3-CBC': OID.desEde3Cbc,
    'AES-128-CBC': OID.aes128Cbc,
    'AES-192-CBC': OID.aes192Cbc,
    'AES-256-CBC': OID.aes256Cbc,
  })) {
    it(`accepts ${name} requests and answers with the same algorithm`, async () => {
      const r = await server.client.enroll({
        cas,
        subject: subject(`cipher-${name}`),
        challenge: TEST_CHALLENGE,
        key: keys[1],
        cipherOid: oid,
        transactionId: `cipher-${name}`,
      });
      expect(r.status).to.equal(PkiStatus.SUCCESS);
      expect(r.cipherOid).to.equal(oid);
    });
  }

  for (const digest of ['sha1', 'sha256', 'sha512'] as const) {
    it(`accepts ${digest} signed requests and answers a verifiable CertRep`, async () => {
      const r = await server.client.enroll({
        cas,
        subject: subject(`digest-${digest}`),
        challenge: TEST_CHALLENGE,
        key: keys[2],
        digest,
        transactionId: `digest-${digest}`,
      });
      expect(r.status).to.equal(PkiStatus.SUCCESS);
      expect(r.signatureValid).to.equal(true);
    });
  }

  it('takes PKIOperation by GET with unescaped + and / and with URL-safe base64', async () => {
    const req = await server.client.preparePkcsReq({ cas, subject: subject('get-1'), challenge: TEST_CHALLENGE, key: keys[3], transactionId: 'get-1' });
    const b64 = req.der.toString('base64');
    expect(b64).to.match(/[+/]/);
    const raw = await fetch(`${server.scepUrl}?operation=PKIOperation&message=${b64}`);
    expect(raw.status).to.equal(200);
    const urlsafe = await fetch(`${server.scepUrl}?operation=PKIOperation&message=${b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`);
    expect(urlsafe.status).to.equal(200);
    const viaClient = await server.client.submit(req, 'GET');
    expect(viaClient.status).to.equal(PkiStatus.SUCCESS);
  });

  it('accepts a base64 POST body', async () => {
    const req = await server.client.preparePkcsReq({ cas, subject: subject('b64-post'), challenge: TEST_CHALLENGE, key: keys[3], transactionId: 'b64-post' });
    const res = await fetch(`${server.scepUrl}?operation=PKIOperation`, {
      method: 'POST',
      body: req.der.toString('base64'),
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('application/x-pki-message');
  });

  it('answers a repeated PKCSReq with the stored certificate, and refuses the transactionID with another key', async () => {
    const first = await server.client.enroll({ cas, subject: subject('repeat'), challenge: TEST_CHALLENGE, key: keys[4] });
    const again = await server.client.enroll({ cas, subject: subject('repeat'), challenge: TEST_CHALLENGE, key: keys[4] });
    expect(again.status).to.equal(PkiStatus.SUCCESS);
    expect(again.certificate!.serialHex).to.equal(first.certificate!.serialHex);
    const other = await server.client.enroll({ cas, subject: subject('repeat'), challenge: TEST_CHALLENGE, key: keys[5], transactionId: first.transactionId });
    expect(other.status).to.equal(PkiStatus.FAILURE);
    expect(other.failInfo).to.equal(FailInfo.badRequest);
  });

  it('answers CertPoll and GetCert with the issued certificate', async () => {
    const issued = await server.client.enroll({ cas, subject: subject('poll'), challenge: TEST_CHALLENGE, key: keys[6], transactionId: 'poll-1' });
    const requester = {
      certificate: (await server.client.preparePkcsReq({ cas, subject: subject('poll'), key: keys[6] })).requester.certificate,
      key: keys[6],
    };
    const ias = derSequence(cas.ca.subjectDer, issued.certificate!.subjectDer);
    const send = async (type: MessageType, data: Uint8Array, tid: string, signer = requester) => {
      const m = await buildPkiMessage({
        messageType: type,
        messageData: data,
        transactionId: tid,
        recipient: cas.recipient,
        cipher: contentCipherByOid(OID.aes128Cbc)!,
        digest: 'sha256',
        signerCert: signer.certificate,
        signerKey: keys[6],
      });
      const res = await server.client.send(m.der);
      return openCertRep(Buffer.from(await res.arrayBuffer()), signer);
    };
    const poll = await send(MessageType.CertPoll, new Uint8Array(ias), 'poll-1');
    expect(poll.message.pkiStatus).to.equal(PkiStatus.SUCCESS);
    expect(poll.certificates[0]!.serialHex).to.equal(issued.certificate!.serialHex);
    const unknownPoll = await send(MessageType.CertPoll, new Uint8Array(ias), 'poll-unknown');
    expect(unknownPoll.message.failInfo).to.equal(FailInfo.badCertId);

    const getCert = (serial: Uint8Array) => derSequence(cas.ca.subjectDer, derUnsignedInteger(serial));
    // GetCert: signed by the certificate it asks for (its holder)
    const holder = { certificate: issued.certificate!, key: keys[6] };
    const got = await send(MessageType.GetCert, new Uint8Array(getCert(Buffer.from(issued.certificate!.serialHex, 'hex'))), 'getcert-1', holder);
    expect(got.message.pkiStatus).to.equal(PkiStatus.SUCCESS);
    expect(got.certificates[0]!.der.equals(issued.certificate!.der)).to.equal(true);
    const missing = await send(MessageType.GetCert, new Uint8Array(getCert(Buffer.from('0102030405', 'hex'))), 'getcert-2', holder);
    expect(missing.message.pkiStatus).to.equal(PkiStatus.FAILURE);
    expect(missing.message.failInfo).to.equal(FailInfo.badCertId);
  });

  describe('refusals are signed CertRep FAILUREs with the precise failInfo', () => {
    it('wrong challenge: badRequest', async () => {
      const r = await server.client.enroll({ cas, subject: subject('wrong'), challenge: 'not-the-challenge', key: keys[7], transactionId: 'wrong-ch' });
      expect([r.status, r.failInfo, r.signatureValid]).to.deep.equal([PkiStatus.FAILURE, FailInfo.badRequest, true]);
      expect(r.failText).to.contain('challengePassword');
    });
    it('missing challenge: badRequest', async () => {
      const r = await server.client.enroll({ cas, subject: subject('none'), key: keys[7], transactionId: 'no-ch' });
      expect([r.status, r.failInfo]).to.deep.equal([PkiStatus.FAILURE, FailInfo.badRequest]);
    });
    it('1024-bit and 3072-bit keys: badAlg with text', async () => {
      for (const bits of [1024, 3072]) {
        const r = await server.client.enroll({ cas, subject: subject(`k${bits}`), challenge: TEST_CHALLENGE, key: await newRsaKey(bits) });
        expect([r.status, r.failInfo]).to.deep.equal([PkiStatus.FAILURE, FailInfo.badAlg]);
        expect(r.failText).to.contain('2048');
      }
    });
    it('an EC key, an RSA exponent below 65537, or a signature algorithm we do not verify: badAlg naming which', async () => {
      const [rsa] = await pooledKeys(1);
      const signer = await selfSigned(rsa);
      const name = utf8Name(['2.5.4.3', 'alg']);
      const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const e3 = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).privateKey;
      const cases = [
        [
          rawCsrWithAttributes(name, ec, [challengeAttribute(TEST_CHALLENGE)], '1.2.840.10045.4.3.2'),
          signer,
          /RSA key of exactly 2048 bits is required \(got ec 0\)/,
        ],
        [rawCsr(name, e3, TEST_CHALLENGE), await selfSigned(e3), /public exponent of at least 65537/],
        [
          rawCsrWithAttributes(name, rsa, [challengeAttribute(TEST_CHALLENGE)], '1.2.840.113549.1.1.4'),
          signer,
          /unsupported CSR signature algorithm 1\.2\.840\.113549\.1\.1\.4/,
        ],
        [rawCsrWithAttributes(name, rsa, [challengeAttribute(TEST_CHALLENGE)], '1.2.840.113549.1.1.10'), signer, /unsupported CSR signature algorithm/],
      ] as const;
      for (const [csr, by, reason] of cases) {
        const r = await sendPkiMessage(server.scepUrl, cas, MessageType.PKCSReq, csr, by, `alg-${randomBytes(4).toString('hex')}`);
        expect([r.status, r.failInfo], r.failText).to.deep.equal([PkiStatus.FAILURE, FailInfo.badAlg]);
        expect(r.failText).to.match(reason);
        expect(r.certificates).to.have.length(0);
      }
    });
    it('signer certificate without the CSR key: badMessageCheck', async () => {
      const other = await server.client.preparePkcsReq({ cas, subject: subject('x'), key: keys[0] });
      const r = await server.client.enroll({
        cas,
        subject: subject('mismatch'),
        challenge: TEST_CHALLENGE,
        key: keys[7],
        signer: other.requester,
        transactionId: 'mismatch',
      });
      expect([r.status, r.failInfo]).to.deep.equal([PkiStatus.FAILURE, FailInfo.badMessageCheck]);
    });
    it('a message whose signature does not verify: badMessageCheck', async () => {
      const signer = (await server.client.preparePkcsReq({ cas, subject: subject('sig'), key: keys[0] })).requester.certificate;
      const csr = await buildCsr({ subject: buildName(subject('sig')), key: keys[0], challengePassword: TEST_CHALLENGE });
      // signed with another key than the one in the embedded signer certificate
      const m = await buildPkiMessage({
        messageType: MessageType.PKCSReq,
        messageData: csr,
        transactionId: 'badsig',
        recipient: cas.recipient,
        cipher: contentCipherByOid(OID.aes128Cbc)!,
        digest: 'sha256',
        signerCert: signer,
        signerKey: keys[7],
      });
      const res = await server.client.send(m.der);
      expect(res.status).to.equal(200);
      const rep = await openCertRep(Buffer.from(await res.arrayBuffer()), { certificate: signer, key: keys[0] });
      expect([rep.message.pkiStatus, rep.message.failInfo, rep.signatureValid]).to.deep.equal([PkiStatus.FAILURE, FailInfo.badMessageCheck, true]);
    });
    it('RenewalReq signed by a certificate we did not issue: badCertId', async () => {
      const r = await server.client.enroll({ cas, subject: subject('renew-x'), key: keys[7], messageType: MessageType.RenewalReq, transactionId: 'renew-x' });
      expect([r.status, r.failInfo]).to.deep.equal([PkiStatus.FAILURE, FailInfo.badCertId]);
    });
  });

  it('renews with a RenewalReq signed by a valid certificate it issued, and supersedes the old one', async () => {
    const first = await server.client.enroll({ cas, subject: subject('renew'), challenge: TEST_CHALLENGE, key: keys[0], transactionId: 'renew-1' });
    const renewed = await server.client.enroll({
      cas,
      subject: subject('renew'),
      key: keys[1],
      messageType: MessageType.RenewalReq,
      signer: { certificate: first.certificate!, key: keys[0] },
      transactionId: 'renew-2',
    });
    expect(renewed.status).to.equal(PkiStatus.SUCCESS);
    expect(renewed.certificate!.serialHex).to.not.equal(first.certificate!.serialHex);
    const rows = await server.app.services.db.manager.query('SELECT serial, status FROM certificates WHERE serial IN (?, ?)', [
      first.certificate!.serialHex,
      renewed.certificate!.serialHex,
    ]);
    const status = Object.fromEntries(rows.map((r: { serial: string; status: string }) => [r.serial, r.status]));
    expect(status).to.deep.equal({ [first.certificate!.serialHex]: 'superseded', [renewed.certificate!.serialHex]: 'valid' });
  });

  it('records every issued certificate with its metadata', async () => {
    const r = await server.client.enroll({ cas, subject: subject('recorded'), challenge: TEST_CHALLENGE, key: keys[2], transactionId: 'recorded' });
    const [row] = await server.app.services.db.manager.query('SELECT * FROM certificates WHERE serial = ?', [r.certificate!.serialHex]);
    expect(row.transaction_id).to.equal('recorded');
    expect(row.fingerprint_sha256).to.equal(r.certificate!.fingerprintSha256);
    expect(row.subject).to.equal('CN=recorded,O=Scepter Tests');
    expect(row.status).to.equal('valid');
    expect(Buffer.from(row.der).equals(r.certificate!.der)).to.equal(true);
  });
});
