import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import { octets, parseAsn1 } from './der';
import { OID } from './oids';
import { toBuffer } from '../shared/bytes';

/**
 * The raw bytes of a certificate that CRLs and OCSP responses are built from. The subject Name is kept
 * byte for byte as the certificate encodes it: the CRL issuer and the OCSP issuerNameHash must match
 * it exactly, and re-encoding a parsed Name is not guaranteed to give the same bytes.
 */
export interface CertificateFields {
  /** DER of the subject Name. */
  subjectDer: Buffer;
  /** Content of the subjectPublicKey BIT STRING (no unused-bits octet): what OCSP key hashes cover. */
  publicKeyBits: Buffer;
  /** The subjectKeyIdentifier extension, if present. */
  subjectKeyIdentifier?: Buffer;
  /** subjectKeyIdentifier, or SHA-1 of the public key bits (RFC 5280 section 4.2.1.2 method 1). */
  keyIdentifier: Buffer;
}

// The service passes the same issuer Buffer on every call; parse it once.
const cache = new WeakMap<Uint8Array, CertificateFields>();

function children(el: asn1js.AsnType | undefined, what: string): asn1js.AsnType[] {
  const value = (el as asn1js.Constructed | undefined)?.valueBlock?.value;
  if (!Array.isArray(value)) throw new RangeError(`certificate: ${what} is not constructed`);
  return value;
}

function isTag(el: asn1js.AsnType | undefined, tagClass: number, tagNumber: number): boolean {
  return el?.idBlock.tagClass === tagClass && el.idBlock.tagNumber === tagNumber;
}

export function readCertificateFields(certDer: Uint8Array): CertificateFields {
  const cached = cache.get(certDer);
  if (cached) return cached;
  const [tbs] = children(parseAsn1(certDer, 'certificate'), 'Certificate');
  const fields = children(tbs, 'TBSCertificate');
  // Skip the optional [0] version so that indexes follow RFC 5280's order from serialNumber on.
  const rest = isTag(fields[0], 3, 0) ? fields.slice(1) : fields;
  const subject = rest[4];
  const spki = rest[5];
  if (!isTag(subject, 1, 16) || !isTag(spki, 1, 16)) throw new RangeError('certificate: unexpected TBSCertificate layout');
  const keyBits = children(spki, 'SubjectPublicKeyInfo')[1];
  if (!(keyBits instanceof asn1js.BitString)) throw new RangeError('certificate: subjectPublicKey is not a BIT STRING');
  const publicKeyBits = toBuffer(keyBits.valueBlock.valueHexView);

  let subjectKeyIdentifier: Buffer | undefined;
  const extensions = rest.find((el) => isTag(el, 3, 3));
  if (extensions) {
    for (const ext of children(children(extensions, 'extensions')[0], 'Extensions')) {
      const parts = children(ext, 'Extension');
      const id = parts[0];
      const value = parts[parts.length - 1];
      if (!(id instanceof asn1js.ObjectIdentifier) || id.valueBlock.toString() !== OID.subjectKeyIdentifier) continue;
      if (!(value instanceof asn1js.OctetString)) continue;
      const inner = parseAsn1(octets(value), 'subjectKeyIdentifier');
      if (inner instanceof asn1js.OctetString) subjectKeyIdentifier = octets(inner);
    }
  }

  const result: CertificateFields = {
    subjectDer: toBuffer(subject!.valueBeforeDecodeView),
    publicKeyBits,
    subjectKeyIdentifier,
    keyIdentifier: subjectKeyIdentifier ?? createHash('sha1').update(publicKeyBits).digest(),
  };
  cache.set(certDer, result);
  return result;
}
