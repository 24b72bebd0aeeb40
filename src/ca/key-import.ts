import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config';
import { ConfigError } from '../shared/errors';
import { checkKeyMatches, readCertificate, readText } from './ca-material-check';
import { FILES } from './ca-material';
import { FileKeyStore } from './file-key-store';
import type { KeyRole } from './key-store';
import { Pkcs11KeyStore } from './pkcs11/pkcs11-key-store';
import { Pkcs11Token } from './pkcs11/pkcs11-token';

const CERT_FILES: Record<KeyRole, string> = { ca: FILES.caCert, raSign: FILES.raSignCert, raEncrypt: FILES.raEncCert };

export interface KeyImportResult {
  imported: { role: KeyRole; from: string; to: string }[];
}

/**
 * `scepter ca import-keys`: copies the CA and RA key files of the certs directory into the token
 * SCEPTER_CA_KEY names, each checked against its certificate first and refused if the token holds
 * that object already (an import happens once). The token marks them sensitive and not extractable;
 * the files stay where they are for the admin to move offline or destroy.
 */
export async function importKeyFiles(config: Config): Promise<KeyImportResult> {
  if (!config.pkcs11)
    throw new ConfigError(
      'SCEPTER_CA_KEY',
      'set it to the pkcs11: URI the CA key is to be imported to (with SCEPTER_PKCS11_MODULE and SCEPTER_PKCS11_PIN_FILE)',
    );
  const files = new FileKeyStore(config.certsDir, config.ca.passphrase, undefined);
  const roles = (['ca', 'raSign', 'raEncrypt'] as const).filter((r) => files.has(r));
  if (!roles.includes('ca')) throw new ConfigError('SCEPTER_CERTS_DIR', `no CA key file ${files.where('ca')} to import`);
  // every key is read and checked before the first goes into the token
  const keys = roles.map((role) => {
    const certFile = path.join(config.certsDir, CERT_FILES[role]);
    if (!fs.existsSync(certFile)) throw new ConfigError('SCEPTER_CERTS_DIR', `${files.where(role)} has no certificate ${certFile} beside it`);
    const key = files.readKeyObject(role);
    checkKeyMatches(readCertificate(certFile, readText(certFile)), key, certFile, files.where(role));
    return { role, key };
  });
  const store = new Pkcs11KeyStore(Pkcs11Token.open(config.pkcs11, config.pkcs11.keys.ca), config.pkcs11.keys, false);
  try {
    for (const { role } of keys) {
      if (store.has(role))
        throw new ConfigError(config.pkcs11.keys[role].variable, `token "${store.token.label}" holds ${store.where(role)} already: nothing was imported`);
    }
    const result: KeyImportResult = { imported: [] };
    for (const { role, key } of keys) {
      store.importKey(role, key);
      result.imported.push({ role, from: files.where(role), to: store.where(role) });
    }
    return result;
  } finally {
    await store.close();
  }
}
