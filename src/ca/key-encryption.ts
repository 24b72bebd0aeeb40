import fs from 'node:fs';
import path from 'node:path';
import { createPrivateKey } from 'node:crypto';
import { ConfigError } from '../shared/errors';
import { writeFileAtomic } from '../shared/secure-file';
import { FILES, PREVIOUS_RA_FILES } from './ca-material';
import { isEncryptedPem } from './ca-material-check';
import { OCSP_SIGNER_FILE } from './ocsp-signer-material';

export interface KeyEncryptionResult {
  encrypted: string[];
  alreadyEncrypted: string[];
}

const PRIVATE_KEY_BLOCK = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]*?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----\r?\n?/;

/**
 * `scepter ca encrypt-key`: rewrites every unencrypted private key in the certificates directory
 * (CA, RA pair, OCSP signer, of every CA generation) as encrypted PKCS#8 under `passphrase`, each file replaced atomically
 * with mode 0600 (the rest of a file, e.g. the OCSP signer's certificate, is kept). A key that is
 * already encrypted must open with `passphrase`, so the directory never holds keys under two.
 */
export function encryptKeyFiles(certsDir: string, passphrase: string): KeyEncryptionResult {
  const result: KeyEncryptionResult = { encrypted: [], alreadyEncrypted: [] };
  // every CA generation's files (prefixed g<n>-) and an RA encryption key a renewal kept
  const names = new Set([FILES.caKey, FILES.raSignKey, FILES.raEncKey, PREVIOUS_RA_FILES.key, OCSP_SIGNER_FILE]);
  const files = (fs.existsSync(certsDir) ? fs.readdirSync(certsDir) : [])
    .filter((f) => names.has(f.replace(/^g[0-9]+-/, '')))
    .sort()
    .map((f) => path.join(certsDir, f));
  if (!files.length) throw new ConfigError('SCEPTER_CERTS_DIR', `no key files in ${certsDir}`);
  const rewrites: [string, string][] = [];
  for (const file of files) {
    const pem = fs.readFileSync(file, 'utf8');
    const block = PRIVATE_KEY_BLOCK.exec(pem);
    if (!block) throw new ConfigError('SCEPTER_CERTS_DIR', `${file}: no PEM private key in this file`);
    if (isEncryptedPem(block[0])) {
      try {
        createPrivateKey({ key: block[0], passphrase });
      } catch {
        throw new ConfigError('SCEPTER_CA_KEY_PASSPHRASE', `${file} is encrypted under another passphrase: nothing was changed`);
      }
      result.alreadyEncrypted.push(file);
      continue;
    }
    let encrypted: string;
    try {
      encrypted = createPrivateKey(block[0]).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }) as string;
    } catch {
      throw new ConfigError('SCEPTER_CERTS_DIR', `cannot read the private key in ${file}: nothing was changed`);
    }
    rewrites.push([file, pem.replace(block[0], encrypted)]);
  }
  // every key was read before the first is rewritten: a bad file changes nothing
  for (const [file, content] of rewrites) {
    writeFileAtomic(file, content);
    result.encrypted.push(file);
  }
  return result;
}
