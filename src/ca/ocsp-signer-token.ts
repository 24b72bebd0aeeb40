import fs from 'node:fs';
import path from 'node:path';
import { pemEncode } from '../pki/der';
import { writeFileAtomic } from '../shared/secure-file';
import { FILES, withCreationLock, type KeyPairIdentity } from './ca-material';
import { readCertificate } from './ca-material-check';
import { responderCertificate, usable, type OcspSignerOptions } from './ocsp-signer-material';
import type { Pkcs11KeyStore } from './pkcs11/pkcs11-key-store';
import { X509Certificate } from 'node:crypto';

/** The responder certificate beside a responder key kept in a PKCS#11 token. */
export const OCSP_SIGNER_CERT_FILE = 'ocsp-signer.cert.pem';

/**
 * The token-held responder: reused while its certificate is from this CA and outside its renewal
 * margin; otherwise (missing, due, or a certificate that is not the key's, after an interrupted
 * renewal) a new key is generated in the token under a staging label, certified, then relabelled
 * into place, the replaced key kept as `-previous` until the next renewal (an instance that has not
 * reloaded yet keeps signing with it). Under the certs directory's lock: instances adopt one renewal.
 */
export async function loadOrCreateTokenOcspSigner(ca: KeyPairIdentity, keys: Pkcs11KeyStore, o: OcspSignerOptions, now: Date): Promise<KeyPairIdentity> {
  const file = path.join(o.dir, `${o.prefix ?? ''}${OCSP_SIGNER_CERT_FILE}`);
  const rsa = { ...o, keyType: 'rsa' as const };
  const current = (): KeyPairIdentity | undefined => {
    if (!fs.existsSync(file)) return undefined;
    const key = keys.ocspKey();
    if (!key) return undefined;
    const certificate = readCertificate(file, fs.readFileSync(file, 'utf8'));
    const matches = certificate.spkiDer.equals(key.publicKey.export({ type: 'spki', format: 'der' }));
    const fromCa = new X509Certificate(certificate.der).verify(ca.certificate.publicKey);
    return matches && fromCa ? { key, certificate } : undefined;
  };
  const existing = current();
  if (existing && usable(existing, ca, rsa, now)) return existing;
  return withCreationLock(path.join(o.dir, FILES.lock), async () => {
    const adopted = current();
    if (adopted && usable(adopted, ca, rsa, now)) return adopted;
    const next = await keys.generateNextOcsp(2048);
    const certificate = await responderCertificate(ca, next.publicKey, o, now);
    await keys.promoteOcsp();
    writeFileAtomic(file, pemEncode('CERTIFICATE', certificate.der), 0o644);
    return { key: keys.ocspKey()!, certificate };
  });
}
