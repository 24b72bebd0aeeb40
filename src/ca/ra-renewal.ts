import fs from 'node:fs';
import path from 'node:path';
import { pemEncode } from '../pki/der';
import { ConfigError } from '../shared/errors';
import {
  CaMaterial,
  CaMaterialOptions,
  FILES,
  KeyPairIdentity,
  loadIdentity,
  PREVIOUS_RA_FILES,
  raCertificate,
  raCertificateKeys,
  withCreationLock,
} from './ca-material';
import { checkIssuedByCa, checkKeyMatches, readCertificate, readText } from './ca-material-check';

export type RaRenewalOptions = Pick<CaMaterialOptions, 'dir' | 'keys' | 'commonName' | 'validityDays' | 'raValidityDays' | 'prefix'> & {
  /** renew the RA pair once either certificate expires within this many days */
  renewBeforeDays: number;
};

/**
 * The RA encryption pair a renewal replaced, while its certificate is unexpired: clients that cached
 * GetCACert encrypt to it for a while yet.
 */
export function loadPreviousRa(o: Pick<CaMaterialOptions, 'dir' | 'keys' | 'prefix'>, now: Date): KeyPairIdentity[] {
  const keys = o.keys.forPrefix(o.prefix ?? '');
  const p = (f: string) => path.join(o.dir, `${o.prefix ?? ''}${f}`);
  if (!fs.existsSync(p(PREVIOUS_RA_FILES.cert))) return [];
  const key = keys.previousRaEncryption();
  if (!key) return [];
  const certificate = readCertificate(p(PREVIOUS_RA_FILES.cert), readText(p(PREVIOUS_RA_FILES.cert)));
  checkKeyMatches(certificate, key, p(PREVIOUS_RA_FILES.cert), keys.previousRaWhere());
  return certificate.notAfter.getTime() > now.getTime() ? [{ key, certificate }] : [];
}

/**
 * Renews the RA pair of `material` when either certificate is within `renewBeforeDays` of expiring:
 * new keys and certificates from the same CA, the old encryption pair kept as the previous one (it
 * keeps decrypting, GetCACert serves the new pair). Also picks up a renewal another instance made.
 * Returns the new material, or undefined when nothing changed.
 */
export async function renewRaIfDue(o: RaRenewalOptions, material: CaMaterial, now: Date): Promise<CaMaterial | undefined> {
  if (!material.raSigning || !material.raEncryption) return undefined;
  const keys = o.keys.forPrefix(o.prefix ?? '');
  const p = (f: string) => path.join(o.dir, `${o.prefix ?? ''}${f}`);
  const margin = o.renewBeforeDays * 86_400_000;
  const due = (id: KeyPairIdentity) => id.certificate.notAfter.getTime() - now.getTime() <= margin;
  const ca = material.ca;
  // the usual case, checked without the lock: nothing due and the files still hold what is loaded
  const unchanged = (file: string, id: KeyPairIdentity) => {
    try {
      return fs.readFileSync(file, 'utf8') === pemEncode('CERTIFICATE', id.certificate.der);
    } catch {
      return false;
    }
  };
  if (
    !due(material.raSigning) &&
    !due(material.raEncryption) &&
    unchanged(p(FILES.raSignCert), material.raSigning) &&
    unchanged(p(FILES.raEncCert), material.raEncryption)
  )
    return undefined;
  return withCreationLock(path.join(o.dir, FILES.lock), async () => {
    await keys.recoverRa(raCertificateKeys(o.dir, o.prefix));
    let signing = loadIdentity(keys, 'raSign', p(FILES.raSignCert));
    let encryption = loadIdentity(keys, 'raEncrypt', p(FILES.raEncCert));
    if (due(signing) || due(encryption)) {
      const raOptions = { commonName: o.commonName, validityDays: o.validityDays, raValidityDays: o.raValidityDays };
      const sKey = await keys.generateNextRa('raSign', 2048);
      const eKey = await keys.generateNextRa('raEncrypt', 2048);
      const sCert = await raCertificate(ca, sKey, 'digitalSignature', raOptions, now.getTime());
      const eCert = await raCertificate(ca, eKey, 'keyEncipherment', raOptions, now.getTime());
      if (due({ key: sKey, certificate: sCert }))
        throw new ConfigError(
          'SCEPTER_RA_RENEW_BEFORE_DAYS',
          'a new RA certificate would be due for renewal at once: the margin must be shorter than the RA validity',
        );
      // the current encryption pair becomes the previous one as the new pair replaces it
      const replaced = encryption.certificate.der;
      await keys.promoteRa({ raSign: sKey, raEncrypt: eKey }, () => {
        fs.writeFileSync(p(PREVIOUS_RA_FILES.cert), pemEncode('CERTIFICATE', replaced));
        writeCert(p(FILES.raSignCert), sCert.der);
        writeCert(p(FILES.raEncCert), eCert.der);
      });
      // loaded again as stored: a token key is named by the role's label from now on
      signing = loadIdentity(keys, 'raSign', p(FILES.raSignCert));
      encryption = loadIdentity(keys, 'raEncrypt', p(FILES.raEncCert));
    }
    if (signing.certificate.der.equals(material.raSigning!.certificate.der) && encryption.certificate.der.equals(material.raEncryption!.certificate.der))
      return undefined;
    checkIssuedByCa(signing.certificate, ca.certificate, p(FILES.raSignCert), p(FILES.caCert));
    checkIssuedByCa(encryption.certificate, ca.certificate, p(FILES.raEncCert), p(FILES.caCert));
    return { ...material, raSigning: signing, raEncryption: encryption, previousRaEncryption: loadPreviousRa(o, now) };
  });
}

function writeCert(file: string, der: Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, pemEncode('CERTIFICATE', der));
  fs.renameSync(tmp, file);
}
