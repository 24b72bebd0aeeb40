import { X509Certificate, type KeyObject } from 'node:crypto';

/**
 * Whether OpenSSL (Node's X509Certificate), a reader independent of ours, reads `der` as a
 * certificate with a subject and a serial number whose signature verifies with `issuerKey`: what
 * every issued certificate must pass before it is recorded or handed out.
 */
export function readsBack(der: Uint8Array, issuerKey: KeyObject): boolean {
  try {
    const x = new X509Certificate(der);
    return x.subject.length > 0 && x.serialNumber.length > 0 && x.verify(issuerKey);
  } catch {
    return false;
  }
}
