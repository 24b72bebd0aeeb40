import { createHash } from 'node:crypto';
import { childrenOf, DerElement, integerHex, oidOf, onlyChild, primitiveOf, readChildren, readSingle } from './der-reader';
import { definiteForm, expectTag, implicitOctets, octetsOf, octetsValue, stringValue } from './der-values';
import { DER_NULL, derOctetString, derOid, derSequence, derSetOf, derTime, tlv } from './der-writer';
import { OID, digestOid, hashFromOid } from './oids';
import { HashName, verifyInline } from './sign';
import { asPrivateKey, type SigningKey } from './private-key';
import { ParsedCertificate } from './certificate';
import { Asn1DecodeError, PkiInputError } from './pki.errors';

/** Signed attributes with exactly one value: CMS's own (RFC 5652 11) and SCEP's (RFC 8894 3.2.1). */
const SINGLE_VALUED = new Set<string>([
  OID.contentType,
  OID.messageDigest,
  OID.signingTime,
  OID.scepMessageType,
  OID.scepPkiStatus,
  OID.scepFailInfo,
  OID.scepSenderNonce,
  OID.scepRecipientNonce,
  OID.scepTransactionId,
  OID.scepFailInfoText,
]);

/** A signed attribute's first value, as the SCEP codec reads it: text or octets. */
export interface AttributeValue {
  /** set when the value is a string type */
  text?: string;
  /** set when the value is an OCTET STRING */
  octets?: Buffer;
}

export interface SignedDataSigner {
  certificate: ParsedCertificate;
  digest: HashName;
  /** signed attributes by OID (first value of each) */
  attributes: Map<string, AttributeValue>;
}

export interface ParsedSignedData {
  content?: Buffer;
  certificates: ParsedCertificate[];
  signer: SignedDataSigner;
  /** verifies messageDigest and the signature over the signed attributes */
  verify(): Promise<boolean>;
}

/** ContentInfo { contentType, [0] EXPLICIT content }: the content, which must be of type `expected`. */
export function readContentInfo(der: Uint8Array, expected: string, what: string): DerElement {
  const [type, content, extra] = childrenOf(readSingle(der), 0x30, 'ContentInfo');
  const contentType = oidOf(type, 'contentType');
  if (contentType !== expected) throw new Asn1DecodeError(`${what}: unexpected content type ${contentType}`);
  if (extra) throw new Asn1DecodeError('ContentInfo: too many values');
  return onlyChild(content, 0xa0, 'content');
}

/** Runs a reader and words its Asn1DecodeError as `malformed <what>: <reason>`. */
export function decoding<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof Asn1DecodeError && !err.message.startsWith(`malformed ${what}`)) throw new Asn1DecodeError(`malformed ${what}: ${err.message}`, err);
    throw err;
  }
}

function findSigner(sid: DerElement | undefined, certificates: ParsedCertificate[]): ParsedCertificate | undefined {
  if (sid?.tag === 0x30) {
    const [issuer, serial] = childrenOf(sid, 0x30, 'IssuerAndSerialNumber');
    const serialHex = integerHex(primitiveOf(serial, 0x02, 'serialNumber'));
    const issuerDer = definiteForm(expectTag(issuer, 0x30, 'issuer'));
    return certificates.find((c) => c.serialHex === serialHex && c.issuerDer.equals(issuerDer));
  }
  if (sid?.tag === 0x80 || sid?.tag === 0xa0) {
    // subjectKeyIdentifier [0]: the certificate carrying it, or the only one there is
    const ski = implicitOctets(sid, 0, 'subjectKeyIdentifier');
    return certificates.find((c) => c.subjectKeyIdentifier?.equals(ski)) ?? (certificates.length === 1 ? certificates[0] : undefined);
  }
  throw new Asn1DecodeError('SignerInfo: unexpected sid');
}

/**
 * Reads a CMS SignedData (RFC 5652 5) with exactly one signer whose certificate is included, as SCEP
 * requires. DER and BER (indefinite lengths, constructed OCTET STRINGs: Apple's client) alike;
 * pkijs took about 4 ms of the event loop per pkiMessage here, this a few µs.
 */
export function parseSignedData(der: Uint8Array, what = 'pkiMessage'): ParsedSignedData {
  return decoding(what, () => readSignedData(der, what));
}

