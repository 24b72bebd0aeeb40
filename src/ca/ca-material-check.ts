import fs from 'node:fs';
import { createPrivateKey, KeyObject, X509Certificate } from 'node:crypto';
import type { PrivateKey } from '../pki/private-key';
import { ParsedCertificate } from '../pki/certificate';
import { pemDecode } from '../pki/der';
import { ConfigError } from '../shared/errors';

/**
 * Start-up checks of the key material on disk. Each failure is a ConfigError naming the file, so the
 * server stops (exit 2) instead of starting with a key that signs what its certificate cannot
 * vouch for (every enrollment then fails) or silently replacing a responder certificate.
 */

/** The command that rewrites unencrypted key files under SCEPTER_CA_KEY_PASSPHRASE. */
export const ENCRYPT_KEY_COMMAND = 'scepter ca encrypt-key';

export function isEncryptedPem(pem: string): boolean {
  return /-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(pem) || /Proc-Type: 4,ENCRYPTED/.test(pem);
}

/**
 * The private key in `pem` (read from `file`). With a passphrase configured, a key stored
 * unencrypted is refused: the admin believes it protected, and the fix is one command.
 */
export function readPrivateKey(file: string, pem: string, passphrase: string | undefined, variable = 'SCEPTER_CA_KEY_PASSPHRASE'): KeyObject {
  // a damaged file is the directory's problem; only decryption is the passphrase's
  const fileVariable = variable === 'SCEPTER_CA_KEY_PASSPHRASE' ? 'SCEPTER_CERTS_DIR' : variable;
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) throw new ConfigError(fileVariable, `${file}: no PEM private key in this file`);
  if (passphrase !== undefined && !isEncryptedPem(pem)) {
    throw new ConfigError(
      'SCEPTER_CA_KEY_PASSPHRASE',
      `${file} is stored unencrypted although a passphrase is set: run \`${ENCRYPT_KEY_COMMAND}\` (with SCEPTER_CA_KEY_PASSPHRASE set) to encrypt it`,
    );
  }
  try {
    return createPrivateKey({ key: pem, passphrase });
  } catch {
    if (isEncryptedPem(pem)) throw new ConfigError(variable, `cannot decrypt ${file} (missing or wrong passphrase)`);
    throw new ConfigError(fileVariable, `cannot read the private key in ${file} (corrupt or truncated?)`);
  }
}

/** The certificate in `pem` (read from `file`), or a ConfigError naming the file. */
export function readCertificate(file: string, pem: string, variable = 'SCEPTER_CERTS_DIR'): ParsedCertificate {
  try {
    const certificate = ParsedCertificate.fromDer(pemDecode(pem, 'CERTIFICATE'));
    new X509Certificate(certificate.der); // OpenSSL must read it too: the TLS stack and clients do
    return certificate;
  } catch {
    throw new ConfigError(variable, `${file}: not a readable PEM certificate (corrupt or truncated?)`);
  }
}

/** The key belongs to the certificate (same public key), else a ConfigError naming both files. */
export function checkKeyMatches(
  certificate: ParsedCertificate,
  key: PrivateKey | KeyObject,
  certFile: string,
  keyFile: string,
  variable = 'SCEPTER_CERTS_DIR',
): void {
  let matches = false;
  try {
    const x = new X509Certificate(certificate.der);
    // a key in a token shows only its public half
    matches = key instanceof KeyObject ? x.checkPrivateKey(key) : x.publicKey.equals(key.publicKey);
  } catch {
    matches = false;
  }
  if (!matches) throw new ConfigError(variable, `${keyFile} does not belong to ${certFile} (a key or certificate was swapped or replaced)`);
}

/** `certificate` names the CA as issuer and carries the CA key's signature, else a ConfigError naming `file`. */
export function checkIssuedByCa(certificate: ParsedCertificate, ca: ParsedCertificate, file: string, caFile: string): void {
  const cert = new X509Certificate(certificate.der);
  const issuer = new X509Certificate(ca.der);
  if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) throw new ConfigError('SCEPTER_CERTS_DIR', `${file} was not issued by the CA in ${caFile}`);
}

export function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('SCEPTER_CERTS_DIR', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}
