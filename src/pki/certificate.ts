import { createHash, KeyObject } from 'node:crypto';
import { asBuffer, childrenOf, DerElement, integerHex, oidOf, onlyChild, primitiveOf, readChildren, readSingle } from './der-reader';
import { bitStringBytes, definiteForm, expectTag, namedBits, octetsOf, timeValue } from './der-values';
import { formatName } from './names';
import { OID } from './oids';
import { Asn1DecodeError } from './pki.errors';
import { publicKeyFromSpki } from './public-key';

/** The fields every caller needs, as DER slices of the certificate. */
interface TbsFields {
  serialHex: string;
  /** the serialNumber INTEGER TLV, as encoded (IssuerAndSerialNumber) */
  serialDer: Buffer;
  issuerDer: Buffer;
  subjectDer: Buffer;
  notBefore: Date;
  notAfter: Date;
  spkiDer: Buffer;
  extensions: DerElement[];
}

/**
 * Reads an X.509 certificate (RFC 5280 4.1) with the DER reader: a few µs, where asn1js + pkijs
 * took about 0.5 ms per certificate, and every enrollment reads two. BER is accepted; the Names
 * and the key are kept in their DER form (byte for byte as received when they were DER already).
 */
function readFields(der: Buffer): TbsFields {
  const [tbs, sigAlg, sig, extra] = childrenOf(readSingle(der), 0x30, 'Certificate');
  expectTag(sigAlg, 0x30, 'signatureAlgorithm');
  bitStringBytes(sig, 'signatureValue');
  if (extra) throw new Asn1DecodeError('Certificate: too many values');
  const all = childrenOf(tbs, 0x30, 'TBSCertificate');
  const f = all[0]?.tag === 0xa0 ? all.slice(1) : all;
  const [serial, alg, issuer, validity, subject, spki, ...optional] = f;
  expectTag(serial, 0x02, 'serialNumber');
  expectTag(alg, 0x30, 'signature');
  expectTag(issuer, 0x30, 'issuer');
  expectTag(subject, 0x30, 'subject');
  expectTag(spki, 0x30, 'subjectPublicKeyInfo');
  const [nb, na, more] = childrenOf(validity, 0x30, 'validity');
  if (!nb || !na || more) throw new Asn1DecodeError('validity: expected two times');
  // issuerUniqueID [1], subjectUniqueID [2], extensions [3] (a SEQUENCE of Extension SEQUENCEs)
  let extensions: DerElement[] = [];
  for (const o of optional) {
    if (o.tag === 0xa3) extensions = childrenOf(onlyChild(o, 0xa3, 'extensions'), 0x30, 'Extensions');
    else if (o.tag !== 0x81 && o.tag !== 0x82 && o.tag !== 0xa1 && o.tag !== 0xa2) throw new Asn1DecodeError('TBSCertificate: unexpected field');
  }
  for (const e of extensions) childrenOf(e, 0x30, 'Extension');
  return {
    serialHex: integerHex(serial!.value),
    serialDer: serial!.raw,
    issuerDer: definiteForm(issuer!),
    subjectDer: definiteForm(subject!),
    notBefore: timeValue(nb),
    notAfter: timeValue(na),
    spkiDer: definiteForm(spki!),
    extensions,
  };
}

/** A parsed X.509 certificate: typed getters over its original bytes. */
export class ParsedCertificate {
  readonly serialHex: string;
  readonly serialDer: Buffer;
  /** Issuer DN DER (for IssuerAndSerialNumber matching). */
  readonly issuerDer: Buffer;
  readonly subjectDer: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly spkiDer: Buffer;
  private readonly extensionElements: DerElement[];
  private key?: KeyObject;
  private subjectText?: string;
  private issuerText?: string;
  private extensionValues?: Map<string, { critical: boolean; value: Buffer }>;

  private constructor(
    readonly der: Buffer,
    f: TbsFields,
  ) {
    this.serialHex = f.serialHex;
    this.serialDer = f.serialDer;
    this.issuerDer = f.issuerDer;
    this.subjectDer = f.subjectDer;
    this.notBefore = f.notBefore;
    this.notAfter = f.notAfter;
    this.spkiDer = f.spkiDer;
    this.extensionElements = f.extensions;
  }

