import { expect } from 'chai';
import { createPublicKey, KeyObject, X509Certificate } from 'node:crypto';
import { CaCertificates } from '../../src/scep/client/scep-client';
import { FailInfo, PkiStatus } from '../../src/scep/scep.types';
import { ParsedCertificate } from '../../src/pki/certificate';
import { ScepFailure } from '../../src/scep/scep-failure';
import { checkIssued, parseBack } from '../../src/scep/subject-policy';
import { buildCertificate } from '../../src/pki/certificate.builder';
import { randomSerial } from '../../src/ca/ca-material';
import { pooledKeys } from '../support/keys';
import { ATTR, atv, nameDer, RawReply, sendRawPkcsReq, TAG, tlv, utf8Name } from '../support/raw-scep';
import { startTestServer, TestServer, TEST_CHALLENGE } from '../support/test-server';
import { createIosCerts, fetchChallenge, startIntegrationServer, IntegrationServer } from '../integration/integrations-support';
import { flipBits } from '../support/mutations';

/**
 * Threat: a client gets the CA to sign a subject nothing can parse or that misleads whoever reads
 * it (NUL truncation, forged lines, wrong string types, oversized or unexpected attributes). Every
 * such subject must be a signed CertRep FAILURE badRequest with a reason, never a certificate and
 * never an HTTP 500; whatever is issued reads back with Node's X509Certificate.
 */
