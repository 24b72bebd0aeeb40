import { createHash, KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { decodeAs, integerHex, octets, parseAsn1 } from './der';
import { childrenOf, decodeOid, DerDecodeError, integerHex as derIntegerHex, primitiveOf, readChildren, readSingle, type DerElement } from './der-reader';
import { expectTag, octetsValue, stringValue } from './der-values';
import { DER_NULL, derOctetString, derOid, derSequence, derSetOf, derTime, tlv } from './der-writer';
import { OID, digestOid, hashFromOid } from './oids';
import { HashName, signAsync, verifyInline } from './sign';
import { ParsedCertificate } from './certificate';
import { toBuffer } from '../shared/bytes';
import { BadRequestError } from '../shared/errors';

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

interface SignedParts {
  content?: Buffer;
  certificates: ParsedCertificate[];
  certificate: ParsedCertificate;
  digest: HashName;
  attributes: Map<string, AttributeValue>;
  signedAttrsDer: Uint8Array;
  signature: Uint8Array;
}

function unwrapContentInfo(der: Uint8Array, expected: string, what: string): asn1js.AsnType {
  const asn1 = parseAsn1(der, what);
  const ci = decodeAs(what, () => new pkijs.ContentInfo({ schema: asn1 }));
  if (ci.contentType !== expected) throw new BadRequestError(`${what}: unexpected content type ${ci.contentType}`);
  return ci.content;
}

/** ContentInfo { contentType, [0] EXPLICIT content } read with the DER reader. */
export function fastContentInfo(der: Uint8Array, expected: string): DerElement {
  const [type, content, extra] = childrenOf(readSingle(der), 0x30, 'ContentInfo');
  if (decodeOid(primitiveOf(type, 0x06, 'contentType')) !== expected || extra) throw new DerDecodeError('ContentInfo: not the expected type');
  const inner = childrenOf(content, 0xa0, 'content');
  if (inner.length !== 1) throw new DerDecodeError('ContentInfo: expected one content');
  return inner[0]!;
}

/**
 * The common case (DER, one signer with an IssuerAndSerialNumber or a single certificate) read with
 * the DER reader: pkijs took about 4 ms of the event loop per pkiMessage here. Throws DerDecodeError
 * for anything else, and parseSignedData then lets pkijs decide (and word the error), as before.
 */
function fastParse(der: Uint8Array): SignedParts {
  const f = childrenOf(fastContentInfo(der, OID.signedData), 0x30, 'SignedData');
  const [version, digestAlgs, encap] = f;
  expectTag(version, 0x02, 'version');
  expectTag(digestAlgs, 0x31, 'digestAlgorithms');
  let i = 3;
  const certsEl = f[i]?.tag === 0xa0 ? f[i++] : undefined;
  if (f[i]?.tag === 0xa1) i++; // crls: not used
  const signerInfos = childrenOf(f[i], 0x31, 'signerInfos');
  if (f.length !== i + 1 || signerInfos.length !== 1) throw new DerDecodeError('SignedData: unexpected shape');

  const [eType, eContent, eExtra] = childrenOf(encap, 0x30, 'encapContentInfo');
  primitiveOf(eType, 0x06, 'eContentType');
  if (eExtra) throw new DerDecodeError('encapContentInfo: too many values');
  let content: Buffer | undefined;
  if (eContent) {
    const inner = childrenOf(eContent, 0xa0, 'eContent');
    content = inner.length === 1 ? octetsValue(inner[0]!) : undefined;
    if (!content) throw new DerDecodeError('eContent is not an OCTET STRING');
  }

  const certificates: ParsedCertificate[] = [];
  for (const c of certsEl ? readChildren(certsEl.value) : []) {
    if (c.tag !== 0x30) continue; // other CertificateChoices are ignored, as before
    const cert = ParsedCertificate.tryFast(c.raw);
    if (!cert) throw new DerDecodeError('certificate needs the full parser');
    certificates.push(cert);
  }

  const s = childrenOf(signerInfos[0], 0x30, 'SignerInfo');
  const [siVersion, sid, digestAlg, signedAttrs, sigAlg, signature, unsigned, siExtra] = s;
  expectTag(siVersion, 0x02, 'SignerInfo version');
  expectTag(signedAttrs, 0xa0, 'signedAttrs');
  expectTag(sigAlg, 0x30, 'signatureAlgorithm');
  if (siExtra || (unsigned && unsigned.tag !== 0xa1)) throw new DerDecodeError('SignerInfo: unexpected shape');
  let certificate: ParsedCertificate | undefined;
  if (sid?.tag === 0x30) {
    const [issuer, serial] = childrenOf(sid, 0x30, 'IssuerAndSerialNumber');
    const serialHex = derIntegerHex(primitiveOf(serial, 0x02, 'serialNumber'));
    const issuerDer = expectTag(issuer, 0x30, 'issuer').raw;
    certificate = certificates.find((c) => c.serialHex === serialHex && c.issuerDer.equals(issuerDer));
  } else if (sid?.tag === 0x80) {
    certificate = certificates.length === 1 ? certificates[0] : undefined;
  }
  const digest = hashFromOid(decodeOid(primitiveOf(childrenOf(digestAlg, 0x30, 'digestAlgorithm')[0], 0x06, 'algorithm')));
  if (!certificate || !digest) throw new DerDecodeError('signer certificate or digest: let the full parser report it');

  const attributes = new Map<string, AttributeValue>();
  for (const a of readChildren(signedAttrs!.value)) {
    const [type, values] = childrenOf(a, 0x30, 'Attribute');
    const first = childrenOf(values, 0x31, 'attribute values')[0];
    if (first) attributes.set(decodeOid(primitiveOf(type, 0x06, 'attribute type')), { text: stringValue(first), octets: octetsValue(first) });
  }
  // the signature covers the signed attributes re-tagged as SET OF (0x31)
  const signedAttrsDer = Buffer.from(signedAttrs!.raw);
  signedAttrsDer[0] = 0x31;
  return { content, certificates, certificate, digest, attributes, signedAttrsDer, signature: primitiveOf(signature, 0x04, 'signature') };
}

/** The original pkijs reading: the reference for every input the fast reader declines. */
function pkijsParse(der: Uint8Array, what: string): SignedParts {
  const content = unwrapContentInfo(der, OID.signedData, what);
  const sd = decodeAs(what, () => new pkijs.SignedData({ schema: content }));
  if (sd.signerInfos.length !== 1) throw new BadRequestError(`${what}: expected one signer, found ${sd.signerInfos.length}`);
  const si = sd.signerInfos[0]!;
  const certificates = (sd.certificates ?? [])
    .filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate)
    .map((c) => ParsedCertificate.fromPkijs(c));
  const certificate = findSignerCertificate(si, certificates);
  if (!certificate) throw new BadRequestError(`${what}: signer certificate missing`);
  const digest = hashFromOid(si.digestAlgorithm.algorithmId);
  if (!digest) throw new BadRequestError(`${what}: unsupported digest algorithm ${si.digestAlgorithm.algorithmId}`);
  if (!si.signedAttrs) throw new BadRequestError(`${what}: no signed attributes`);

  const attributes = new Map<string, AttributeValue>();
  for (const attr of si.signedAttrs.attributes) {
    const v = attr.values[0] as asn1js.AsnType | undefined;
    if (v === undefined) continue;
    const text = (v as asn1js.BaseStringBlock).valueBlock as { value?: unknown };
    attributes.set(attr.type, { text: typeof text.value === 'string' ? text.value : undefined, octets: v instanceof asn1js.OctetString ? octets(v) : undefined });
  }
  const eContent = sd.encapContentInfo.eContent;
  return {
    content: eContent ? octets(eContent) : undefined,
    certificates,
    certificate,
    digest,
    attributes,
    // pkijs keeps the received bytes of the signed attributes, already re-tagged as SET (0x31)
    signedAttrsDer: new Uint8Array(si.signedAttrs.encodedValue),
    signature: si.signature.valueBlock.valueHexView,
  };
}

