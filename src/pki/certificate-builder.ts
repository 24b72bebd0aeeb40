import { createHash, KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { OID } from './oids';
import { signAsync } from './sign';
import { positiveInteger } from './der';
import { toArrayBuffer, toBuffer } from '../shared/bytes';

/** RFC 5280 keyUsage bits. */
export const KeyUsage = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
} as const;
export type KeyUsageName = keyof typeof KeyUsage;

export interface CertificateTemplate {
  serial: Uint8Array;
  subject: pkijs.RelativeDistinguishedNames;
  issuer: pkijs.RelativeDistinguishedNames;
  /** DER SubjectPublicKeyInfo of the certified key */
  subjectPublicKeyInfo: Uint8Array;
  /** the issuer's subject key identifier (AKI); omitted for self-signed when equal to SKI */
  authorityKeyId?: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  ca?: boolean;
  keyUsage: KeyUsageName[];
  extendedKeyUsage?: string[];
  crlUrl?: string;
  ocspUrl?: string;
  ocspNoCheck?: boolean;
}

/** SHA-1 of the subjectPublicKey BIT STRING contents (RFC 5280 4.2.1.2 method 1). */
export function keyIdentifier(spkiDer: Uint8Array): Buffer {
  const spki = pkijs.PublicKeyInfo.fromBER(toArrayBuffer(spkiDer));
  return createHash('sha1').update(spki.subjectPublicKey.valueBlock.valueHexView).digest();
}

function keyUsageBits(names: KeyUsageName[]): asn1js.BitString {
  let bits = 0;
  for (const n of names) bits |= 0x80 >> KeyUsage[n];
  // DER: no trailing zero bits, so count the unused low bits of the single byte
  let unused = 0;
  while (unused < 7 && !(bits & (1 << unused))) unused++;
  return new asn1js.BitString({ valueHex: new Uint8Array([bits]).buffer, unusedBits: unused });
}

function ext(extnID: string, critical: boolean, value: asn1js.AsnType | { toSchema(): asn1js.AsnType }): pkijs.Extension {
  const schema = 'toSchema' in value ? value.toSchema() : value;
  return new pkijs.Extension({ extnID, critical, extnValue: schema.toBER(false) });
}

function uriName(uri: string): pkijs.GeneralName {
  return new pkijs.GeneralName({ type: 6, value: uri });
}

/** UTCTime until 2049, GeneralizedTime after, as RFC 5280 4.1.2.5 requires. */
function time(d: Date): pkijs.Time {
  return new pkijs.Time({ type: d.getUTCFullYear() < 2050 ? 0 : 1, value: d });
}

const SHA256_RSA = () => new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256WithRSAEncryption, algorithmParams: new asn1js.Null() });

/** Builds and signs (sha256WithRSAEncryption) an X.509 v3 certificate; returns its DER. */
export async function buildCertificate(t: CertificateTemplate, signerKey: KeyObject): Promise<Buffer> {
  const cert = new pkijs.Certificate();
  cert.version = 2;
  cert.serialNumber = positiveInteger(t.serial);
  cert.issuer = t.issuer;
  cert.subject = t.subject;
  cert.notBefore = time(t.notBefore);
  cert.notAfter = time(t.notAfter);
  cert.subjectPublicKeyInfo = pkijs.PublicKeyInfo.fromBER(toArrayBuffer(t.subjectPublicKeyInfo));
  cert.signature = SHA256_RSA();
  cert.signatureAlgorithm = SHA256_RSA();

  const ski = keyIdentifier(t.subjectPublicKeyInfo);
  const extensions: pkijs.Extension[] = [
    ext(OID.basicConstraints, true, new pkijs.BasicConstraints({ cA: t.ca ?? false })),
    ext(OID.keyUsage, true, keyUsageBits(t.keyUsage)),
    ext(OID.subjectKeyIdentifier, false, new asn1js.OctetString({ valueHex: toArrayBuffer(ski) })),
  ];
  if (t.authorityKeyId) {
    extensions.push(
      ext(OID.authorityKeyIdentifier, false, new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: toArrayBuffer(t.authorityKeyId) }) })),
    );
  }
  if (t.extendedKeyUsage?.length) {
    extensions.push(ext(OID.extKeyUsage, false, new pkijs.ExtKeyUsage({ keyPurposes: t.extendedKeyUsage })));
  }
  if (t.crlUrl) {
    const dp = new pkijs.DistributionPoint({ distributionPoint: [uriName(t.crlUrl)] });
    extensions.push(ext(OID.cRLDistributionPoints, false, new pkijs.CRLDistributionPoints({ distributionPoints: [dp] })));
  }
  if (t.ocspUrl) {
    const aia = new pkijs.InfoAccess({ accessDescriptions: [new pkijs.AccessDescription({ accessMethod: OID.ocsp, accessLocation: uriName(t.ocspUrl) })] });
    extensions.push(ext(OID.authorityInfoAccess, false, aia));
  }
  if (t.ocspNoCheck) extensions.push(ext(OID.ocspNoCheck, false, new asn1js.Null()));
  cert.extensions = extensions;

  const tbs = cert.encodeTBS().toBER(false);
  const signature = await signAsync('sha256', new Uint8Array(tbs), signerKey);
  const der = new asn1js.Sequence({
    value: [asn1js.fromBER(tbs).result, SHA256_RSA().toSchema(), new asn1js.BitString({ valueHex: toArrayBuffer(signature) })],
  }).toBER(false);
  return toBuffer(der);
}
