import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { isIP } from 'node:net';
import { createPrivateKey, createPublicKey, generateKeyPair, KeyObject, X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import type { RequestListener } from 'node:http';
import type { KeyPairIdentity } from '../ca/ca-material';
import { randomSerial } from '../ca/ca-material';
import { buildCertificate, keyIdentifier } from '../pki/certificate-builder';
import { pemEncode } from '../pki/der';
import { buildName } from '../pki/names';
import { OID } from '../pki/oids';
import { ConfigError } from '../shared/errors';

const generate = promisify(generateKeyPair);

export const TLS_FILES = { key: 'tls-server.key.pem', cert: 'tls-server.cert.pem' };
const VALIDITY_DAYS = 397;
const RENEW_BEFORE_DAYS = 30;

export interface TlsIdentity {
  keyPem: string;
  certPem: string;
  /** true when made (or renewed) by this start */
  created: boolean;
  supplied: boolean;
}

export interface TlsIdentityOptions {
  certsDir: string;
  /** admin-supplied files (SCEPTER_TLS_CERT / SCEPTER_TLS_KEY) */
  certFile?: string;
  keyFile?: string;
  /** host names and addresses the certificate names besides localhost and 127.0.0.1 */
  hosts: string[];
  now: Date;
}

/**
 * The HTTPS listener's certificate: the admin's, or one our CA issues on first start (ECDSA P-256,
 * which makes a handshake about 30% cheaper than RSA; serverAuth; SAN localhost and 127.0.0.1).
 * The made one is renewed at start when it nears expiry or no longer chains to the current CA.
 */
export async function loadOrCreateTlsIdentity(ca: KeyPairIdentity, o: TlsIdentityOptions): Promise<TlsIdentity> {
  if (o.certFile && o.keyFile) {
    try {
      const certPem = fs.readFileSync(o.certFile, 'utf8');
      const keyPem = fs.readFileSync(o.keyFile, 'utf8');
      if (!new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem))) throw new Error('the key does not belong to the certificate');
      return { certPem, keyPem, created: false, supplied: true };
    } catch (err) {
      throw new ConfigError('SCEPTER_TLS_CERT', `cannot use ${o.certFile} with ${o.keyFile}: ${(err as Error).message}`);
    }
  }
  const keyFile = path.join(o.certsDir, TLS_FILES.key);
  const certFile = path.join(o.certsDir, TLS_FILES.cert);
  const existing = readIfUsable(keyFile, certFile, ca, o.now);
  if (existing) return { ...existing, created: false, supplied: false };
  const { privateKey } = await generate('ec', { namedCurve: 'P-256' });
  const certPem = await issueServerCertificate(ca, privateKey, o.hosts, o.now);
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  // write-then-rename: a concurrent start reads either the old pair or the new one
  writeAtomic(keyFile, keyPem, 0o600);
  writeAtomic(certFile, certPem, 0o644);
  return { keyPem, certPem, created: true, supplied: false };
}

function readIfUsable(keyFile: string, certFile: string, ca: KeyPairIdentity, now: Date): { keyPem: string; certPem: string } | undefined {
  if (!fs.existsSync(keyFile) || !fs.existsSync(certFile)) return undefined;
  try {
    const certPem = fs.readFileSync(certFile, 'utf8');
    const keyPem = fs.readFileSync(keyFile, 'utf8');
    const cert = new X509Certificate(certPem);
    const caCert = new X509Certificate(ca.certificate.der);
    const renewAt = Date.parse(cert.validTo) - RENEW_BEFORE_DAYS * 86_400_000;
    if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey) || now.getTime() >= renewAt || !cert.checkPrivateKey(createPrivateKey(keyPem))) return undefined;
    return { keyPem, certPem };
  } catch {
    return undefined;
  }
}

async function issueServerCertificate(ca: KeyPairIdentity, key: KeyObject, hosts: string[], now: Date): Promise<string> {
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const names = [...new Set(['localhost', '127.0.0.1', '::1', ...hosts])];
  const der = await buildCertificate(
    {
      serial: randomSerial(),
      subject: buildName([{ type: 'O', value: 'Scepter' }, { type: 'CN', value: names.find((n) => !isIP(n) && n !== 'localhost') ?? 'localhost' }]),
      issuer: ca.certificate.subjectDer,
      subjectPublicKeyInfo: spki,
      authorityKeyId: keyIdentifier(ca.certificate.spkiDer),
      notBefore: new Date(now.getTime() - 5 * 60_000),
      notAfter: new Date(Math.min(now.getTime() + VALIDITY_DAYS * 86_400_000, ca.certificate.notAfter.getTime())),
      keyUsage: ['digitalSignature'],
      extendedKeyUsage: [OID.kpServerAuth],
      subjectAltName: { dns: names.filter((n) => !isIP(n)), ip: names.filter((n) => isIP(n)) },
    },
    ca.key,
  );
  return pemEncode('CERTIFICATE', der);
}

function writeAtomic(file: string, content: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content, { mode });
  fs.renameSync(tmp, file);
}

/**
 * The HTTPS server: asks every client for a certificate (our CA named as acceptable) but completes
 * the handshake whatever comes, so an untrusted device still gets a policy answer. The options make
 * one secure context for the server's lifetime; revocation is checked by the trust service against
 * its in-memory set, not with the `crl` option, which OpenSSL would re-hash on every handshake.
 */
export function createTlsServer(identity: TlsIdentity, caPem: string, handler: RequestListener): https.Server {
  const server = https.createServer(
    {
      key: identity.keyPem,
      cert: identity.certPem,
      ca: caPem,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    },
    handler,
  );
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 100;
  return server;
}
