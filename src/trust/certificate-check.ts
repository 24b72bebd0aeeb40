import { KeyObject, X509Certificate } from 'node:crypto';
import { normalizeSerialHex } from '../shared/bytes';
import { LruCache } from './lru-cache';

/** What one presented certificate is, independent of who presents it and when. */
export interface CheckedCertificate {
  /** SHA-256 of the DER, lowercase hex (as the certificates table stores it) */
  fingerprint: string;
  serial: string;
  notBefore: number;
  notAfter: number;
  /** signed by our CA key (and naming our CA as issuer) */
  ours: boolean;
}

/**
 * Chains a client certificate to our CA: issuer name and key identifier (checkIssued), then the
 * signature with the CA public key. The answer is cached per certificate fingerprint, so a device
 * that logs in again costs a hash lookup, not a signature verification.
 */
export class CertificateCheck {
  private readonly cache: LruCache<string, CheckedCertificate>;
  private readonly caKey: KeyObject;

  constructor(
    private readonly ca: X509Certificate,
    cacheSize = 100_000,
  ) {
    this.caKey = ca.publicKey;
    this.cache = new LruCache(cacheSize);
  }

  check(cert: X509Certificate): CheckedCertificate {
    const fingerprint = cert.fingerprint256.replace(/:/g, '').toLowerCase();
    const hit = this.cache.get(fingerprint);
    if (hit) return hit;
    let serial: string;
    try {
      serial = normalizeSerialHex(cert.serialNumber);
    } catch {
      serial = '';
    }
    const checked: CheckedCertificate = {
      fingerprint,
      serial,
      notBefore: Date.parse(cert.validFrom),
      notAfter: Date.parse(cert.validTo),
      ours: serial !== '' && cert.checkIssued(this.ca) && cert.verify(this.caKey),
    };
    this.cache.set(fingerprint, checked);
    return checked;
  }
}

/** Parses PEM or DER; undefined for anything that is not one certificate. */
export function parseCertificate(data: string | Buffer): X509Certificate | undefined {
  try {
    return new X509Certificate(data);
  } catch {
    return undefined;
  }
}
