import { createHash, KeyObject } from 'node:crypto';
import * as pkijs from 'pkijs';
import { decodeAs, integerHex, parseAsn1 } from './der';
import { childrenOf, DerDecodeError, integerHex as derIntegerHex, readChildren, readSingle } from './der-reader';
import { expectTag, timeValue } from './der-values';
import { formatName, formatNameDer } from './names';
import { publicKeyFromSpki } from './public-key';
import { toArrayBuffer, toBuffer } from '../shared/bytes';

/** The fields every caller needs, as raw DER slices of the certificate. */
interface CertificateFields {
  serialHex: string;
  /** the serialNumber INTEGER TLV, as encoded (IssuerAndSerialNumber) */
  serialDer: Buffer;
  issuerDer: Buffer;
  subjectDer: Buffer;
  notBefore: Date;
  notAfter: Date;
  spkiDer: Buffer;
}

/**
 * Reads the fields with the small DER reader (a few µs; asn1js + pkijs take about 0.5 ms per
 * certificate here, and every enrollment parses two). Throws DerDecodeError on anything that is
 * not plain DER, and callers then use the full pkijs parser, whose behaviour is the reference.
 */
function fastFields(der: Buffer): CertificateFields {
  const [tbs, sigAlg, sig, extra] = childrenOf(readSingle(der), 0x30, 'Certificate');
  expectTag(sigAlg, 0x30, 'signatureAlgorithm');
  expectTag(sig, 0x03, 'signatureValue');
  if (extra) throw new DerDecodeError('Certificate: too many values');
  const all = childrenOf(tbs, 0x30, 'TBSCertificate');
  const f = all[0]?.tag === 0xa0 ? all.slice(1) : all;
  const [serial, alg, issuer, validity, subject, spki, ...optional] = f;
  expectTag(serial, 0x02, 'serialNumber');
  expectTag(alg, 0x30, 'signature');
  expectTag(issuer, 0x30, 'issuer');
  expectTag(subject, 0x30, 'subject');
  expectTag(spki, 0x30, 'subjectPublicKeyInfo');
  const [nb, na, more] = childrenOf(validity, 0x30, 'validity');
  if (!nb || !na || more) throw new DerDecodeError('validity: expected two times');
  // issuerUniqueID [1], subjectUniqueID [2], extensions [3] (each a SEQUENCE of SEQUENCEs)
  for (const o of optional) {
    if (o.tag === 0xa3) for (const e of childrenOf(readChildren(o.value)[0], 0x30, 'extensions')) childrenOf(e, 0x30, 'Extension');
    else if (o.tag !== 0x81 && o.tag !== 0x82 && o.tag !== 0xa1 && o.tag !== 0xa2) throw new DerDecodeError('TBSCertificate: unexpected field');
  }
  return {
    serialHex: derIntegerHex(serial!.value),
    serialDer: serial!.raw,
    issuerDer: issuer!.raw,
    subjectDer: subject!.raw,
    notBefore: timeValue(nb),
    notAfter: timeValue(na),
    spkiDer: spki!.raw,
  };
}

function pkijsFields(cert: pkijs.Certificate): CertificateFields {
  return {
    serialHex: integerHex(cert.serialNumber),
    serialDer: toBuffer(cert.serialNumber.toBER(false)),
    issuerDer: toBuffer(cert.issuer.toSchema().toBER(false)),
    subjectDer: toBuffer(cert.subject.toSchema().toBER(false)),
    notBefore: cert.notBefore.value,
    notAfter: cert.notAfter.value,
    spkiDer: toBuffer(cert.subjectPublicKeyInfo.toSchema().toBER(false)),
  };
}

/** A parsed X.509 certificate with typed getters over its original DER; pkijs objects on demand. */
export class ParsedCertificate {
  readonly serialHex: string;
  readonly serialDer: Buffer;
  /** Issuer DN DER (for IssuerAndSerialNumber matching). */
  readonly issuerDer: Buffer;
  readonly subjectDer: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly spkiDer: Buffer;
  private parsed?: pkijs.Certificate;
  private key?: KeyObject;
  private subjectText?: string;
  private issuerText?: string;

  private constructor(readonly der: Buffer, f: CertificateFields, cert?: pkijs.Certificate) {
    this.serialHex = f.serialHex;
    this.serialDer = f.serialDer;
    this.issuerDer = f.issuerDer;
    this.subjectDer = f.subjectDer;
    this.notBefore = f.notBefore;
    this.notAfter = f.notAfter;
    this.spkiDer = f.spkiDer;
    this.parsed = cert;
  }

  static fromDer(der: Uint8Array): ParsedCertificate {
    const buf = Buffer.from(der);
    const fast = ParsedCertificate.tryFast(buf);
    if (fast) return fast;
    const asn1 = parseAsn1(der, 'certificate');
    const cert = decodeAs('certificate', () => new pkijs.Certificate({ schema: asn1 }));
    return new ParsedCertificate(buf, pkijsFields(cert), cert);
  }

  /** The fast reader only: undefined when the DER needs the full parser. */
  static tryFast(der: Buffer): ParsedCertificate | undefined {
    try {
      return new ParsedCertificate(der, fastFields(der));
    } catch (err) {
      if (err instanceof DerDecodeError) return undefined;
      throw err;
    }
  }

  static fromPkijs(cert: pkijs.Certificate): ParsedCertificate {
    return new ParsedCertificate(toBuffer(cert.toSchema(false).toBER(false)), pkijsFields(cert), cert);
  }

  /** The pkijs object, parsed on first use (extensions, tooling; not needed on the SCEP hot path). */
  get cert(): pkijs.Certificate {
    this.parsed ??= pkijs.Certificate.fromBER(toArrayBuffer(this.der));
    return this.parsed;
  }

  get subject(): string {
    this.subjectText ??= nameText(this.subjectDer, () => this.cert.subject);
    return this.subjectText;
  }

  get issuer(): string {
    this.issuerText ??= nameText(this.issuerDer, () => this.cert.issuer);
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

  isSelfIssued(): boolean {
    return this.issuerDer.equals(this.subjectDer);
  }
}

/** formatName() of a Name, from its DER when it holds plain strings, else through pkijs. */
export function nameText(der: Buffer, pkijsName: () => pkijs.RelativeDistinguishedNames): string {
  try {
    return formatNameDer(der);
  } catch (err) {
    if (err instanceof DerDecodeError) return formatName(pkijsName());
    throw err;
  }
}

export function pkijsCertificate(der: Uint8Array): pkijs.Certificate {
  return pkijs.Certificate.fromBER(toArrayBuffer(der));
}
