import { createHash, KeyObject } from 'node:crypto';
import { asBuffer, childrenOf, DerElement, oidOf, readChildren, readSingle } from './der-reader';
import { bitStringBytes, definiteForm, expectTag, stringValue } from './der-values';
import { OID, hashFromOid } from './oids';
import { verifyInline, type HashName } from './sign';
import { ParsedCertificate } from './certificate';
import { formatName, nameAttributes, NameAttribute } from './names';
import { Asn1DecodeError, PkiInputError } from './pki.errors';
import { publicKeyFromSpki } from './public-key';

/**
 * A parsed PKCS#10 certification request (RFC 2986), read with the DER reader; BER is accepted.
 */
export class ParsedCsr {
  /** SubjectPublicKeyInfo, DER */
  readonly spkiDer: Buffer;
  /** subject Name, DER (multi-valued RDNs in DER order): what the certificate's subject is copied from */
  readonly subjectDer: Buffer;
  readonly publicKey: KeyObject;
  /** CertificationRequestInfo as received, and as DER when it came as BER: what the signature covers */
  private readonly tbs: Buffer[];
  private readonly signatureAlgorithm: string;
  private readonly signature: Buffer;
  private readonly attributes: [DerElement, DerElement][];
  private subjectText?: string;

  private constructor(
    readonly der: Buffer,
    sameKey?: ParsedCertificate,
  ) {
    const [info, alg, sig, extra] = childrenOf(readSingle(der), 0x30, 'CertificationRequest');
    if (extra) throw new Asn1DecodeError('CertificationRequest: too many values');
    const [version, subject, spki, attrs, more] = childrenOf(info, 0x30, 'CertificationRequestInfo');
    expectTag(version, 0x02, 'version');
    expectTag(subject, 0x30, 'subject');
    expectTag(spki, 0x30, 'subjectPublicKeyInfo');
    if (more || (attrs && attrs.tag !== 0xa0)) throw new Asn1DecodeError('CertificationRequestInfo: unexpected field');
    // one instance of each attribute, and one challengePassword (PKCS#9: SINGLE VALUE): which one a
    // reader takes must never depend on which of two it happens to look at
    const seen = new Set<string>();
    this.attributes = (attrs ? readChildren(attrs.value) : []).map((a) => {
      const [type, values] = childrenOf(a, 0x30, 'Attribute');
      const oid = oidOf(type, 'attribute type');
      if (seen.has(oid)) throw new PkiInputError(`CSR: attribute ${oid} appears more than once`);
      seen.add(oid);
      const set = expectTag(values, 0x31, 'attribute values');
      if (oid === OID.challengePassword && readChildren(set.value).length !== 1) throw new PkiInputError('CSR: challengePassword must have exactly one value');
      return [type!, set];
    });
    const tbsDer = definiteForm(info!);
    const allDer = tbsDer === info!.raw;
    this.tbs = allDer ? [tbsDer] : [info!.raw, tbsDer];
    this.subjectDer = definiteForm(subject!, true);
    this.spkiDer = allDer ? spki!.raw : definiteForm(spki!);
    this.signatureAlgorithm = oidOf(childrenOf(alg, 0x30, 'signatureAlgorithm')[0], 'algorithm');
    this.signature = bitStringBytes(sig, 'signature');
    try {
      this.publicKey = sameKey?.spkiDer.equals(this.spkiDer) ? sameKey.publicKey : publicKeyFromSpki(this.spkiDer);
    } catch (err) {
      throw new PkiInputError('unsupported public key in CSR', err);
    }
  }

  /**
   * Throws Asn1DecodeError on anything that is not a CSR, PkiInputError on a key we cannot use.
   * `sameKey`: a certificate that may hold the same public key (the request's signer), whose KeyObject is then reused.
   */
  static fromDer(der: Uint8Array, sameKey?: ParsedCertificate): ParsedCsr {
    return new ParsedCsr(Buffer.from(asBuffer(der)), sameKey);
  }

  get subject(): string {
    this.subjectText ??= formatName(this.subjectDer);
    return this.subjectText;
  }

  /** The subject Name (DER), for nameAttributes() and template matching. */
  get subjectName(): Buffer {
    return this.subjectDer;
  }

  /** The subject's attributes in encoding order. */
  get subjectAttributes(): NameAttribute[] {
    return nameAttributes(this.subjectDer);
  }

  get keyType(): string {
    return this.publicKey.asymmetricKeyType ?? 'unknown';
  }

  get keyBits(): number {
    return this.publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
  }

  /** the RSA public exponent; undefined for other keys */
  get publicExponent(): bigint | undefined {
    return this.publicKey.asymmetricKeyDetails?.publicExponent;
  }

  get signatureAlgorithmOid(): string {
    return this.signatureAlgorithm;
  }

  /** the hash of the CSR's signature algorithm; undefined for one we do not verify (MD5, PSS, ECDSA, ...) */
  get signatureHash(): HashName | undefined {
    return hashFromOid(this.signatureAlgorithm);
  }

  get publicKeyHash(): string {
    return createHash('sha256').update(this.spkiDer).digest('hex');
  }

  /** challengePassword (PKCS#9) as a string, whatever DirectoryString type the client used. */
  get challengePassword(): string | undefined {
    const attr = this.attributes.find(([type]) => oidOf(type, 'attribute type') === OID.challengePassword);
    const value = attr ? readChildren(attr[1].value)[0] : undefined;
    return value ? stringValue(value) : undefined;
  }

  /**
   * Checks the self-signature (proof of possession of the private key). RFC 2986 signs the DER of
   * the CertificationRequestInfo; a BER sender may have signed the bytes it sent, so both count.
   */
  async verifySignature(): Promise<boolean> {
    const hash = this.signatureHash;
    if (!hash) return false;
    try {
      return this.tbs.some((tbs) => verifyInline(hash, tbs, this.publicKey, this.signature));
    } catch {
      return false;
    }
  }
}
