import { expect } from 'chai';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { readFixture, readFixtureText } from '../../support/fixtures';
import { decodePkiMessage, encodeCertRep } from '../../../src/scep/pki-message.codec';
import { decryptEnvelopedData } from '../../../src/pki/cms-enveloped-data';
import { ParsedCertificate } from '../../../src/pki/certificate';
import { ParsedCsr } from '../../../src/pki/csr';
import { pemDecode } from '../../../src/pki/der';
import { RsaKeyTransport } from '../../../src/pki/rsa-key-transport';
import { OID } from '../../../src/pki/oids';
import { contentCipherByOid } from '../../../src/pki/content-cipher';
import { openCertRep } from '../../../src/scep/client/scep-client.codec';
import { FailInfo, MessageType, PkiStatus } from '../../../src/scep/scep.types';
import { Asn1DecodeError, PkiInputError } from '../../../src/pki/pki.errors';
import { attribute, buildSignedData } from '../../../src/pki/cms-signed-data';
import { derOctetString, derOid, derSequence, tlv } from '../../../src/pki/der-writer';

const cert = (f: string) => ParsedCertificate.fromDer(pemDecode(readFixtureText(f), 'CERTIFICATE'));
const key = (f: string) => createPrivateKey(readFixtureText(f));

describe('scep/pki-message codec on requests captured from real clients', () => {
  const ca = { certificate: cert('test-ca.cert.pem'), key: key('test-ca.key.pem') };
  const ra = { certificate: cert('test-ra-encrypt.cert.pem'), key: key('test-ra-encrypt.key.pem') };
  const transport = new RsaKeyTransport(randomBytes(32));
  const fixtures = JSON.parse(readFixtureText('fixtures.json')).fixtures as Array<{
    file: string;
    challenge: string;
    cn: string;
    transactionId: string;
    encryptedTo: 'ca' | 'ra';
    contentEncryption: { oid: string };
    digest: { name: string };
  }>;

  for (const f of fixtures) {
    it(`${f.file}: verifies, decrypts (${f.contentEncryption.oid}) and yields the CSR`, async () => {
      const msg = decodePkiMessage(readFixture(f.file));
      expect(msg.messageType).to.equal(MessageType.PKCSReq);
      expect(msg.transactionId).to.equal(f.transactionId);
      expect(msg.senderNonce).to.have.length(16);
      expect(msg.digest).to.equal(f.digest.name);
      expect(await msg.verify()).to.equal(true);
      const ids = f.encryptedTo === 'ra' ? [ra] : [ca];
      const { content, cipher } = decryptEnvelopedData(msg.envelope!, ids, transport);
      expect(cipher.oid).to.equal(f.contentEncryption.oid);
      const csr = ParsedCsr.fromDer(content);
      expect(csr.challengePassword).to.equal(f.challenge);
      expect(csr.subject).to.contain(`CN=${f.cn}`);
      expect(csr.keyBits).to.equal(2048);
      expect(await csr.verifySignature()).to.equal(true);
      expect(msg.signerCertificate.publicKeyHash).to.equal(csr.publicKeyHash);
    });
  }

  it('refuses to decrypt a captured request with a key it was not encrypted to', () => {
    const msg = decodePkiMessage(readFixture('certmonger-pkcsreq-aes.der'));
    expect(() => decryptEnvelopedData(msg.envelope!, [ra], transport)).to.throw(PkiInputError, /not encrypted to this CA/);
  });

  it('detects a flipped bit in the signed content (messageDigest mismatch)', async () => {
    const der = Buffer.from(readFixture('certmonger-pkcsreq-aes.der'));
    const msg = decodePkiMessage(der);
    const at = der.indexOf(msg.envelope!.subarray(100, 116));
    der[at] = der[at]! ^ 0x01;
    expect(await decodePkiMessage(der).verify()).to.equal(false);
  });

  it('rejects truncations and garbage with Asn1DecodeError only', () => {
    const der = readFixture('scepclient-pkcsreq-des.der');
    for (let cut = 0; cut < der.length; cut += 97) expect(() => decodePkiMessage(der.subarray(0, cut))).to.throw(Asn1DecodeError, /malformed pkiMessage/);
    expect(() => decodePkiMessage(randomBytes(500))).to.throw(Asn1DecodeError);
  });

  describe('signed attributes a reader could take two ways', () => {
    const signer = { certificate: ca.certificate, key: ca.key };
    const printable = (s: string) => tlv(0x13, Buffer.from(s, 'latin1'));
    const message = (attributes: Buffer[]) =>
      buildSignedData({
        content: Buffer.from('x'),
        signerCert: signer.certificate,
        signerKey: signer.key,
        digest: 'sha256',
        certificates: [signer.certificate],
        attributes,
      });
    const transactionId = attribute(OID.scepTransactionId, printable('t-1'));
    const nonce = attribute(OID.scepSenderNonce, derOctetString(randomBytes(16)));

    it('reads an ordinary message', async () => {
      const msg = decodePkiMessage(await message([transactionId, attribute(OID.scepMessageType, printable('19')), nonce]));
      expect(msg.messageType).to.equal(MessageType.PKCSReq);
    });

    it('refuses a messageType twice, or with two values', async () => {
      const twice = await message([transactionId, attribute(OID.scepMessageType, printable('19')), attribute(OID.scepMessageType, printable('21')), nonce]);
      expect(() => decodePkiMessage(twice)).to.throw(PkiInputError, /2\.16\.840\.1\.113733\.1\.9\.2 appears more than once/);
      const twoValues = await message([transactionId, derSequence(derOid(OID.scepMessageType), tlv(0x31, printable('19'), printable('21'))), nonce]);
      expect(() => decodePkiMessage(twoValues)).to.throw(PkiInputError, /has more than one value/);
    });

    it('refuses a messageType that is not a short decimal number', async () => {
      for (const text of ['019', '1'.repeat(10), '1'.repeat(500), '19 ', '+19', '1e1']) {
        const der = await message([transactionId, attribute(OID.scepMessageType, printable(text)), nonce]);
        expect(() => decodePkiMessage(der), text).to.throw(/messageType is not a decimal number/);
      }
    });
  });

  describe('CertRep round trips', () => {
    const requester = { certificate: decodePkiMessage(readFixture('certmonger-pkcsreq-aes.der')).signerCertificate, key: key('certmonger-device.key.pem') };
    for (const fi of [FailInfo.badAlg, FailInfo.badMessageCheck, FailInfo.badRequest, FailInfo.badTime, FailInfo.badCertId]) {
      it(`FAILURE ${FailInfo[fi]} carries failInfo and failInfoText, signed`, async () => {
        const nonce = randomBytes(16);
        const der = await encodeCertRep({
          transactionId: 'T1',
          recipientNonce: nonce,
          digest: 'sha256',
          signerCert: ca.certificate,
          signerKey: ca.key,
          certificates: [ca.certificate],
          status: PkiStatus.FAILURE,
          failInfo: fi,
          failInfoText: `because ${FailInfo[fi]}`,
        });
        const rep = decodePkiMessage(der);
        expect([rep.messageType, rep.pkiStatus, rep.failInfo, rep.failInfoText, rep.transactionId]).to.deep.equal([
          MessageType.CertRep,
          PkiStatus.FAILURE,
          fi,
          `because ${FailInfo[fi]}`,
          'T1',
        ]);
        expect(rep.recipientNonce!.equals(nonce)).to.equal(true);
        expect(rep.senderNonce).to.have.length(16);
        expect(rep.envelope).to.equal(undefined);
        expect(await rep.verify()).to.equal(true);
      });
    }
    it('SUCCESS envelopes the certificate for the requester with the requested cipher', async () => {
      for (const oid of [OID.desCbc, OID.desEde3Cbc, OID.aes128Cbc, OID.aes256Cbc]) {
        const der = await encodeCertRep({
          transactionId: 'T2',
          recipientNonce: randomBytes(16),
          digest: 'sha1',
          signerCert: ca.certificate,
          signerKey: ca.key,
          certificates: [ca.certificate],
          status: PkiStatus.SUCCESS,
          success: { certificates: [ra.certificate], recipient: requester.certificate, cipher: contentCipherByOid(oid)! },
        });
        const opened = await openCertRep(der, requester);
        expect(opened.signatureValid).to.equal(true);
        expect(opened.cipherOid).to.equal(oid);
        expect(opened.certificates[0]!.der.equals(ra.certificate.der)).to.equal(true);
      }
    });
  });
});
