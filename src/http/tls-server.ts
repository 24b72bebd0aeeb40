import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { isIP } from 'node:net';
import { createPublicKey, generateKeyPair, KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { RequestListener } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { KeyPairIdentity } from '../ca/ca-material';
import type { ParsedCertificate } from '../pki/certificate';
import { FILES, randomSerial, withCreationLock } from '../ca/ca-material';
import { writeFileAtomic } from '../shared/secure-file';
import { buildCertificate, keyIdentifier } from '../pki/certificate.builder';
import { pemEncode } from '../pki/der';
import { buildName } from '../pki/names';
import { OID } from '../pki/oids';
import { ConfigError } from '../shared/errors';
import { checkIssuedByCa, checkKeyMatches, readCertificate, readPrivateKey } from '../ca/ca-material-check';

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
  /**
   * the certificates of every CA generation: a listener certificate from one that no longer issues
   * (after a rollover's activation) is replaced by one from `ca` instead of stopping the start
   */
  knownCas?: ParsedCertificate[];
}

/**
 * The HTTPS listener's certificate: the admin's, or one our CA issues on first start (ECDSA P-256,
 * which makes a handshake about 30% cheaper than RSA; serverAuth; SAN localhost and 127.0.0.1).
 * The made one is renewed at start when it nears expiry; one that no longer matches its key or
 * chains to the current CA stops the start instead (see readIfUsable).
 */
export async function loadOrCreateTlsIdentity(ca: KeyPairIdentity, o: TlsIdentityOptions): Promise<TlsIdentity> {
  if (o.certFile && o.keyFile) {
    // the admin's files: each readable and the key the certificate's (its issuer is the admin's choice)
    const certPem = readFile(o.certFile, 'SCEPTER_TLS_CERT');
    const keyPem = readFile(o.keyFile, 'SCEPTER_TLS_KEY');
    const certificate = readCertificate(o.certFile, certPem, 'SCEPTER_TLS_CERT');
    checkKeyMatches(certificate, readPrivateKey(o.keyFile, keyPem, undefined, 'SCEPTER_TLS_KEY'), o.certFile, o.keyFile, 'SCEPTER_TLS_CERT');
    return { certPem, keyPem, created: false, supplied: true };
  }
  const keyFile = path.join(o.certsDir, TLS_FILES.key);
  const certFile = path.join(o.certsDir, TLS_FILES.cert);
  // under the CA directory's creation lock: a concurrent start never reads a half-replaced pair
  return withCreationLock(path.join(o.certsDir, FILES.lock), async () => {
    const existing = readIfUsable(keyFile, certFile, ca, o.now, o.knownCas ?? []);
    if (existing) return { ...existing, created: false, supplied: false };
    const { privateKey } = await generate('ec', { namedCurve: 'P-256' });
    const certPem = await issueServerCertificate(ca, privateKey, o.hosts, o.now);
    const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    writeFileAtomic(keyFile, keyPem, 0o600);
    writeFileAtomic(certFile, certPem, 0o644);
    return { keyPem, certPem, created: true, supplied: false };
  });
}

/**
 * The pair made by an earlier start, undefined when there is none or it is due for renewal. A pair
 * whose key does not match, whose certificate is unreadable or not from the current CA stops the
 * start with the file named: it was changed by someone, and replacing it would hide that.
 */
function readIfUsable(
  keyFile: string,
  certFile: string,
  ca: KeyPairIdentity,
  now: Date,
  knownCas: ParsedCertificate[],
): { keyPem: string; certPem: string } | undefined {
  const haveKey = fs.existsSync(keyFile);
  const haveCert = fs.existsSync(certFile);
  if (!haveKey && !haveCert) return undefined;
  if (!haveKey || !haveCert)
    throw new ConfigError(
      'SCEPTER_CERTS_DIR',
      `${haveKey ? certFile : keyFile} is missing (remove ${haveKey ? keyFile : certFile} too to have a new pair made)`,
    );
  const certPem = readFile(certFile, 'SCEPTER_CERTS_DIR');
  const keyPem = readFile(keyFile, 'SCEPTER_CERTS_DIR');
  const certificate = readCertificate(certFile, certPem);
  checkKeyMatches(certificate, readPrivateKey(keyFile, keyPem, undefined, 'SCEPTER_CERTS_DIR'), certFile, keyFile);
  // issued by an earlier CA generation: replaced by one from the CA issuing now
  if (knownCas.some((k) => !k.der.equals(ca.certificate.der) && issuedBy(certificate, k))) return undefined;
  checkIssuedByCa(
    certificate,
    ca.certificate,
    certFile,
    `the CA certificate (remove ${TLS_FILES.cert} and ${TLS_FILES.key} if the CA was replaced on purpose)`,
  );
  const renewAt = certificate.notAfter.getTime() - RENEW_BEFORE_DAYS * 86_400_000;
  return now.getTime() >= renewAt ? undefined : { keyPem, certPem };
}

