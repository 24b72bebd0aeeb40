import { expect } from 'chai';
import { constants, createPublicKey, generateKeyPairSync, publicEncrypt, randomBytes, verify, X509Certificate } from 'node:crypto';
import { RsaWorkerPool } from '../../../src/pki/rsa-worker-pool';
import { buildName } from '../../../src/pki/names';
import { certificateTbs } from '../../../src/pki/certificate-builder';

describe('RsaWorkerPool: the RSA private-key operations on worker threads', () => {
  const ca = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pool = new RsaWorkerPool(2);
  after(() => pool.close());

  const tbs = (subjectKey = ca.publicKey) =>
    certificateTbs({
      serial: randomBytes(16),
      subject: buildName([{ type: 'CN', value: 'pool-test' }]),
      issuer: buildName([{ type: 'CN', value: 'Pool Test CA' }]),
      subjectPublicKeyInfo: subjectKey.export({ type: 'spki', format: 'der' }),
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      keyUsage: ['digitalSignature'],
    });

  it('decrypts raw, signs, and signs and reads back certificates, with several keys across its threads', async () => {
    const secret = randomBytes(32);
    const ct = publicEncrypt({ key: ca.publicKey, padding: constants.RSA_PKCS1_PADDING }, secret);
    const data = randomBytes(300);
    const results = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const key = i % 2 ? other : ca;
        const [em, sig, cert] = await Promise.all([
          pool.decrypt(ca.privateKey, ct),
          pool.sign('sha256', data, key.privateKey),
          pool.certificate(tbs(), key.privateKey),
        ]);
        return { key, em, sig, cert };
      }),
    );
    for (const { key, em, sig, cert } of results) {
      // the raw block ends with the PKCS#1 v1.5 padded secret
      expect(em.length).to.equal(256);
      expect(em.subarray(256 - 32).equals(secret)).to.equal(true);
      expect(verify('sha256', data, key.publicKey, sig)).to.equal(true);
      expect(cert.readable).to.equal(true);
      expect(new X509Certificate(cert.der).verify(createPublicKey(key.privateKey))).to.equal(true);
    }
  });

  it('reports a certificate OpenSSL cannot read as not readable', async () => {
    const garbage = Buffer.concat([Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01])]);
    const r = await pool.certificate(garbage, ca.privateKey);
    expect(r.readable).to.equal(false);
  });

  it('fails a job with a clear error rather than hanging', async () => {
    let err: unknown;
    await pool.decrypt(ca.privateKey, randomBytes(300)).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(Error);
  });
});
