import { createHash, KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { decodeAs, integerHex, octets, parseAsn1 } from './der';
import { OID, digestOid, hashFromOid } from './oids';
import { HashName, signAsync, verifyAsync } from './sign';
import { ParsedCertificate } from './certificate';
import { toArrayBuffer, toBuffer } from '../shared/bytes';
import { BadRequestError } from '../shared/errors';

export interface SignedDataSigner {
  certificate: ParsedCertificate;
  digest: HashName;
  /** signed attributes by OID (first value of each) */
  attributes: Map<string, asn1js.AsnType>;
}

export interface ParsedSignedData {
  content?: Buffer;
  certificates: ParsedCertificate[];
  signer: SignedDataSigner;
  /** verifies messageDigest and the signature over the signed attributes */
  verify(): Promise<boolean>;
}

function unwrapContentInfo(der: Uint8Array, expected: string, what: string): asn1js.AsnType {
  const asn1 = parseAsn1(der, what);
  const ci = decodeAs(what, () => new pkijs.ContentInfo({ schema: asn1 }));
  if (ci.contentType !== expected) throw new BadRequestError(`${what}: unexpected content type ${ci.contentType}`);
  return ci.content;
}

/** Parses a CMS SignedData with exactly one signer whose certificate is included (as SCEP requires). */
export function parseSignedData(der: Uint8Array, what = 'pkiMessage'): ParsedSignedData {
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

  const attributes = new Map<string, asn1js.AsnType>();
  for (const attr of si.signedAttrs.attributes) {
    if (attr.values[0] !== undefined) attributes.set(attr.type, attr.values[0]);
  }
  const eContent = sd.encapContentInfo.eContent;
  const body = eContent ? octets(eContent) : undefined;
  // pkijs keeps the received bytes of the signed attributes, already re-tagged as SET (0x31)
  const signedAttrsDer = new Uint8Array(si.signedAttrs.encodedValue);
  const signature = si.signature.valueBlock.valueHexView;

  return {
    content: body,
    certificates,
    signer: { certificate, digest, attributes },
    async verify() {
      const md = attributes.get(OID.messageDigest);
      if (!(md instanceof asn1js.OctetString)) return false;
      const actual = createHash(digest).update(body ?? Buffer.alloc(0)).digest();
      if (!actual.equals(octets(md))) return false;
      try {
        return await verifyAsync(digest, signedAttrsDer, certificate.publicKey, signature);
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

export function attribute(type: string, value: asn1js.AsnType): pkijs.Attribute {
  return new pkijs.Attribute({ type, values: [value] });
}

/** Signs `content` (or nothing) with signed attributes, embedding `certificates`; returns ContentInfo DER. */
export async function buildSignedData(opts: {
  content?: Uint8Array;
  signerCert: ParsedCertificate;
  signerKey: KeyObject;
  digest: HashName;
  attributes: pkijs.Attribute[];
  certificates: ParsedCertificate[];
  signingTime?: Date;
}): Promise<Buffer> {
  const digestAlg = new pkijs.AlgorithmIdentifier({ algorithmId: digestOid(opts.digest), algorithmParams: new asn1js.Null() });
  const content = opts.content ?? new Uint8Array(0);
  const attrs = [
    attribute(OID.contentType, new asn1js.ObjectIdentifier({ value: OID.data })),
    attribute(OID.signingTime, new asn1js.UTCTime({ valueDate: opts.signingTime ?? new Date() })),
    attribute(OID.messageDigest, new asn1js.OctetString({ valueHex: toArrayBuffer(createHash(opts.digest).update(content).digest()) })),
    ...opts.attributes,
  ];
  // DER orders SET OF by encoding; OpenSSL and Go verify over the bytes we send either way
  const encoded = attrs.map((a) => ({ a, der: Buffer.from(a.toSchema().toBER(false)) }));
  encoded.sort((x, y) => Buffer.compare(x.der, y.der));
  const signedAttrs = new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: encoded.map((e) => e.a) });
  const toSign = new Uint8Array(signedAttrs.toSchema().toBER(false));
  toSign[0] = 0x31;
  const signature = await signAsync(opts.digest, toSign, opts.signerKey);

  const sd = new pkijs.SignedData({
    version: 1,
    digestAlgorithms: [digestAlg],
    encapContentInfo: new pkijs.EncapsulatedContentInfo({
      eContentType: OID.data,
      ...(opts.content ? { eContent: new asn1js.OctetString({ valueHex: toArrayBuffer(opts.content) }) } : {}),
    }),
    certificates: opts.certificates.map((c) => c.cert),
    signerInfos: [
      new pkijs.SignerInfo({
        version: 1,
        sid: new pkijs.IssuerAndSerialNumber({ issuer: opts.signerCert.cert.issuer, serialNumber: opts.signerCert.cert.serialNumber }),
        digestAlgorithm: digestAlg,
        signedAttrs,
        signatureAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.rsaEncryption, algorithmParams: new asn1js.Null() }),
        signature: new asn1js.OctetString({ valueHex: toArrayBuffer(signature) }),
      }),
    ],
  });
  return contentInfo(OID.signedData, sd.toSchema(true));
}

/** A degenerate (certs-only, and/or CRLs-only) SignedData, as in GetCACert RA bundles and CertRep. */
export function buildDegenerateSignedData(certificates: ParsedCertificate[], crls: Uint8Array[] = []): Buffer {
  const sd = new pkijs.SignedData({
    version: 1,
    digestAlgorithms: [],
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: OID.data }),
    certificates: certificates.map((c) => c.cert),
    ...(crls.length ? { crls: crls.map((c) => pkijs.CertificateRevocationList.fromBER(toArrayBuffer(c))) } : {}),
    signerInfos: [],
  });
  return contentInfo(OID.signedData, sd.toSchema(true));
}

export function contentInfo(contentType: string, content: asn1js.AsnType): Buffer {
  return toBuffer(new pkijs.ContentInfo({ contentType, content }).toSchema().toBER(false));
}

export { unwrapContentInfo };
