import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import { CertificateCheck } from '../../../src/trust/certificate-check';
import { readFixture } from '../../support/fixtures';

describe('CertificateCheck', () => {
  const ca = readFixture('test-ca.cert.pem');
  const [a, b, c] = ['test-ca.cert.pem', 'test-ra-encrypt.cert.pem', 'test-ra-sign.cert.pem'].map((f) => new X509Certificate(readFixture(f)));

  it('chains certificates of our CA and caches the answer, forgetting the least recently used first', () => {
    let caReads = 0;
    const check = new CertificateCheck(() => {
      caReads++;
      return [new X509Certificate(ca).raw];
    }, 2);
    const reads = (cert: X509Certificate | undefined) => {
      const before = caReads;
      expect(check.check(cert!).ours).to.equal(true);
      return caReads - before;
    };
    // a miss reads the CA list, a hit does not
    expect([reads(a), reads(b), reads(a)]).to.deep.equal([1, 1, 0]);
    // c pushes out b, the least recently used; a stays
    expect([reads(c), reads(a), reads(b)]).to.deep.equal([1, 0, 1]);
  });

  it('says a certificate of another issuer is not ours', () => {
    const check = new CertificateCheck(new X509Certificate(readFixture('test-ra-sign.cert.pem')));
    expect(check.check(b!).ours).to.equal(false);
  });
});
