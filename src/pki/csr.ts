import { createHash, KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { decodeAs, parseAsn1 } from './der';
import { childrenOf, decodeOid, DerDecodeError, primitiveOf, readChildren, readSingle } from './der-reader';
import { bitStringBytes, expectTag, stringValue } from './der-values';
import { OID, hashFromOid } from './oids';
import { verifyInline } from './sign';
import { nameText, ParsedCertificate } from './certificate';
import { publicKeyFromSpki } from './public-key';
import { toArrayBuffer, toBuffer } from '../shared/bytes';
import { BadRequestError } from '../shared/errors';

/** The parts of a CertificationRequest that enrollment uses, as DER slices. */
interface CsrFields {
  /** CertificationRequestInfo: what the signature covers */
  tbs: Uint8Array;
  subjectDer: Buffer;
  spkiDer: Buffer;
  signatureAlgorithm: string;
  signature: Uint8Array;
  /** challengePassword; throws DerDecodeError when only the full parser can read it */
  challengePassword: () => string | undefined;
}

/** Fast DER reading (see ParsedCertificate): throws DerDecodeError when pkijs must decide. */
function fastFields(der: Buffer): CsrFields {
  const [info, alg, sig, extra] = childrenOf(readSingle(der), 0x30, 'CertificationRequest');
  if (extra) throw new DerDecodeError('CertificationRequest: too many values');
  const [version, subject, spki, attrs, more] = childrenOf(info, 0x30, 'CertificationRequestInfo');
  expectTag(version, 0x02, 'version');
  expectTag(subject, 0x30, 'subject');
  expectTag(spki, 0x30, 'subjectPublicKeyInfo');
  if (more || (attrs && attrs.tag !== 0xa0)) throw new DerDecodeError('CertificationRequestInfo: unexpected field');
  const attributes = attrs ? readChildren(attrs.value).map((a) => childrenOf(a, 0x30, 'Attribute')) : [];
  for (const [type, values] of attributes) {
    primitiveOf(type, 0x06, 'attribute type');
    expectTag(values, 0x31, 'attribute values');
  }
  return {
    tbs: info!.raw,
    subjectDer: subject!.raw,
    spkiDer: spki!.raw,
    signatureAlgorithm: decodeOid(primitiveOf(childrenOf(alg, 0x30, 'signatureAlgorithm')[0], 0x06, 'algorithm')),
    signature: bitStringBytes(sig, 'signature'),
    challengePassword: () => {
      const attr = attributes.find(([type]) => decodeOid(type!.value) === OID.challengePassword);
      const value = attr ? readChildren(attr[1]!.value)[0] : undefined;
      return value ? stringValue(value) : undefined;
    },
  };
}

function pkijsFields(csr: pkijs.CertificationRequest): CsrFields {
  return {
    tbs: csr.tbsView,
    subjectDer: toBuffer(csr.subject.toSchema().toBER(false)),
    spkiDer: toBuffer(csr.subjectPublicKeyInfo.toSchema().toBER(false)),
    signatureAlgorithm: csr.signatureAlgorithm.algorithmId,
    signature: csr.signatureValue.valueBlock.valueHexView,
    challengePassword: () => {
      const attr = csr.attributes?.find((a) => a.type === OID.challengePassword);
      const value = attr?.values[0] as asn1js.AsnType | undefined;
      if (!value) return undefined;
      const block = (value as asn1js.BaseStringBlock).valueBlock as { value?: unknown };
      return typeof block.value === 'string' ? block.value : undefined;
    },
  };
}

/** A parsed PKCS#10 certification request. */
export class ParsedCsr {
  readonly spkiDer: Buffer;
  readonly subjectDer: Buffer;
  readonly publicKey: KeyObject;
  private parsed?: pkijs.CertificationRequest;
  private subjectText?: string;

  private constructor(readonly der: Buffer, private readonly f: CsrFields, csr?: pkijs.CertificationRequest, sameKey?: ParsedCertificate) {
    this.parsed = csr;
    this.spkiDer = f.spkiDer;
    this.subjectDer = f.subjectDer;
    try {
      this.publicKey = sameKey?.spkiDer.equals(this.spkiDer) ? sameKey.publicKey : publicKeyFromSpki(this.spkiDer);
    } catch (err) {
      throw new BadRequestError('unsupported public key in CSR', err);
    }
  }

  /** `sameKey`: a certificate that may hold the same public key (the request's signer), whose KeyObject is then reused. */
  static fromDer(der: Uint8Array, sameKey?: ParsedCertificate): ParsedCsr {
    const buf = Buffer.from(der);
    try {
      return new ParsedCsr(buf, fastFields(buf), undefined, sameKey);
    } catch (err) {
      if (!(err instanceof DerDecodeError)) throw err;
    }
    const asn1 = parseAsn1(der, 'CSR');
    const csr = decodeAs('CSR', () => new pkijs.CertificationRequest({ schema: asn1 }));
    return new ParsedCsr(buf, pkijsFields(csr), csr, sameKey);
  }

  /** The pkijs object, parsed on first use. */
  get csr(): pkijs.CertificationRequest {
    this.parsed ??= pkijs.CertificationRequest.fromBER(toArrayBuffer(this.der));
    return this.parsed;
  }

  get subject(): string {
    this.subjectText ??= nameText(this.subjectDer, () => this.csr.subject);
    return this.subjectText;
  }

  get keyType(): string {
    return this.publicKey.asymmetricKeyType ?? 'unknown';
  }

  get keyBits(): number {
    return this.publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
  }

  get publicKeyHash(): string {
    return createHash('sha256').update(this.spkiDer).digest('hex');
  }

  /** The subject as pkijs objects (parsed from its own DER, not from the whole request). */
  get subjectName(): pkijs.RelativeDistinguishedNames {
    return this.parsed?.subject ?? pkijs.RelativeDistinguishedNames.fromBER(toArrayBuffer(this.subjectDer));
  }

  /** challengePassword (PKCS#9) as a string, whatever DirectoryString type the client used. */
  get challengePassword(): string | undefined {
    try {
      return this.f.challengePassword();
    } catch (err) {
      if (!(err instanceof DerDecodeError)) throw err;
      return pkijsFields(this.csr).challengePassword();
    }
  }

  /** Checks the self-signature (proof of possession of the private key). */
  async verifySignature(): Promise<boolean> {
    const hash = hashFromOid(this.f.signatureAlgorithm);
    if (!hash) return false;
    try {
      return verifyInline(hash, this.f.tbs, this.publicKey, this.f.signature);
    } catch {
      return false;
    }
  }
}
