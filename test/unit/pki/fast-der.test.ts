import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import * as pkijs from 'pkijs';
import { ParsedCertificate } from '../../../src/pki/certificate';
import { publicKeyFromSpki } from '../../../src/pki/public-key';
import { pemDecode } from '../../../src/pki/der';
import { toArrayBuffer } from '../../../src/shared/bytes';

const fixture = (f: string) => pemDecode(fs.readFileSync(path.join(__dirname, '..', '..', '..', '..', 'test', 'fixtures', f), 'utf8'), 'CERTIFICATE');

describe('pki fast DER paths agree with pkijs and OpenSSL', () => {
  it('reads certificate fields as pkijs does', () => {
    for (const f of ['test-ca.cert.pem', 'test-ra-sign.cert.pem', 'test-ra-encrypt.cert.pem']) {
      const der = fixture(f);
      const fast = ParsedCertificate.fromDer(der);
      const ref = ParsedCertificate.fromPkijs(pkijs.Certificate.fromBER(toArrayBuffer(der)));
      for (const k of ['serialHex', 'serialDer', 'subject', 'issuer', 'issuerDer', 'subjectDer', 'spkiDer', 'notBefore', 'notAfter'] as const) {
        expect(fast[k], `${f} ${k}`).to.deep.equal(ref[k]);
      }
    }
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
