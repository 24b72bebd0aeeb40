import fs from 'node:fs';
import path from 'node:path';
import { createPublicKey, generateKeyPair, KeyObject, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { buildCertificate, keyIdentifier } from '../pki/certificate-builder';
import { ParsedCertificate } from '../pki/certificate';
import { buildName } from '../pki/names';
import { pemEncode } from '../pki/der';
import { ConfigError } from '../shared/errors';
import { securePrivateDir } from '../shared/secure-file';
import { checkIssuedByCa, loadCheckedIdentity } from './ca-material.check';

const generateRsa = promisify(generateKeyPair);

export interface KeyPairIdentity {
  certificate: ParsedCertificate;
  key: KeyObject;
}

export interface CaMaterial {
  ca: KeyPairIdentity;
  /** optional split RA pair (signing-only, encryption-only), as WS1's NDES mode expects */
  raSigning?: KeyPairIdentity;
  raEncryption?: KeyPairIdentity;
  /** RA encryption identities replaced by a renewal, kept while clients may still encrypt to them */
  previousRaEncryption?: KeyPairIdentity[];
  created: boolean;
}

export interface CaMaterialOptions {
  dir: string;
  keyBits: number;
  passphrase?: string;
  commonName: string;
  validityDays: number;
  ra: boolean;
  /** file-name prefix of a later CA generation in the same directory ('' or absent: the first CA) */
  prefix?: string;
  /** RA certificate validity (capped at the CA's notAfter); default validityDays */
  raValidityDays?: number;
}

export const FILES = {
  caKey: 'ca.key.pem',
  caCert: 'ca.cert.pem',
  raSignKey: 'ra-sign.key.pem',
  raSignCert: 'ra-sign.cert.pem',
  raEncKey: 'ra-encrypt.key.pem',
  raEncCert: 'ra-encrypt.cert.pem',
  lock: '.create.lock',
};

/** Loads the CA (and RA pair) from `dir`, creating what is missing on first start. */
export async function loadOrCreateCa(o: CaMaterialOptions): Promise<CaMaterial> {
  securePrivateDir(o.dir);
  const p = (f: string) => path.join(o.dir, f === FILES.lock ? f : `${o.prefix ?? ''}${f}`);
  let created = false;
  await withCreationLock(p(FILES.lock), async () => {
    if (!fs.existsSync(p(FILES.caKey))) {
      if (fs.existsSync(p(FILES.caCert))) throw new ConfigError('SCEPTER_CERTS_DIR', `${p(FILES.caCert)} exists without its key ${FILES.caKey}`);
      const key = await newKey(o.keyBits);
      const cert = await selfSignedCa(key, o);
      writeKey(p(FILES.caKey), key, o.passphrase);
      fs.writeFileSync(p(FILES.caCert), pemEncode('CERTIFICATE', cert.der));
      created = true;
    }
  });
  const ca = loadIdentity(p(FILES.caKey), p(FILES.caCert), o.passphrase);
  const material: CaMaterial = { ca, created };
  if (o.ra) {
    await withCreationLock(p(FILES.lock), async () => {
      for (const [keyFile, certFile, usage] of [
        [FILES.raSignKey, FILES.raSignCert, 'digitalSignature'],
        [FILES.raEncKey, FILES.raEncCert, 'keyEncipherment'],
      ] as const) {
        if (fs.existsSync(p(keyFile))) continue;
        const key = await newKey(2048);
        const cert = await raCertificate(ca, key, usage, o);
        writeKey(p(keyFile), key, o.passphrase);
        fs.writeFileSync(p(certFile), pemEncode('CERTIFICATE', cert.der));
      }
    });
    material.raSigning = loadIdentity(p(FILES.raSignKey), p(FILES.raSignCert), o.passphrase);
    material.raEncryption = loadIdentity(p(FILES.raEncKey), p(FILES.raEncCert), o.passphrase);
    // an RA certificate from another CA would make clients reject every CertRep it signs
    checkIssuedByCa(material.raSigning.certificate, ca.certificate, p(FILES.raSignCert), p(FILES.caCert));
    checkIssuedByCa(material.raEncryption.certificate, ca.certificate, p(FILES.raEncCert), p(FILES.caCert));
  }
  return material;
}

export async function newKey(bits: number): Promise<KeyObject> {
  const { privateKey } = await generateRsa('rsa', { modulusLength: bits });
  return privateKey;
}

export function writeKey(file: string, key: KeyObject, passphrase?: string): void {
  const pem = passphrase ? key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }) : key.export({ type: 'pkcs8', format: 'pem' });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, pem, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** Key and certificate, checked to belong together (each failure names the file). */
function loadIdentity(keyFile: string, certFile: string, passphrase?: string): KeyPairIdentity {
  return loadCheckedIdentity(keyFile, certFile, passphrase);
}

/** Serial numbers: 16 random bytes, positive, with the second-highest bit set so DER keeps all 16. */
export function randomSerial(): Buffer {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x40;
  return b;
}

export function spki(key: KeyObject): Buffer {
  return createPublicKey(key).export({ type: 'spki', format: 'der' }) as Buffer;
}

async function selfSignedCa(key: KeyObject, o: CaMaterialOptions): Promise<ParsedCertificate> {
  const name = buildName([
    { type: 'O', value: 'Scepter' },
    { type: 'CN', value: o.commonName },
  ]);
  const now = Date.now();
  const der = await buildCertificate(
    {
      serial: randomSerial(),
      subject: name,
      issuer: name,
      subjectPublicKeyInfo: spki(key),
      authorityKeyId: keyIdentifier(spki(key)),
      notBefore: new Date(now - 5 * 60_000),
      notAfter: new Date(now + o.validityDays * 86_400_000),
      ca: true,
      // RFC 8894 2.1.2: a CA that answers SCEP itself also signs and decrypts SCEP messages
      keyUsage: ['digitalSignature', 'keyEncipherment', 'keyCertSign', 'cRLSign'],
    },
    key,
  );
  return ParsedCertificate.fromDer(der);
}

export async function raCertificate(
  ca: KeyPairIdentity,
  key: KeyObject,
  usage: 'digitalSignature' | 'keyEncipherment',
  o: Pick<CaMaterialOptions, 'commonName' | 'validityDays' | 'raValidityDays'>,
  now = Date.now(),
): Promise<ParsedCertificate> {
  const role = usage === 'digitalSignature' ? 'RA Signing' : 'RA Encryption';
  const der = await buildCertificate(
    {
      serial: randomSerial(),
      subject: buildName([
        { type: 'O', value: 'Scepter' },
        { type: 'CN', value: `${o.commonName} ${role}` },
      ]),
      issuer: ca.certificate.subjectDer,
      subjectPublicKeyInfo: spki(key),
      authorityKeyId: keyIdentifier(ca.certificate.spkiDer),
      notBefore: new Date(now - 5 * 60_000),
      notAfter: new Date(Math.min(now + (o.raValidityDays ?? o.validityDays) * 86_400_000, ca.certificate.notAfter.getTime())),
      keyUsage: [usage],
    },
    ca.key,
  );
  return ParsedCertificate.fromDer(der);
}

/** Creation is guarded by an exclusive lock file so two instances starting together make one CA. */
export async function withCreationLock<T>(lockFile: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (Date.now() > deadline) throw new ConfigError('SCEPTER_CERTS_DIR', `stale lock ${lockFile}: remove it if no other instance is starting`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockFile, { force: true });
  }
}

/** The CA's file names inside the certs directory (for checks that must not create anything). */
export const CA_KEY_FILE = FILES.caKey;
export const CA_CERT_FILE = FILES.caCert;
