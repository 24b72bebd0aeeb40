import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { assertStrictDer, strictDerProblem } from '../../support/strict-der';
import { openssl, tempFile } from '../../support/openssl-cli';

const hex = (h: string) => Buffer.from(h.replace(/\s+/g, ''), 'hex');
const FIXTURES = path.join(__dirname, '../../../../test/fixtures');

/** The validator the DER output test relies on: it must accept DER and refuse each BER liberty. */
describe('test support: strict DER validator', () => {
  it('accepts certificates and a CSR that OpenSSL wrote', () => {
    for (const f of ['test-ca.cert.pem', 'test-ra-sign.cert.pem', 'test-ra-encrypt.cert.pem']) {
      const pem = fs.readFileSync(path.join(FIXTURES, f), 'utf8');
      assertStrictDer(Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64'), f);
    }
    const out = tempFile('strict.csr', '');
    const csr = openssl([
      'req',
      '-new',
      '-key',
      path.join(FIXTURES, 'test-ca.key.pem'),
      '-subj',
      '/CN=a/O=b',
      '-addext',
      'keyUsage=critical,digitalSignature',
      '-outform',
      'DER',
      '-out',
      out,
    ]);
    expect(csr.ok, csr.out).to.equal(true);
    assertStrictDer(fs.readFileSync(out), 'CSR');
  });

  const cases: [string, string, RegExp][] = [
    ['indefinite length', '3080 020101 0000', /indefinite length/],
    ['long form for a short length', '308103 020101', /non-minimal length/],
    ['length with a leading zero octet', '30820003 020101', /non-minimal length/],
    ['constructed OCTET STRING', '2406 0401aa 0401bb', /constructed encoding of universal type 4/],
    ['constructed UTF8String', '2c03 0c0161', /constructed encoding of universal type 12/],
    ['INTEGER with a redundant 00', '02020001', /non-minimal INTEGER/],
    ['INTEGER with a redundant FF', '0202ff80', /non-minimal INTEGER/],
    ['empty INTEGER', '0200', /empty INTEGER/],
    ['BOOLEAN 01', '010101', /BOOLEAN/],
    ['NULL with contents', '050100', /NULL/],
    ['BIT STRING with non-zero unused bits', '030207ff', /unused bits not zero/],
    ['unsorted SET OF', '3106 020102 020101', /not in DER order/],
    ['UTCTime without seconds', `170b ${Buffer.from('2501010000Z').toString('hex')}`, /UTCTime/],
    ['GeneralizedTime with a fraction ending in 0', '1812 32303235303130313030303030302e31305a', /GeneralizedTime/],
    ['trailing bytes', '3000 00', /trailing bytes/],
    ['critical FALSE written out', '300c 0603551d0f 010100 04020500', /critical FALSE must be omitted/],
    ['BER inside an extension value', '300b 0603551d13 0404 3080 0000', /extnValue.*indefinite length/],
  ];
  for (const [what, h, expected] of cases) {
    it(`refuses ${what}`, () => {
      const problem = strictDerProblem(hex(h));
      expect(problem, h).to.be.a('string');
      expect(problem).to.match(expected);
    });
  }

  it('refuses unsorted implicit SET OF certificates in a SignedData and accepts them sorted', () => {
    const certB = '3003 020102';
    const certA = '3003 020101';
    const sd = (certs: string) => {
      const body = `020101 3100 300b06092a864886f70d010701 a00a ${certs} 3100`;
      return hex(`30${hex(body).length.toString(16).padStart(2, '0')} ${body}`);
    };
    expect(strictDerProblem(sd(certB + certA))).to.match(/not in DER order/);
    expect(strictDerProblem(sd(certA + certB))).to.equal(undefined);
  });

  it('accepts the minimal forms', () => {
    for (const h of [
      '020100',
      '0201ff',
      '02020080',
      '0202ff7f',
      '0101ff',
      '010100',
      '0500',
      '03020780',
      '3106 020101 020102',
      '170d3235303130313030303030305a',
    ]) {
      expect(strictDerProblem(hex(h)), h).to.equal(undefined);
    }
  });
});