describe('security: CSR subjects are validated before anything is signed', function () {
  let server: TestServer;
  let cas: CaCertificates;
  let key: KeyObject;
  let n = 0;

  before(async () => {
    server = await startTestServer();
    cas = await server.client.getCaCertificates();
    [key] = await pooledKeys(1);
  });
  after(async () => server.destroy());

  const certificateCount = async (): Promise<number> => Number((await server.app.services.db.manager.query('SELECT COUNT(*) AS n FROM certificates'))[0].n);
  const send = (subject: Buffer): Promise<RawReply> => sendRawPkcsReq(server.scepUrl, cas, subject, key, TEST_CHALLENGE, `subject-${++n}`);

  const refused = async (subject: Buffer, reason: RegExp) => {
    const before = await certificateCount();
    const r = await send(subject);
    expect(r.httpStatus).to.equal(200);
    expect([r.status, r.failInfo]).to.deep.equal([PkiStatus.FAILURE, FailInfo.badRequest]);
    expect(r.failText).to.match(reason);
    expect(r.certificates).to.deep.equal([]);
    expect(await certificateCount()).to.equal(before);
  };

  const issued = async (subject: Buffer): Promise<X509Certificate> => {
    const r = await send(subject);
    expect([r.httpStatus, r.status], r.failText).to.deep.equal([200, PkiStatus.SUCCESS]);
    return new X509Certificate(r.certificates[0]!.der);
  };

  it('refuses a NUL byte in the CN', () => refused(utf8Name([ATTR.CN, 'good.example\u0000evil']), /CN contains control or invisible formatting characters/));
  it('refuses CR and LF in the CN', async () => {
    await refused(utf8Name([ATTR.CN, 'dev\r\nCN=admin']), /contains control or invisible formatting characters/);
    await refused(utf8Name([ATTR.CN, 'dev\nx']), /contains control or invisible formatting characters/);
  });
  it('refuses other C0 controls, DEL and C1 controls', async () => {
    for (const ch of ['\u0001', '\u001b', '\u007f', '\u0085', '\u009b'])
      await refused(utf8Name([ATTR.CN, `dev${ch}x`]), /contains control or invisible formatting characters/);
  });
  it('refuses bidi controls, invisible formatting and noncharacters in the CN: the subject would read as another', async () => {
    for (const ch of ['\u202e', '\u2066', '\u200b', '\u00ad', '\ufeff', '\u2028', '\uffff', '\u{10ffff}'])
      await refused(utf8Name([ATTR.CN, `dev${ch}x`]), /CN contains control or invisible formatting characters/);
    await refused(utf8Name([ATTR.O, 'Acme\u202eCorp'], [ATTR.CN, 'dev']), /O contains control or invisible formatting characters/);
  });
  it('issues a CN with ZWNJ/ZWJ and other scripts', async () => {
    const subject = utf8Name([ATTR.CN, 'می\u200cخواهم Zoë 東京 👩\u200d💻']);
    const r = await send(subject);
    expect([r.httpStatus, r.status], r.failText).to.deep.equal([200, PkiStatus.SUCCESS]);
    expect(r.certificates[0]!.subjectDer.equals(subject)).to.equal(true);
  });
  it('refuses an empty subject', () => refused(nameDer(), /subject is empty/));
  it('refuses an empty RDN and an empty value', async () => {
    await refused(tlv(TAG.sequence, tlv(TAG.set)), /empty RDN/);
    await refused(utf8Name([ATTR.CN, '']), /CN is empty/);
  });
  it('refuses a CN that is an OCTET STRING', () =>
    refused(nameDer(atv(ATTR.CN, TAG.octetString, 'device')), /CN is an OCTET STRING; it must be a UTF8String or a PrintableString/));
  it('refuses a subject of SEQUENCE { INTEGER }', () => refused(tlv(TAG.sequence, tlv(TAG.integer, Buffer.from([5]))), /not a Name/));
  it('refuses BMPString and TeletexString values', async () => {
    await refused(nameDer(atv(ATTR.CN, TAG.bmp, 'device')), /CN is a BMPString; it must be a UTF8String or a PrintableString/);
    await refused(nameDer(atv(ATTR.CN, TAG.teletex, 'device')), /CN is a TeletexString/);
  });
  it('refuses a PrintableString holding characters outside its set, and invalid UTF-8', async () => {
    await refused(nameDer(atv(ATTR.CN, TAG.printable, 'user@example')), /outside PrintableString/);
    await refused(nameDer(atv(ATTR.CN, TAG.utf8, Buffer.from([0x64, 0xc3, 0x28]))), /not valid UTF-8/);
  });
  it('applies the RFC 5280 upper bounds: CN of 65 characters refused, 64 issued', async () => {
    await refused(utf8Name([ATTR.CN, 'a'.repeat(65)]), /CN is longer than 64 characters/);
    await refused(utf8Name([ATTR.CN, 'dev'], [ATTR.O, 'o'.repeat(65)]), /O is longer than 64/);
    await refused(utf8Name([ATTR.CN, 'dev'], [ATTR.OU, 'u'.repeat(65)]), /OU is longer than 64/);
    const cert = await issued(utf8Name([ATTR.CN, 'é'.repeat(64)]));
    expect(cert.subject).to.equal(`CN=${'é'.repeat(64)}`);
  });
  it('C is exactly two letters as a PrintableString; serialNumber a PrintableString', async () => {
    await refused(nameDer(atv(ATTR.C, TAG.printable, 'USA'), atv(ATTR.CN, TAG.utf8, 'dev')), /C must be 2 letters/);
    await refused(nameDer(atv(ATTR.C, TAG.utf8, 'US'), atv(ATTR.CN, TAG.utf8, 'dev')), /C is a UTF8String; it must be a PrintableString/);
    await refused(nameDer(atv(ATTR.serialNumber, TAG.utf8, '123'), atv(ATTR.CN, TAG.utf8, 'dev')), /serialNumber is a UTF8String/);
    await refused(nameDer(atv(ATTR.serialNumber, TAG.printable, '1'.repeat(65)), atv(ATTR.CN, TAG.utf8, 'dev')), /serialNumber is longer than 64/);
  });
  it('takes IA5String only where RFC 5280 allows it: emailAddress and domainComponent', async () => {
    await refused(nameDer(atv(ATTR.CN, TAG.ia5, 'dev')), /CN is an IA5String/);
    await refused(
      nameDer(atv(ATTR.emailAddress, TAG.utf8, 'a@example.com'), atv(ATTR.CN, TAG.utf8, 'dev')),
      /emailAddress is a UTF8String; it must be an IA5String/,
    );
    await refused(nameDer(atv(ATTR.emailAddress, TAG.ia5, Buffer.from('a\u00e9@example.com', 'latin1')), atv(ATTR.CN, TAG.utf8, 'dev')), /outside IA5String/);
    const cert = await issued(
      nameDer(
        atv(ATTR.DC, TAG.ia5, 'com'),
        atv(ATTR.DC, TAG.ia5, 'example'),
        atv(ATTR.C, TAG.printable, 'US'),
        atv(ATTR.emailAddress, TAG.ia5, 'a@example.com'),
        atv(ATTR.CN, TAG.utf8, 'mail-dev'),
      ),
    );
    expect(cert.subject.split('\n')).to.deep.equal(['DC=com', 'DC=example', 'C=US', 'emailAddress=a@example.com', 'CN=mail-dev']);
  });
  it('on /scep: attribute types outside the allow-list are refused', async () => {
    await refused(utf8Name([ATTR.title, 'boss'], [ATTR.CN, 'dev']), /attribute type 2\.5\.4\.12 is not accepted by the default endpoint/);
    await refused(utf8Name(['1.2.3.4.5', 'x'], [ATTR.CN, 'dev']), /1\.2\.3\.4\.5 is not accepted/);
  });
  it('on /scep: a CN is required; duplicate attributes and multi-valued RDNs are refused', async () => {
    await refused(utf8Name([ATTR.O, 'Acme']), /a CN is required/);
    await refused(utf8Name([ATTR.CN, 'one'], [ATTR.CN, 'two']), /CN appears more often/);
    await refused(nameDer([atv(ATTR.CN, TAG.utf8, 'dev'), atv(ATTR.O, TAG.utf8, 'Acme')]), /multi-valued RDNs/);
  });
  it('issues a plain subject, which X509Certificate and the inventory read back', async () => {
    const cert = await issued(utf8Name([ATTR.O, 'Acme'], [ATTR.OU, 'MDM'], [ATTR.CN, 'plain-device']));
    expect(cert.subject.split('\n')).to.deep.equal(['O=Acme', 'OU=MDM', 'CN=plain-device']);
    expect(cert.checkIssued(new X509Certificate(cas.ca.der))).to.equal(true);
    const [row] = await server.app.services.db.manager.query('SELECT subject FROM certificates WHERE serial = ?', [cert.serialNumber]);
    expect(row.subject).to.equal('CN=plain-device,OU=MDM,O=Acme');
  });

  it('parse-back refuses a certificate OpenSSL cannot read or that the CA key did not sign', async () => {
    const r = await send(utf8Name([ATTR.CN, 'parse-back']));
    const good = r.certificates[0]!;
    const caKey = server.app.services.authority.caCertificate.publicKey;
    expect(() => parseBack(good, caKey)).to.not.throw();
    const forged = Buffer.from(good.der);
    flipBits(forged, forged.length - 1, 0xff); // the signature's last byte
    const refusal = (() => {
      try {
        parseBack(ParsedCertificate.fromDer(forged), caKey);
      } catch (err) {
        return err;
      }
    })();
    expect(refusal).to.be.instanceOf(ScepFailure);
    expect((refusal as ScepFailure).failInfo).to.equal(FailInfo.badRequest);
    // checked against another key than the CA's: refused
    expect(() => parseBack(good, createPublicKey(key))).to.throw(ScepFailure, /could not be read back/);
  });

  it('the check after signing refuses a certificate that is not DER or that the CA key did not sign', async () => {
    const r = await send(utf8Name([ATTR.CN, 'checked-after-signing']));
    const good = r.certificates[0]!;
    const caKey = server.app.services.authority.caCertificate.publicKey;
    expect(() => checkIssued(good, caKey)).to.not.throw();
    const failure = (cert: ParsedCertificate, key: KeyObject) => {
      try {
        checkIssued(cert, key);
      } catch (err) {
        return err;
      }
    };
    // the signature's last byte
    const forged = Buffer.from(good.der);
    flipBits(forged, forged.length - 1, 0xff);
    const refusal = failure(ParsedCertificate.fromDer(forged), caKey);
    expect(refusal).to.be.instanceOf(ScepFailure);
    expect((refusal as ScepFailure).failInfo).to.equal(FailInfo.badRequest);
    // checked against another key than the CA's
    expect(failure(good, createPublicKey(key))).to.be.instanceOf(ScepFailure);
    // the same bytes under a BER length (three length octets where two are minimal): read, signed, yet not DER
    expect(good.der.subarray(0, 2)).to.deep.equal(Buffer.from([0x30, 0x82]));
    const ber = Buffer.concat([Buffer.from([0x30, 0x83, 0x00]), good.der.subarray(2)]);
    expect(failure(ParsedCertificate.fromDer(ber), caKey)).to.be.instanceOf(ScepFailure);
    // a signature algorithm other than sha256WithRSAEncryption in the outer field
    const otherAlg = Buffer.from(good.der);
    const at = otherAlg.lastIndexOf(Buffer.from('2a864886f70d01010b', 'hex'));
    otherAlg[at + 8] = 0x0d; // sha512WithRSAEncryption
    expect(failure(ParsedCertificate.fromDer(otherAlg), caKey)).to.be.instanceOf(ScepFailure);
  });

  it('the check after signing accepts an issuer name with a multi-valued RDN out of DER order (a CA made elsewhere)', async () => {
    const authority = server.app.services.authority;
    const ca = authority.ca;
    // O and CN in one RDN, the longer O first: not the DER order of the SET's components
    const o = atv(ATTR.O, TAG.utf8, 'Acme Corporation Ltd');
    const cn = atv(ATTR.CN, TAG.utf8, 'CA');
    expect(Buffer.compare(o, cn)).to.equal(1);
    const issuer = nameDer([o, cn]);
    const der = await buildCertificate(
      {
        serial: randomSerial(),
        subject: utf8Name([ATTR.CN, 'device']),
        issuer,
        subjectPublicKeyInfo: createPublicKey(key).export({ type: 'spki', format: 'der' }),
        notBefore: new Date(Date.now() - 60_000),
        notAfter: new Date(Date.now() + 86_400_000),
        keyUsage: ['digitalSignature'],
      },
      ca.key,
    );
    const cert = ParsedCertificate.fromDer(der);
    expect(() => new X509Certificate(der)).to.not.throw();
    expect(() => checkIssued(cert, ca.certificate.publicKey)).to.not.throw();
  });

  describe('on an integration: exactly the template attributes', () => {
    let integ: IntegrationServer;
    let target: Awaited<ReturnType<typeof createIosCerts>>;
    let icas: CaCertificates;
    before(async () => {
      integ = await startIntegrationServer();
      target = await createIosCerts(integ);
      icas = await integ.scepClient(target.id).getCaCertificates();
    });
    after(async () => integ.destroy());

    const enroll = async (subject: Buffer) =>
      sendRawPkcsReq(`${integ.url}/scep/${target.id}`, icas, subject, key, await fetchChallenge(integ, target), `integ-${++n}`);
    const udid = '00008030-001A35E83C38802E';

    it('refuses an attribute the template does not name', async () => {
      const r = await enroll(utf8Name([ATTR.O, 'Acme'], [ATTR.OU, target.id], [ATTR.CN, udid]));
      expect([r.httpStatus, r.status, r.failInfo]).to.deep.equal([200, PkiStatus.FAILURE, FailInfo.badRequest]);
      expect(r.failText).to.match(/attribute type O is not accepted by the template CN=\{DeviceUid\},OU=/);
      expect(r.certificates).to.deep.equal([]);
    });
    it('refuses a second OU and control characters in the UDID', async () => {
      const twice = await enroll(utf8Name([ATTR.OU, target.id], [ATTR.OU, 'extra'], [ATTR.CN, udid]));
      expect([twice.status, twice.failInfo, twice.failText]).to.deep.equal([
        PkiStatus.FAILURE,
        FailInfo.badRequest,
        `subject refused: OU appears more often than the template CN={DeviceUid},OU=${target.id} allows`,
      ]);
      const nul = await enroll(utf8Name([ATTR.OU, target.id], [ATTR.CN, `${udid}\u0000x`]));
      expect([nul.status, nul.failInfo]).to.deep.equal([PkiStatus.FAILURE, FailInfo.badRequest]);
      expect(nul.failText).to.match(/contains control or invisible formatting characters/);
    });
    it('issues exactly the template subject', async () => {
      const r = await enroll(utf8Name([ATTR.OU, target.id], [ATTR.CN, udid]));
      expect(r.status, r.failText).to.equal(PkiStatus.SUCCESS);
      expect(new X509Certificate(r.certificates[0]!.der).subject.split('\n')).to.deep.equal([`OU=${target.id}`, `CN=${udid}`]);
    });
  });
});