  /** Throws Asn1DecodeError on anything that is not a certificate. */
  static fromDer(der: Uint8Array): ParsedCertificate {
    const buf = Buffer.from(der);
    return new ParsedCertificate(buf, readFields(buf));
  }

  get subject(): string {
    this.subjectText ??= formatName(this.subjectDer);
    return this.subjectText;
  }

  get issuer(): string {
    this.issuerText ??= formatName(this.issuerDer);
    return this.issuerText;
  }

  get publicKey(): KeyObject {
    this.key ??= publicKeyFromSpki(this.spkiDer);
    return this.key;
  }

  get fingerprintSha256(): string {
    return createHash('sha256').update(this.der).digest('hex');
  }

  get fingerprintSha1(): Buffer {
    return createHash('sha1').update(this.der).digest();
  }

  /** SHA-256 of the SubjectPublicKeyInfo: identifies the key, e.g. for transaction binding. */
  get publicKeyHash(): string {
    return createHash('sha256').update(this.spkiDer).digest('hex');
  }

  /** Content of the subjectPublicKey BIT STRING: what OCSP issuerKeyHash and key identifiers cover. */
  get publicKeyBits(): Buffer {
    return bitStringBytes(childrenOf(readSingle(this.spkiDer), 0x30, 'SubjectPublicKeyInfo')[1], 'subjectPublicKey');
  }

  isSelfIssued(): boolean {
    return this.issuerDer.equals(this.subjectDer);
  }

  /** extnValue contents by extnID. */
  extension(oid: string): { critical: boolean; value: Buffer } | undefined {
    if (!this.extensionValues) {
      this.extensionValues = new Map();
      for (const e of this.extensionElements) {
        const parts = readChildren(e.value);
        const critical = parts.length === 3 && primitiveOf(parts[1], 0x01, 'critical')[0] !== 0;
        this.extensionValues.set(oidOf(parts[0], 'extnID'), { critical, value: octetsOf(parts[parts.length - 1], 'extnValue') });
      }
    }
    return this.extensionValues.get(oid);
  }

  /** The subjectKeyIdentifier extension, if present. */
  get subjectKeyIdentifier(): Buffer | undefined {
    const ext = this.extension(OID.subjectKeyIdentifier);
    return ext && octetsOf(readSingle(ext.value), 'keyIdentifier');
  }

  /** keyUsage bit numbers (RFC 5280 4.2.1.3: 0 digitalSignature, 2 keyEncipherment, 5 keyCertSign...); undefined without the extension. */
  get keyUsage(): Set<number> | undefined {
    const ext = this.extension(OID.keyUsage);
    return ext && namedBits(readSingle(ext.value), 'keyUsage');
  }
}

/**
 * The bytes of a certificate that CRLs and OCSP responses are built from. The subject Name is kept
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

// The service usually passes the same issuer Buffer on every call; read it once.
const fieldsCache = new WeakMap<Uint8Array, CertificateFields>();

/** Throws RangeError on a certificate it cannot read: the issuer certificate is configuration, not input. */
export function readCertificateFields(certDer: Uint8Array): CertificateFields {
  const cached = fieldsCache.get(certDer);
  if (cached) return cached;
  try {
    const cert = ParsedCertificate.fromDer(asBuffer(certDer));
    const publicKeyBits = Buffer.from(cert.publicKeyBits);
    const subjectKeyIdentifier = cert.subjectKeyIdentifier && Buffer.from(cert.subjectKeyIdentifier);
    const result: CertificateFields = {
      subjectDer: Buffer.from(cert.subjectDer),
      publicKeyBits,
      subjectKeyIdentifier,
      keyIdentifier: subjectKeyIdentifier ?? createHash('sha1').update(publicKeyBits).digest(),
    };
    fieldsCache.set(certDer, result);
    return result;
  } catch (err) {
    if (err instanceof Asn1DecodeError) throw new RangeError(`unreadable certificate: ${err.message}`);
    throw err;
  }
}
