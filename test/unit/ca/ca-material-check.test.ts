import { expect } from 'chai';
import { createPrivateKey } from 'node:crypto';
import { checkIssuedByCa, checkKeyMatches, isEncryptedPem, readCertificate, readPrivateKey } from '../../../src/ca/ca-material-check';
import { readFixtureText } from '../../support/fixtures';

describe('ca/ca-material-check: the CA and RA files are checked before use', () => {
  const caPem = readFixtureText('test-ca.cert.pem');
  const caKeyPem = readFixtureText('test-ca.key.pem');
  const raPem = readFixtureText('test-ra-sign.cert.pem');
  const raKeyPem = readFixtureText('test-ra-sign.key.pem');

  it('tells an encrypted PKCS#8 key from a clear one', () => {
    const encrypted = createPrivateKey(caKeyPem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString();
    expect(isEncryptedPem(encrypted)).to.equal(true);
    expect(isEncryptedPem(caKeyPem)).to.equal(false);
  });

  it('reads an encrypted key with its passphrase and refuses a wrong one, naming the variable', () => {
    const encrypted = createPrivateKey(caKeyPem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'right' }).toString();
    expect(readPrivateKey('ca.key', encrypted, 'right').asymmetricKeyType).to.equal('rsa');
    expect(() => readPrivateKey('ca.key', encrypted, 'wrong')).to.throw('SCEPTER_CA_KEY_PASSPHRASE');
  });

  it('refuses a certificate with the wrong key, and one the CA did not issue', () => {
    const ca = readCertificate('ca.pem', caPem);
    const ra = readCertificate('ra.pem', raPem);
    expect(() => checkKeyMatches(ca, createPrivateKey(caKeyPem), 'ca.pem', 'ca.key')).to.not.throw();
    expect(() => checkKeyMatches(ca, createPrivateKey(raKeyPem), 'ca.pem', 'ra.key')).to.throw(/ca\.pem|ra\.key/);
    expect(() => checkIssuedByCa(ra, ca, 'ra.pem', 'ca.pem')).to.not.throw();
    expect(() => checkIssuedByCa(ca, ra, 'ca.pem', 'ra.pem')).to.throw(/ca\.pem|ra\.pem/);
  });

  it('refuses a file that holds no certificate, naming it', () => {
    expect(() => readCertificate('broken.pem', 'not a certificate')).to.throw('broken.pem');
  });
});
