import { expect } from 'chai';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import * as pkijs from 'pkijs';
import { readFixture, readFixtureText } from '../../support/fixtures';
import { toBer } from '../../support/ber';
import { ParsedCertificate, readCertificateFields } from '../../../src/pki/certificate';
import { ParsedCsr } from '../../../src/pki/csr';
import { pemDecode } from '../../../src/pki/der';
import { readSingle } from '../../../src/pki/der-reader';
import { definiteForm, stringValue, timeValue } from '../../../src/pki/der-values';
import { derSequence, derOid, tlv } from '../../../src/pki/der-writer';
import { decryptEnvelopedData } from '../../../src/pki/cms-enveloped-data';
import { formatName, nameAttributes } from '../../../src/pki/names';
import { publicKeyFromSpki } from '../../../src/pki/public-key';
import { RsaKeyTransport } from '../../../src/pki/rsa-key-transport';
import { Asn1DecodeError } from '../../../src/pki/pki.errors';
import { decodePkiMessage } from '../../../src/scep/pki-message.codec';

const certDer = (f: string) => pemDecode(readFixtureText(f), 'CERTIFICATE');
const CERTS = ['test-ca.cert.pem', 'test-ra-sign.cert.pem', 'test-ra-encrypt.cert.pem'];
const BER_FORMS = [{ chunk: 5 }, { chunk: 64, longLengths: true }];

