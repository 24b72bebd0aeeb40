import { KeyObject, X509Certificate } from 'node:crypto';
import { normalizeSerialHex } from '../shared/bytes';
import { LRUCache } from 'lru-cache';

/** What one presented certificate is, independent of who presents it and when. */
export interface CheckedCertificate {
  /** SHA-256 of the DER, lowercase hex (as the certificates table stores it) */
  fingerprint: string;
  serial: string;
  notBefore: number;
  notAfter: number;
  /** signed by the key of one of our CA generations (and naming that CA as issuer) */
  ours: boolean;
}

/**
 * Chains a client certificate to one of our CA generations (before and after a rollover both are
 * ours): issuer name and key identifier (checkIssued), then the signature with that CA's public key. The answer is cached per certificate fingerprint, so a device
 * that logs in again costs a hash lookup, not a signature verification.
 */
export class CertificateCheck {
  private readonly cache: LRUCache<string, CheckedCertificate>;
  private cas: { der: Buffer; cert: X509Certificate; key: KeyObject }[] = [];

  constructor(
    /** the CA certificates (one X509Certificate, or every generation's DER, read on each miss) */
    private readonly ca: X509Certificate | (() => Buffer[]),
    cacheSize = 100_000,
  ) {
    this.cache = new LRUCache({ max: cacheSize });
  }

  private caList(): { cert: X509Certificate; key: KeyObject }[] {
    if (this.ca instanceof X509Certificate) {
      if (!this.cas.length) this.cas = [{ der: this.ca.raw, cert: this.ca, key: this.ca.publicKey }];
      return this.cas;
    }
    const ders = this.ca();
    if (ders.length !== this.cas.length || ders.some((d, i) => !d.equals(this.cas[i]!.der)))
      this.cas = ders.map((der) => {
        const cert = new X509Certificate(der);
        return { der, cert, key: cert.publicKey };
      });
    return this.cas;
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
      ours: serial !== '' && this.caList().some((ca) => cert.checkIssued(ca.cert) && cert.verify(ca.key)),
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
