import fs from 'node:fs';
import path from 'node:path';
import { createPublicKey, generateKeyPair, KeyObject, X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import { buildCertificate, keyIdentifier } from '../pki/certificate.builder';
import { ParsedCertificate } from '../pki/certificate';
import { pemEncode } from '../pki/der';
import { buildName } from '../pki/names';
import { OID } from '../pki/oids';
import { SoftwareKey } from '../pki/private-key';
import { randomSerial, type KeyPairIdentity } from './ca-material';
import { checkIssuedByCa, checkKeyMatches, readCertificate, readPrivateKey } from './ca-material-check';

const generate = promisify(generateKeyPair);

export const OCSP_SIGNER_FILE = 'ocsp-signer.pem';

export interface OcspSignerOptions {
  dir: string;
  passphrase?: string;
  commonName: string;
  /** id-pkix-ocsp-nocheck certificates cannot be revoked, so RFC 6960 4.2.2.2.1 wants them short-lived */
  validityDays: number;
  /** RSA-2048 (default) or ECDSA P-256 */
  keyType?: 'rsa' | 'ec';
  /** replace the certificate this many days before it expires (default: a third of validityDays) */
  renewBeforeDays?: number;
  /** file-name prefix of a later CA generation (see ca-generation.ts) */
  prefix?: string;
}

/**
 * The delegated OCSP responder (EKU id-kp-OCSPSigning + id-pkix-ocsp-nocheck), kept beside the CA
 * as one file holding its key and certificate. Created on first start, and again once a third of
 * its validity is left (or SCEPTER_OCSP_KEY changed); a signer file that is corrupt, whose key does
 * not match or that another CA issued stops the start instead. The CA key then signs nothing but
 * certificates and CRLs, and a 2048-bit responder key answers faster than a larger CA key.
 */
/** The responder's key is always a key file beside the CA's certificate, whatever holds the CA key. */
export interface OcspSignerIdentity extends KeyPairIdentity {
  key: SoftwareKey;
}

export async function loadOrCreateOcspSigner(ca: KeyPairIdentity, o: OcspSignerOptions, now: Date = new Date()): Promise<OcspSignerIdentity> {
  const file = path.join(o.dir, `${o.prefix ?? ''}${OCSP_SIGNER_FILE}`);
  // a signer whose key, certificate or issuer is wrong stops the start (named), never replaced silently
  const existing = fs.existsSync(file) ? readSigner(file, ca, o.passphrase) : undefined;
  if (existing && usable(existing, ca, o, now)) return existing;

  const created = await createSigner(ca, o, now);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, signerPem(created, o.passphrase), { mode: 0o600 });
  try {
    if (existing)
      fs.renameSync(tmp, file); // replacing a stale one
    else fs.linkSync(tmp, file); // fails if another instance created it meanwhile: use theirs
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const theirs = readSigner(file, ca, o.passphrase);
    if (theirs && usable(theirs, ca, o, now)) return theirs;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return created;
}

/** True while the certificate is from this CA, has the configured key type and more than its renewal margin left. */
export function usable(
  s: KeyPairIdentity,
  ca: KeyPairIdentity,
  o: Pick<OcspSignerOptions, 'validityDays' | 'keyType' | 'renewBeforeDays'>,
  now: Date,
): boolean {
  const c = s.certificate;
  if (s.key.type !== (o.keyType ?? 'rsa')) return false;
  const issuedByCa = new X509Certificate(c.der).verify(ca.key.publicKey);
  return (
    issuedByCa &&
    c.notBefore.getTime() <= now.getTime() + 5 * 60_000 &&
    c.notAfter.getTime() - now.getTime() > (o.renewBeforeDays ?? o.validityDays / 3) * 86_400_000
  );
}

/**
 * The signer in `file`: its key (encrypted when a passphrase is set), its certificate, the two
 * belonging together and the certificate issued by the CA; otherwise a ConfigError naming the file.
 */
function readSigner(file: string, ca: KeyPairIdentity, passphrase?: string): OcspSignerIdentity {
  const pem = fs.readFileSync(file, 'utf8');
  const key = readPrivateKey(file, pem, passphrase);
  const certificate = readCertificate(file, pem);
  checkKeyMatches(certificate, key, file, file);
  checkIssuedByCa(certificate, ca.certificate, file, `the CA certificate (remove ${OCSP_SIGNER_FILE} if the CA was replaced on purpose)`);
  return { key: new SoftwareKey(key), certificate };
}

function signerPem(s: OcspSignerIdentity, passphrase?: string): string {
  const k = s.key.keyObject;
  const key = passphrase ? k.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }) : k.export({ type: 'pkcs8', format: 'pem' });
  return `${key.toString()}${pemEncode('CERTIFICATE', s.certificate.der)}`;
}

async function createSigner(ca: KeyPairIdentity, o: OcspSignerOptions, now: Date): Promise<OcspSignerIdentity> {
  const { privateKey } = o.keyType === 'ec' ? await generate('ec', { namedCurve: 'P-256' }) : await generate('rsa', { modulusLength: 2048 });
  return { key: new SoftwareKey(privateKey), certificate: await responderCertificate(ca, createPublicKey(privateKey), o, now) };
}

/** The responder certificate for `publicKey`: id-kp-OCSPSigning, id-pkix-ocsp-nocheck, `o.validityDays` (capped at the CA's end). */
export async function responderCertificate(
  ca: KeyPairIdentity,
  publicKey: KeyObject,
  o: Pick<OcspSignerOptions, 'commonName' | 'validityDays'>,
  now: Date,
): Promise<ParsedCertificate> {
  const der = await buildCertificate(
    {
      serial: randomSerial(),
      subject: buildName([
        { type: 'O', value: 'Scepter' },
        { type: 'CN', value: `${o.commonName} OCSP Responder` },
      ]),
      issuer: ca.certificate.subjectDer,
      subjectPublicKeyInfo: publicKey.export({ type: 'spki', format: 'der' }),
      authorityKeyId: keyIdentifier(ca.certificate.spkiDer),
      notBefore: new Date(now.getTime() - 5 * 60_000),
      notAfter: new Date(Math.min(now.getTime() + o.validityDays * 86_400_000, ca.certificate.notAfter.getTime())),
      keyUsage: ['digitalSignature'],
      extendedKeyUsage: [OID.kpOcspSigning],
      ocspNoCheck: true,
    },
    ca.key,
  );
  return ParsedCertificate.fromDer(der);
}