describe('pki DER/BER reader', () => {
  it('reads certificate fields as pkijs and OpenSSL do', () => {
    for (const f of CERTS) {
      const der = certDer(f);
      const ours = ParsedCertificate.fromDer(der);
      const ref = pkijs.Certificate.fromBER(new Uint8Array(der));
      const x = new X509Certificate(der);
      expect(ours.serialHex, f).to.equal(x.serialNumber);
      expect(ours.serialDer.equals(Buffer.from(ref.serialNumber.toBER(false))), f).to.equal(true);
      expect(ours.subjectDer.equals(Buffer.from(ref.subject.toSchema().toBER(false))), f).to.equal(true);
      expect(ours.issuerDer.equals(Buffer.from(ref.issuer.toSchema().toBER(false))), f).to.equal(true);
      expect(ours.spkiDer.equals(x.publicKey.export({ type: 'spki', format: 'der' })), f).to.equal(true);
      expect(ours.notBefore.getTime(), f).to.equal(Date.parse(x.validFrom));
      expect(ours.notAfter.getTime(), f).to.equal(Date.parse(x.validTo));
      expect(ours.subject.split(',').reverse().join('\n'), f).to.equal(x.subject);
    }
    expect([...ParsedCertificate.fromDer(certDer('test-ra-encrypt.cert.pem')).keyUsage!]).to.deep.equal([2]);
    expect([...ParsedCertificate.fromDer(certDer('test-ra-sign.cert.pem')).keyUsage!]).to.deep.equal([0]);
    expect([...ParsedCertificate.fromDer(certDer('test-ca.cert.pem')).keyUsage!].sort((a, b) => a - b)).to.deep.equal([0, 2, 5, 6]);
    expect(readCertificateFields(certDer('test-ca.cert.pem')).subjectKeyIdentifier).to.have.length(20);
  });

  for (const ber of BER_FORMS) {
    it(`reads BER certificates (${JSON.stringify(ber)}) to the same fields, in DER`, () => {
      for (const f of CERTS) {
        const der = certDer(f);
        const b = toBer(der, ber);
        expect(b.equals(der)).to.equal(false);
        const a = ParsedCertificate.fromDer(der);
        const c = ParsedCertificate.fromDer(b);
        for (const k of ['serialHex', 'subject', 'issuer', 'issuerDer', 'subjectDer', 'spkiDer', 'notBefore', 'notAfter'] as const)
          expect(c[k], `${f} ${k}`).to.deep.equal(a[k]);
        expect(definiteForm(readSingle(b)).equals(der), f).to.equal(true);
      }
    });

    it(`decodes BER versions (${JSON.stringify(ber)}) of the captured requests as their DER originals`, async () => {
      const ca = { certificate: ParsedCertificate.fromDer(certDer('test-ca.cert.pem')), key: createPrivateKey(readFixtureText('test-ca.key.pem')) };
      const ra = {
        certificate: ParsedCertificate.fromDer(certDer('test-ra-encrypt.cert.pem')),
        key: createPrivateKey(readFixtureText('test-ra-encrypt.key.pem')),
      };
      const transport = new RsaKeyTransport(randomBytes(32));
      for (const file of ['scepclient-pkcsreq-des.der', 'scepclient-pkcsreq-ra.der', 'certmonger-pkcsreq-aes.der', 'certmonger-pkcsreq-ra.der']) {
        const der = readFixture(file);
        const a = decodePkiMessage(der);
        const b = decodePkiMessage(toBer(der, ber));
        expect([b.messageType, b.transactionId, b.digest], file).to.deep.equal([a.messageType, a.transactionId, a.digest]);
        expect(b.senderNonce.equals(a.senderNonce), file).to.equal(true);
        expect(b.envelope!.equals(a.envelope!), file).to.equal(true);
        expect(b.signerCertificate.spkiDer.equals(a.signerCertificate.spkiDer), file).to.equal(true);
        expect(await b.verify(), `${file} signature`).to.equal(true);
        const ids = [ra, ca];
        const plain = decryptEnvelopedData(a.envelope!, ids, transport).content;
        const opened = decryptEnvelopedData(toBer(a.envelope!, ber), ids, transport);
        expect(opened.content.equals(plain), file).to.equal(true);
        const csrA = ParsedCsr.fromDer(plain);
        const csrB = ParsedCsr.fromDer(toBer(plain, ber));
        expect(csrB.challengePassword, file).to.equal(csrA.challengePassword).and.to.be.a('string');
        expect(csrB.subject, file).to.equal(csrA.subject);
        expect(csrB.subjectDer.equals(csrA.subjectDer), file).to.equal(true);
        expect(csrB.spkiDer.equals(csrA.spkiDer), file).to.equal(true);
        expect(await csrB.verifySignature(), `${file} CSR signature over the DER form`).to.equal(true);
      }
    });
  }

  it('reads every DirectoryString type, chunked strings included', () => {
    const atv = (oid: string, value: Buffer) => tlv(0x31, derSequence(derOid(oid), value));
    const name = derSequence(
      atv('2.5.4.6', tlv(0x13, Buffer.from('DE'))),
      atv('2.5.4.10', tlv(0x1e, Buffer.from('\u00c4\u00df', 'utf16le').swap16())),
      atv('2.5.4.11', tlv(0x1c, Buffer.from([0, 0, 0, 0x61, 0, 1, 0xf6, 0x00]))),
      atv('2.5.4.3', tlv(0x2c, tlv(0x0c, Buffer.from('dev')), tlv(0x0c, Buffer.from('-1, x')))),
    );
    expect(nameAttributes(name)).to.deep.equal([
      { type: 'C', value: 'DE' },
      { type: 'O', value: 'Äß' },
      { type: 'OU', value: 'a\u{1f600}' },
      { type: 'CN', value: 'dev-1, x' },
    ]);
    expect(formatName(name)).to.equal('CN=dev-1\\, x,OU=a\u{1f600},O=Äß,C=DE');
    expect(stringValue(readSingle(tlv(0x04, Buffer.from('x'))))).to.equal(undefined);
  });

  it('reads the BER time forms', () => {
    const t = (tag: number, s: string) => timeValue(readSingle(tlv(tag, Buffer.from(s)))).toISOString();
    expect(t(0x17, '491231235959Z')).to.equal('2049-12-31T23:59:59.000Z');
    expect(t(0x17, '500101000000Z')).to.equal('1950-01-01T00:00:00.000Z');
    expect(t(0x17, '2501011200Z')).to.equal('2025-01-01T12:00:00.000Z');
    expect(t(0x17, '250101120000+0130')).to.equal('2025-01-01T10:30:00.000Z');
    expect(t(0x18, '20250101120000.25Z')).to.equal('2025-01-01T12:00:00.250Z');
    expect(t(0x18, '20250101120000-0200')).to.equal('2025-01-01T14:00:00.000Z');
    for (const bad of ['2501011200', '20251301000000Z', 'garbage']) expect(() => t(0x18, bad)).to.throw(Asn1DecodeError);
  });

  it('refuses malformed input with Asn1DecodeError only', () => {
    const bad = ['', '30', '3003020101', '300102', '3080020101', '308002010100', '04800000', '3000ff', '1f0100', '0000'];
    for (const h of bad) expect(() => ParsedCertificate.fromDer(Buffer.from(h, 'hex')), h).to.throw(Asn1DecodeError);
    const deep = Buffer.concat([Buffer.alloc(200, 0x30).map((_, i) => (i % 2 ? 0x80 : 0x30)), Buffer.alloc(200, 0)]);
    expect(() => readSingle(deep)).to.throw(Asn1DecodeError, /nested too deeply/);
    const der = certDer('test-ca.cert.pem');
    for (let cut = 1; cut < der.length; cut += 37) expect(() => ParsedCertificate.fromDer(der.subarray(0, cut))).to.throw(Asn1DecodeError);
  });

  it('imports RSA keys through JWK to the same key, and other keys through DER', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' });
    const k = publicKeyFromSpki(rsa);
    expect(k.export({ type: 'spki', format: 'der' }).equals(rsa)).to.equal(true);
    expect(k.asymmetricKeyDetails?.modulusLength).to.equal(2048);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    expect(publicKeyFromSpki(ec).equals(createPublicKey({ key: ec, format: 'der', type: 'spki' }))).to.equal(true);
  });
});