function readSignedData(der: Uint8Array, what: string): ParsedSignedData {
  const f = childrenOf(readContentInfo(der, OID.signedData, what), 0x30, 'SignedData');
  const [version, digestAlgs, encap] = f;
  expectTag(version, 0x02, 'version');
  expectTag(digestAlgs, 0x31, 'digestAlgorithms');
  let i = 3;
  const certsEl = f[i]?.tag === 0xa0 ? f[i++] : undefined;
  if (f[i]?.tag === 0xa1) i++; // crls: not used
  const signerInfos = childrenOf(f[i], 0x31, 'signerInfos');
  if (f.length !== i + 1) throw new Asn1DecodeError('SignedData: unexpected fields');
  if (signerInfos.length !== 1) throw new PkiInputError(`${what}: expected one signer, found ${signerInfos.length}`);

  const [eType, eContent, eExtra] = childrenOf(encap, 0x30, 'encapContentInfo');
  oidOf(eType, 'eContentType');
  if (eExtra) throw new Asn1DecodeError('encapContentInfo: too many values');
  const content = eContent ? octetsOf(onlyChild(eContent, 0xa0, 'eContent'), 'eContent') : undefined;

  // other CertificateChoices (attribute certificates...) are not used
  const certificates = (certsEl ? readChildren(certsEl.value) : []).filter((c) => c.tag === 0x30).map((c) => ParsedCertificate.fromDer(c.raw));

  const [siVersion, sid, digestAlg, signedAttrs, sigAlg, signature, unsigned, siExtra] = childrenOf(signerInfos[0], 0x30, 'SignerInfo');
  expectTag(siVersion, 0x02, 'SignerInfo version');
  expectTag(sigAlg, 0x30, 'signatureAlgorithm');
  if (siExtra || (unsigned && unsigned.tag !== 0xa1)) throw new Asn1DecodeError('SignerInfo: unexpected fields');
  if (signedAttrs?.tag !== 0xa0) throw new PkiInputError(`${what}: no signed attributes`);
  const certificate = findSigner(sid, certificates);
  if (!certificate) throw new PkiInputError(`${what}: signer certificate missing`);
  const digestOid = oidOf(childrenOf(digestAlg, 0x30, 'digestAlgorithm')[0], 'algorithm');
  const digest = hashFromOid(digestOid);
  if (!digest) throw new PkiInputError(`${what}: unsupported digest algorithm ${digestOid}`);

  const attributes = new Map<string, AttributeValue>();
  const seen = new Set<string>();
  for (const a of readChildren(signedAttrs.value)) {
    const [type, values] = childrenOf(a, 0x30, 'Attribute');
    const oid = oidOf(type, 'attribute type');
    // RFC 5652 5.3: no attribute twice; the ones read here are single-valued (RFC 5652, RFC 8894),
    // so a second value could only make two readers disagree about the message
    if (seen.has(oid)) throw new PkiInputError(`${what}: signed attribute ${oid} appears more than once`);
    seen.add(oid);
    const all = childrenOf(values, 0x31, 'attribute values');
    if (all.length > 1 && SINGLE_VALUED.has(oid)) throw new PkiInputError(`${what}: signed attribute ${oid} has more than one value`);
    const first = all[0];
    if (first) attributes.set(oid, { text: stringValue(first), octets: octetsValue(first) });
  }
  // the signature covers the DER of the signed attributes, re-tagged as SET OF (0x31), in the signer's order
  const signedAttrsDer = Buffer.from(definiteForm(signedAttrs));
  signedAttrsDer[0] = 0x31;
  const signatureValue = octetsOf(signature, 'signature');

  return {
    content,
    certificates,
    signer: { certificate, digest, attributes },
    async verify() {
      const md = attributes.get(OID.messageDigest)?.octets;
      if (!md) return false;
      const actual = createHash(digest)
        .update(content ?? Buffer.alloc(0))
        .digest();
      if (!actual.equals(md)) return false;
      try {
        return verifyInline(digest, signedAttrsDer, certificate.publicKey, signatureValue);
      } catch {
        return false;
      }
    },
  };
}