function issuedBy(certificate: ParsedCertificate, ca: ParsedCertificate): boolean {
  try {
    checkIssuedByCa(certificate, ca, '', '');
    return true;
  } catch {
    return false;
  }
}

function readFile(file: string, variable: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(variable, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

async function issueServerCertificate(ca: KeyPairIdentity, key: KeyObject, hosts: string[], now: Date): Promise<string> {
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const names = [...new Set(['localhost', '127.0.0.1', '::1', ...hosts])];
  const der = await buildCertificate(
    {
      serial: randomSerial(),
      subject: buildName([
        { type: 'O', value: 'Scepter' },
        { type: 'CN', value: names.find((n) => !isIP(n) && n !== 'localhost') ?? 'localhost' },
      ]),
      issuer: ca.certificate.subjectDer,
      subjectPublicKeyInfo: spki,
      authorityKeyId: keyIdentifier(ca.certificate.spkiDer),
      // backdated up to a day (never before the CA): a client whose clock lags still accepts it
      notBefore: new Date(Math.max(now.getTime() - 86_400_000, ca.certificate.notBefore.getTime())),
      notAfter: new Date(Math.min(now.getTime() + VALIDITY_DAYS * 86_400_000, ca.certificate.notAfter.getTime())),
      keyUsage: ['digitalSignature'],
      extendedKeyUsage: [OID.kpServerAuth],
      subjectAltName: { dns: names.filter((n) => !isIP(n)), ip: names.filter((n) => isIP(n)) },
    },
    ca.key,
  );
  return pemEncode('CERTIFICATE', der);
}

/**
 * The HTTPS server: asks every client for a certificate (our CA named as acceptable) but completes
 * the handshake whatever comes, so an untrusted device still gets a policy answer. The options make
 * one secure context for the server's lifetime; revocation is checked by the trust service against
 * its in-memory set, not with the `crl` option, which OpenSSL would re-hash on every handshake.
 */
export function createTlsServer(identity: TlsIdentity, caPem: string, handler: RequestListener): https.Server {
  const server = https.createServer({ ...secureContextOptions(identity, caPem), requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' }, handler);
  server.on('clientError', answerDespiteStaleVerificationError);
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 100;
  return server;
}

/** Key, certificate and acceptable client CAs (every CA generation): also what setSecureContext takes after a rollover. */
export function secureContextOptions(identity: TlsIdentity, caPem: string): { key: string; cert: string; ca: string } {
  return { key: identity.keyPem, cert: identity.certPem, ca: caPem };
}

/**
 * OpenSSL checks the client's chain during the handshake; when a certificate's signature does not
 * verify (tampered, or forged under our CA's name) the check queues e.g. "rsa routines: invalid
 * padding" and, with rejectUnauthorized off, the handshake still completes. Node then reads that
 * stale error on the connection's next read and reports it as a socket error, which by default
 * closes the connection: the device would get no answer instead of the policy's `unknown-issuer`.
 * Such an error (from a crypto library, on a completed handshake whose verification failed) is
 * ignored, and the request is answered; every other client error is handled as Node's default does.
 */
function answerDespiteStaleVerificationError(err: NodeJS.ErrnoException & { library?: string }, socket: Duplex): void {
  const tlsSocket = socket as TLSSocket;
  if (tlsSocket.encrypted && tlsSocket.authorizationError && err.library !== undefined && err.library !== 'SSL routines' && !socket.destroyed) return;
  if (socket.writable) socket.write(CLIENT_ERROR_RESPONSES[err.code ?? ''] ?? CLIENT_ERROR_RESPONSES.default!);
  socket.destroy(err);
}

// what Node's HTTP server answers a client error with when nobody listens for 'clientError'
const CLIENT_ERROR_RESPONSES: Record<string, string> = {
  HPE_HEADER_OVERFLOW: 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n',
  ERR_HTTP_REQUEST_TIMEOUT: 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n',
  default: 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n',
};
