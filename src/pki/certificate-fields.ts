import { createHash } from 'node:crypto';
import { childrenOf, decodeOid, DerDecodeError, primitiveOf, readChildren, readSingle, type DerElement } from './der-reader';
import { OID } from './oids';

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

// The service usually passes the same issuer Buffer on every call; parse it once.
const cache = new WeakMap<Uint8Array, CertificateFields>();

function only(el: DerElement | undefined, what: string): DerElement {
  const inner = el ? readChildren(el.value) : [];
  if (inner.length !== 1) throw new DerDecodeError(`${what}: expected one value`);
  return inner[0]!;
}

/** Throws RangeError on a certificate it cannot read: the issuer certificate is configuration, not input. */
export function readCertificateFields(certDer: Uint8Array): CertificateFields {
  const cached = cache.get(certDer);
  if (cached) return cached;
  try {
    const [tbs] = childrenOf(readSingle(certDer), 0x30, 'Certificate');
    const fields = childrenOf(tbs, 0x30, 'TBSCertificate');
    // Skip the optional [0] version so that indexes follow RFC 5280's order from serialNumber on.
    const rest = fields[0]?.tag === 0xa0 ? fields.slice(1) : fields;
    const subject = rest[4];
    if (subject?.tag !== 0x30) throw new DerDecodeError('subject is not a Name');
    const keyBits = primitiveOf(childrenOf(rest[5], 0x30, 'SubjectPublicKeyInfo')[1], 0x03, 'subjectPublicKey');
    if (keyBits[0] !== 0) throw new DerDecodeError('subjectPublicKey has unused bits');
    const publicKeyBits = Buffer.from(keyBits.subarray(1));

    let subjectKeyIdentifier: Buffer | undefined;
    const extensions = rest.find((el) => el.tag === 0xa3);
    for (const ext of extensions ? childrenOf(only(extensions, 'extensions'), 0x30, 'Extensions') : []) {
      const parts = childrenOf(ext, 0x30, 'Extension');
      if (decodeOid(primitiveOf(parts[0], 0x06, 'extnID')) !== OID.subjectKeyIdentifier) continue;
      const extnValue = primitiveOf(parts[parts.length - 1], 0x04, 'extnValue');
      subjectKeyIdentifier = Buffer.from(primitiveOf(readSingle(extnValue), 0x04, 'keyIdentifier'));
    }

    const result: CertificateFields = {
      subjectDer: Buffer.from(subject.raw),
      publicKeyBits,
      subjectKeyIdentifier,
      keyIdentifier: subjectKeyIdentifier ?? createHash('sha1').update(publicKeyBits).digest(),
    };
    cache.set(certDer, result);
    return result;
  } catch (err) {
    if (err instanceof DerDecodeError) throw new RangeError(`unreadable certificate: ${err.message}`);
    throw err;
  }
}
