import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KeyObject } from 'node:crypto';
import { buildCertificate, keyIdentifier } from '../pki/certificate.builder';
import { ParsedCertificate } from '../pki/certificate';
import { buildName } from '../pki/names';
import { pemEncode } from '../pki/der';
import { ConfigError } from '../shared/errors';
import { securePrivateDir, writeAllSync } from '../shared/secure-file';
import type { PrivateKey } from '../pki/private-key';
import { checkIssuedByCa, checkKeyMatches, readCertificate, readText } from './ca-material-check';
import type { KeyRole, KeyStore, RaCertificateKeys } from './key-store';
import { pooledRandomBytes } from '../pki/random-pool';

export interface KeyPairIdentity {
  certificate: ParsedCertificate;
  key: PrivateKey;
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
  /** where the CA and RA keys live (files here, or a PKCS#11 token) */
  keys: KeyStore;
  keyBits: number;
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

/** Where the RA encryption pair goes when a renewal replaces it: it still decrypts until it expires. */
export const PREVIOUS_RA_FILES = { key: 'ra-encrypt.previous.key.pem', cert: 'ra-encrypt.previous.cert.pem' };

/** The public keys (SPKI) of the RA certificates on disk: what finishes a token RA renewal that stopped part-way. */
export function raCertificateKeys(dir: string, prefix = ''): RaCertificateKeys {
  const spki = (f: string) => {
    const file = path.join(dir, `${prefix}${f}`);
    return fs.existsSync(file) ? readCertificate(file, readText(file)).spkiDer : undefined;
  };
  return { raSign: spki(FILES.raSignCert), raEncrypt: spki(FILES.raEncCert) };
}

/** Loads the CA (and RA pair) from `dir`, creating what is missing on first start. */
export async function loadOrCreateCa(o: CaMaterialOptions): Promise<CaMaterial> {
  securePrivateDir(o.dir);
  const p = (f: string) => path.join(o.dir, f === FILES.lock ? f : `${o.prefix ?? ''}${f}`);
  // a later CA generation's keys: files named with its prefix, or token objects labelled with its suffix
  const keys = o.keys.forPrefix(o.prefix ?? '');
  let created = false;
  await withCreationLock(p(FILES.lock), async () => {
    if (!keys.has('ca')) {
      // a token's own message names the token, the URI and the commands that put a key there
      if (fs.existsSync(p(FILES.caCert)) && keys.kind === 'pkcs11') keys.load('ca');
      if (fs.existsSync(p(FILES.caCert))) throw new ConfigError('SCEPTER_CERTS_DIR', `${p(FILES.caCert)} exists without its key ${keys.where('ca')}`);
      const key = await keys.create('ca', o.keyBits);
      const cert = await selfSignedCa(key, o);
      fs.writeFileSync(p(FILES.caCert), pemEncode('CERTIFICATE', cert.der));
      created = true;
    } else if (!fs.existsSync(p(FILES.caCert)) && keys.kind === 'pkcs11') {
      // a key generated or imported into the token before the first start: its certificate is made here
      const cert = await selfSignedCa(keys.load('ca'), o);
      fs.writeFileSync(p(FILES.caCert), pemEncode('CERTIFICATE', cert.der));
      created = true;
    }
  });
  const ca = loadIdentity(keys, 'ca', p(FILES.caCert));
  const material: CaMaterial = { ca, created };
  if (o.ra) {
    await withCreationLock(p(FILES.lock), async () => {
      // an RA renewal in the token that stopped part-way is finished before the keys are loaded
      await keys.recoverRa(raCertificateKeys(o.dir, o.prefix));
      for (const [role, certFile, usage] of [
        ['raSign', FILES.raSignCert, 'digitalSignature'],
        ['raEncrypt', FILES.raEncCert, 'keyEncipherment'],
      ] as const) {
        if (keys.has(role) && fs.existsSync(p(certFile))) continue;
        const key = keys.has(role) ? keys.load(role) : await keys.create(role, 2048);
        const cert = await raCertificate(ca, key.publicKey, usage, o);
        fs.writeFileSync(p(certFile), pemEncode('CERTIFICATE', cert.der));
      }
    });
    material.raSigning = loadIdentity(keys, 'raSign', p(FILES.raSignCert));
    material.raEncryption = loadIdentity(keys, 'raEncrypt', p(FILES.raEncCert));
    // an RA certificate from another CA would make clients reject every CertRep it signs
    checkIssuedByCa(material.raSigning.certificate, ca.certificate, p(FILES.raSignCert), p(FILES.caCert));
    checkIssuedByCa(material.raEncryption.certificate, ca.certificate, p(FILES.raEncCert), p(FILES.caCert));
  }
  return material;
}

/** Key and certificate, checked to belong together (each failure names the file or URI). */
export function loadIdentity(keys: KeyStore, role: KeyRole, certFile: string): KeyPairIdentity {
  const key = keys.load(role);
  const certificate = readCertificate(certFile, readText(certFile));
  checkKeyMatches(certificate, key, certFile, keys.where(role));
  return { key, certificate };
}

/** Serial numbers: 16 random bytes, positive, with the second-highest bit set so DER keeps all 16. */
export function randomSerial(): Buffer {
  const b = pooledRandomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x40;
  return b;
}

export function spki(key: PrivateKey | KeyObject): Buffer {
  return (key instanceof KeyObject ? key : key.publicKey).export({ type: 'spki', format: 'der' });
}

async function selfSignedCa(key: PrivateKey, o: CaMaterialOptions): Promise<ParsedCertificate> {
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
  key: PrivateKey | KeyObject,
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

/**
 * Creation is guarded by an exclusive lock file so two instances starting together make one CA. The
 * file names its holder (`<host> <pid>`). A lock whose holder on this host is no longer running (a
 * process killed mid-creation), or that never got its holder written (a full disk) and is older than
 * a few seconds, is taken over; a live holder, or one on another host sharing the directory, is
 * waited for up to a minute.
 */
export async function withCreationLock<T>(lockFile: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 60_000;
  while (!takeLock(lockFile)) {
    if (staleLock(lockFile)) {
      fs.rmSync(lockFile, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new ConfigError('SCEPTER_CERTS_DIR', `stale lock ${lockFile}: remove it if no other instance is starting`);
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockFile, { force: true });
  }
}

/** Creates the lock with this process as holder; false when it exists. A lock left half-written is removed. */
function takeLock(lockFile: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(lockFile, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeAllSync(fd, Buffer.from(`${os.hostname()} ${process.pid}`));
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(lockFile, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  return true;
}

function staleLock(lockFile: string): boolean {
  let text: string;
  let age: number;
  try {
    text = fs.readFileSync(lockFile, 'utf8');
    age = Date.now() - fs.statSync(lockFile).mtimeMs;
  } catch {
    return false; // released meanwhile: take it on the next try
  }
  const m = /^(\S+) (\d+)$/.exec(text);
  if (!m) return age > 5_000;
  if (m[1] !== os.hostname()) return false;
  try {
    process.kill(Number(m[2]), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** The CA's file names inside the certs directory (for checks that must not create anything). */
export const CA_KEY_FILE = FILES.caKey;
export const CA_CERT_FILE = FILES.caCert;