/** Parses a CMS SignedData with exactly one signer whose certificate is included (as SCEP requires). */
export function parseSignedData(der: Uint8Array, what = 'pkiMessage'): ParsedSignedData {
  let p: SignedParts;
  try {
    p = fastParse(der);
  } catch (err) {
    if (!(err instanceof DerDecodeError)) throw err;
    p = pkijsParse(der, what);
  }
  const { content: body, certificate, digest, attributes, signedAttrsDer, signature } = p;
  return {
    content: body,
    certificates: p.certificates,
    signer: { certificate, digest, attributes },
    async verify() {
      const md = attributes.get(OID.messageDigest)?.octets;
      if (!md) return false;
      const actual = createHash(digest).update(body ?? Buffer.alloc(0)).digest();
      if (!actual.equals(md)) return false;
      try {
        return verifyInline(digest, signedAttrsDer, certificate.publicKey, signature);
      } catch {
        return false;
      }
    },
  };
}

function findSignerCertificate(si: pkijs.SignerInfo, certs: ParsedCertificate[]): ParsedCertificate | undefined {
  if (si.sid instanceof pkijs.IssuerAndSerialNumber) {
    const serial = integerHex(si.sid.serialNumber);
    const issuer = toBuffer(si.sid.issuer.toSchema().toBER(false));
    return certs.find((c) => c.serialHex === serial && c.issuerDer.equals(issuer));
  }
  // subjectKeyIdentifier [0]
  return certs.length === 1 ? certs[0] : undefined;
}

/** Attribute ::= SEQUENCE { type, SET { value } }, as DER; `value` is DER or an asn1js value. */
export function attribute(type: string, value: asn1js.AsnType | Uint8Array): Buffer {
  const v = value instanceof Uint8Array ? value : new Uint8Array(value.toBER(false));
  return derSequence(derOid(type), tlv(0x31, v));
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
  signerKey: KeyObject;
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
  const signature = await signAsync(opts.digest, toSign, opts.signerKey);
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
    derSetOf(opts.certificates.map((c) => c.der), 0xa0),
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
    derSetOf(certificates.map((c) => c.der), 0xa0),
    ...(crls.length ? [derSetOf(crls, 0xa1)] : []),
    tlv(0x31),
  );
  return contentInfo(OID.signedData, sd);
}

/** ContentInfo { contentType, [0] EXPLICIT content }; content is DER or an asn1js value. */
export function contentInfo(contentType: string, content: asn1js.AsnType | Uint8Array): Buffer {
  const der = content instanceof Uint8Array ? content : new Uint8Array(content.toBER(false));
  return derSequence(derOid(contentType), tlv(0xa0, der));
}

export { unwrapContentInfo };
