import { expect } from 'chai';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { ReadinessService, ReadinessDeps } from '../../../src/ops/readiness.service';
import { readFixture } from '../../support/fixtures';
import { SoftwareKey } from '../../../src/pki/private-key';

const HOUR = 3_600_000;

describe('readiness checks', () => {
  const caKey = new SoftwareKey(createPrivateKey(readFixture('test-ca.key.pem')));
  const caCertificateDer = new X509Certificate(readFixture('test-ca.cert.pem')).raw;
  const now = new Date('2026-12-04T12:00:00Z');
  const deps = (over: Partial<ReadinessDeps> = {}): ReadinessDeps => ({
    probeDatabaseWrite: async () => undefined,
    caKey,
    caCertificateDer,
    currentCrl: () => ({ thisUpdate: new Date(now.getTime() - HOUR), nextUpdate: new Date(now.getTime() + 23 * HOUR) }),
    publicUrlIsDefault: false,
    publicUrl: 'https://scep.example.com',
    clock: { now: () => now },
    ...over,
  });

  it('passes every check on a healthy instance', async () => {
    const r = await new ReadinessService(deps()).check();
    expect(r.ready).to.equal(true);
    expect(r.checks.map((c) => [c.name, c.ok])).to.deep.equal([
      ['database', true],
      ['ca_key', true],
      ['crl', true],
      ['public_url', true],
    ]);
  });

  it('fails the CRL past nextUpdate, or not republished at half-life, or never published', async () => {
    const expired = await new ReadinessService(
      deps({ currentCrl: () => ({ thisUpdate: new Date(now.getTime() - 25 * HOUR), nextUpdate: new Date(now.getTime() - HOUR) }) }),
    ).check();
    expect(expired.failed).to.deep.equal(['crl']);
    expect(expired.checks.find((c) => c.name === 'crl')!.detail).to.match(/expired at/);
    const stale = await new ReadinessService(
      deps({ currentCrl: () => ({ thisUpdate: new Date(now.getTime() - 20 * HOUR), nextUpdate: new Date(now.getTime() + 4 * HOUR) }) }),
    ).check();
    expect(stale.checks.find((c) => c.name === 'crl')!.detail).to.match(/not republished at half-life/);
    const none = await new ReadinessService(deps({ currentCrl: () => undefined })).check();
    expect(none.checks.find((c) => c.name === 'crl')!.detail).to.equal('no CRL published yet');
  });

  it('fails a CA key that does not match the certificate, a failing or hung database, and the default URL', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const r = await new ReadinessService(
      deps({
        caKey: new SoftwareKey(other),
        probeDatabaseWrite: () => new Promise(() => undefined),
        timeoutMs: 200,
        publicUrlIsDefault: true,
        publicUrl: 'http://localhost:8080',
      }),
    ).check();
    expect(r.ready).to.equal(false);
    expect(r.failed).to.deep.equal(['database', 'ca_key', 'public_url']);
    expect(r.checks.find((c) => c.name === 'database')!.detail).to.equal('no answer within 200 ms');
    expect(r.checks.find((c) => c.name === 'ca_key')!.detail).to.equal('the CA key does not match the CA certificate');
    const failing = await new ReadinessService(
      deps({ probeDatabaseWrite: async () => Promise.reject(Object.assign(new Error('disk I/O error\n  at stack'), { code: 'SQLITE_IOERR' })) }),
    ).check();
    // only the driver's code goes out on the public endpoint, never its message
    expect(failing.checks.find((c) => c.name === 'database')!.detail).to.equal('the test write failed (SQLITE_IOERR)');
  });
});
