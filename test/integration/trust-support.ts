// Helpers for the device-trust tests: devices enrolled through SCEP by the real server, mTLS
// checks with Node's https client, and certificates the SCEP path would never issue (another CA,
// expired) made directly with the CA material.
import https from 'node:https';
import { createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { randomSerial } from '../../src/ca/ca-material';
import type { CertificateAuthority } from '../../src/ca/certificate-authority';
import { buildCertificate, keyIdentifier } from '../../src/pki/certificate.builder';
import { pemEncode } from '../../src/pki/der';
import { buildName } from '../../src/pki/names';
import { OID } from '../../src/pki/oids';
import { PkiStatus } from '../../src/scep/scep.types';
import { fetchChallenge, IntegrationServer } from './integrations-support';

export interface Device {
  udid: string;
  serial: string;
  certPem: string;
  keyPem: string;
}

export const keyPem = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }) as string;

/** Enrolls a device through the integration's own SCEP URL with a challenge from its challenge URL. */
export async function enrollDevice(
  server: IntegrationServer,
  integ: { id: string; challengeUsername: string; challengePassword: string },
  udid: string,
  key: KeyObject,
): Promise<Device> {
  const client = server.scepClient(integ.id);
  const cas = await client.getCaCertificates();
  const challenge = await fetchChallenge(server, integ);
  const r = await client.enroll({
    cas,
    subject: [
      { type: 'OU', value: integ.id },
      { type: 'CN', value: udid },
    ],
    challenge,
    key,
    transactionId: `trust-${udid}-${Date.now()}`,
  });
  if (r.status !== PkiStatus.SUCCESS) throw new Error(`enrollment failed: ${r.failText}`);
  return { udid, serial: r.certificate!.serialHex, certPem: pemEncode('CERTIFICATE', r.certificate!.der), keyPem: keyPem(key) };
}

export interface CheckResponse {
  status: number;
  body: Record<string, unknown> & { decision: string; trusted: boolean; reason: string };
}

/** One check over a fresh mTLS connection (no agent, so no session reuse), verifying the server. */
export function mtlsCheck(
  port: number,
  caPem: string,
  query: string,
  client?: { certPem: string; keyPem: string },
  opts: { method?: string; body?: unknown; agent?: https.Agent } = {},
): Promise<CheckResponse> {
  return new Promise((resolve, reject) => {
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: `/v1/device-trust${query ? `?${query}` : ''}`,
        method: opts.method ?? 'GET',
        ca: caPem,
        cert: client?.certPem,
        key: client?.keyPem,
        agent: opts.agent ?? false,
        headers: body ? { 'Content-Type': 'application/json' } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function rsa(): KeyObject {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
}

/** A device certificate signed by our CA key directly, with any validity (expired, not yet valid). */
export async function craftWithOurCa(
  authority: CertificateAuthority,
  cn: string,
  notBefore: Date,
  notAfter: Date,
): Promise<{ certPem: string; keyPem: string }> {
  const key = rsa();
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const der = await buildCertificate(
    {
      serial: randomSerial(),
      subject: buildName([{ type: 'CN', value: cn }]),
      issuer: authority.caCertificate.subjectDer,
      subjectPublicKeyInfo: spki,
      authorityKeyId: keyIdentifier(authority.caCertificate.spkiDer),
      notBefore,
      notAfter,
      keyUsage: ['digitalSignature'],
      extendedKeyUsage: [OID.kpClientAuth],
    },
    authority.ca.key,
  );
  return { certPem: pemEncode('CERTIFICATE', der), keyPem: keyPem(key) };
}

/** A client certificate from an impostor CA with our CA's name and key identifier: only the signature tells them apart. */
export async function foreignCertificate(authority: CertificateAuthority, cn: string): Promise<{ certPem: string; keyPem: string }> {
  const otherCa = rsa();
  const key = rsa();
  const now = Date.now();
  const der = await buildCertificate(
    {
      serial: randomSerial(),
      subject: buildName([{ type: 'CN', value: cn }]),
      issuer: authority.caCertificate.subjectDer,
      subjectPublicKeyInfo: createPublicKey(key).export({ type: 'spki', format: 'der' }),
      authorityKeyId: keyIdentifier(authority.caCertificate.spkiDer),
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 86_400_000),
      keyUsage: ['digitalSignature'],
      extendedKeyUsage: [OID.kpClientAuth],
    },
    otherCa,
  );
  return { certPem: pemEncode('CERTIFICATE', der), keyPem: keyPem(key) };
}