/** The certificates and CRLs of a degenerate SignedData (GetCACert RA bundle, CertRep content). */
export function parseCertsOnly(der: Uint8Array, what = 'certs-only SignedData'): { certificates: ParsedCertificate[]; crls: Buffer[] } {
  return decoding(what, () => {
    const f = childrenOf(readContentInfo(der, OID.signedData, what), 0x30, 'SignedData');
    const field = (tag: number) => f.slice(3).find((e) => e.tag === tag);
    const certs = field(0xa0);
    const crls = field(0xa1);
    return {
      certificates: (certs ? readChildren(certs.value) : []).filter((c) => c.tag === 0x30).map((c) => ParsedCertificate.fromDer(c.raw)),
      crls: (crls ? readChildren(crls.value) : []).filter((c) => c.tag === 0x30).map((c) => Buffer.from(definiteForm(c))),
    };
  });
}

/** Attribute ::= SEQUENCE { type, SET { value } }, as DER; `value` is one DER value. */
export function attribute(type: string, value: Uint8Array): Buffer {
  return derSequence(derOid(type), tlv(0x31, value));
}

const issuerAndSerial = (c: ParsedCertificate): Buffer => derSequence(c.issuerDer, c.serialDer);

/**
 * Signs `content` (or nothing) with signed attributes, embedding `certificates`; returns ContentInfo
 * DER. Written with the DER writer (pkijs objects took several times longer, and pkijs splits
 * eContent into a constructed OCTET STRING): every CertRep goes through here.
 */
export async function buildSignedData(opts: {
  content?: Uint8Array;
  signerCert: ParsedCertificate;
  signerKey: SigningKey;
  digest: HashName;
  /** each a complete Attribute (see attribute()) */
  attributes: Uint8Array[];
  certificates: ParsedCertificate[];
  signingTime?: Date;
}): Promise<Buffer> {
  const digestAlg = derSequence(derOid(digestOid(opts.digest)), DER_NULL);
  const content = opts.content ?? new Uint8Array(0);
  const attrs = [
    attribute(OID.contentType, derOid(OID.data)),
    attribute(OID.signingTime, derTime(opts.signingTime ?? new Date())),
    attribute(OID.messageDigest, derOctetString(createHash(opts.digest).update(content).digest())),
    ...opts.attributes,
  ];
  // the signature covers the DER SET OF; sent as [0] IMPLICIT with the same contents
  const toSign = derSetOf(attrs);
  const signature = await asPrivateKey(opts.signerKey).sign(opts.digest, toSign);
  const signedAttrs = Buffer.from(toSign);
  signedAttrs[0] = 0xa0;

  const signerInfo = derSequence(
    Buffer.from([0x02, 0x01, 0x01]),
    issuerAndSerial(opts.signerCert),
    digestAlg,
    signedAttrs,
    derSequence(derOid(OID.rsaEncryption), DER_NULL),
    derOctetString(signature),
  );
  // eContent [0] EXPLICIT OCTET STRING, primitive: strict DER readers (strongSwan) refuse BER chunks
  const encap = opts.content ? derSequence(derOid(OID.data), tlv(0xa0, derOctetString(opts.content))) : derSequence(derOid(OID.data));
  const sd = derSequence(
    Buffer.from([0x02, 0x01, 0x01]),
    tlv(0x31, digestAlg),
    encap,
    derSetOf(
      opts.certificates.map((c) => c.der),
      0xa0,
    ),
    tlv(0x31, signerInfo),
  );
  return contentInfo(OID.signedData, sd);
}

/** A degenerate (certs-only, and/or CRLs-only) SignedData, as in GetCACert RA bundles and CertRep. */
export function buildDegenerateSignedData(certificates: ParsedCertificate[], crls: Uint8Array[] = []): Buffer {
  const sd = derSequence(
    Buffer.from([0x02, 0x01, 0x01]),
    tlv(0x31),
    derSequence(derOid(OID.data)),
    derSetOf(
      certificates.map((c) => c.der),
      0xa0,
    ),
    ...(crls.length ? [derSetOf(crls, 0xa1)] : []),
    tlv(0x31),
  );
  return contentInfo(OID.signedData, sd);
}

/** ContentInfo { contentType, [0] EXPLICIT content }; `content` is DER. */
export function contentInfo(contentType: string, content: Uint8Array): Buffer {
  return derSequence(derOid(contentType), tlv(0xa0, content));
}
