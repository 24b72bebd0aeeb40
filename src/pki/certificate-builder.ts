import { createHash, KeyObject } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { OID } from './oids';
import { signAsync } from './sign';
import { childrenOf, readSingle } from './der-reader';
import { bitStringBytes } from './der-values';
import { DER_NULL, DER_TRUE, derBitString, derExtension, derOctetString, derOid, derSequence, derTime, derUnsignedInteger, tlv } from './der-writer';

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
  /** Name DER (buildName(), the CSR's subject, the CA's subject) */
  subject: Uint8Array;
  issuer: Uint8Array;
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
  /** subjectAltName: DNS names and IP addresses (a TLS server certificate) */
  subjectAltName?: { dns?: string[]; ip?: string[] };
}

/** SHA-1 of the subjectPublicKey BIT STRING contents (RFC 5280 4.2.1.2 method 1). */
export function keyIdentifier(spkiDer: Uint8Array): Buffer {
  const [, key] = childrenOf(readSingle(spkiDer), 0x30, 'SubjectPublicKeyInfo');
  return createHash('sha1').update(bitStringBytes(key, 'subjectPublicKey')).digest();
}

function keyUsageBits(names: KeyUsageName[]): Buffer {
  let bits = 0;
  for (const n of names) bits |= 0x80 >> KeyUsage[n];
  // DER: no trailing zero bits, so count the unused low bits of the single byte (none set: no byte at all)
  if (bits === 0) return tlv(0x03, Buffer.from([0]));
  let unused = 0;
  while (unused < 7 && !(bits & (1 << unused))) unused++;
  return tlv(0x03, Buffer.from([unused, bits]));
}

/** GeneralName uniformResourceIdentifier [6] IA5String. */
const uriName = (uri: string): Buffer => tlv(0x86, Buffer.from(uri, 'latin1'));

function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) throw new RangeError(`not an IP address: ${ip}`);
  // expand '::' and an embedded IPv4 tail into eight 16-bit groups
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  let text = ip;
  if (v4) {
    const b = v4[1]!.split('.').map(Number);
    text = ip.slice(0, -v4[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

const SHA256_RSA = derSequence(derOid(OID.sha256WithRSAEncryption), DER_NULL);

/**
 * Builds and signs (sha256WithRSAEncryption) an X.509 v3 certificate; returns its DER. Written
 * with the DER writer: this runs once per enrollment, and pkijs/asn1js took about 2.5 ms of the
 * event loop for it.
 */
export async function buildCertificate(t: CertificateTemplate, signerKey: KeyObject): Promise<Buffer> {
  const extensions: Buffer[] = [
    derExtension(OID.basicConstraints, t.ca ? derSequence(DER_TRUE) : derSequence(), true),
    derExtension(OID.keyUsage, keyUsageBits(t.keyUsage), true),
    derExtension(OID.subjectKeyIdentifier, derOctetString(keyIdentifier(t.subjectPublicKeyInfo))),
  ];
  if (t.authorityKeyId) extensions.push(derExtension(OID.authorityKeyIdentifier, derSequence(tlv(0x80, t.authorityKeyId))));
  if (t.extendedKeyUsage?.length) extensions.push(derExtension(OID.extKeyUsage, derSequence(...t.extendedKeyUsage.map((o) => derOid(o)))));
  // DistributionPoint { distributionPoint [0] { fullName [0] { uri } } }
  if (t.crlUrl) extensions.push(derExtension(OID.cRLDistributionPoints, derSequence(derSequence(tlv(0xa0, tlv(0xa0, uriName(t.crlUrl)))))));
  if (t.ocspUrl) extensions.push(derExtension(OID.authorityInfoAccess, derSequence(derSequence(derOid(OID.ocsp), uriName(t.ocspUrl)))));
  if (t.ocspNoCheck) extensions.push(derExtension(OID.ocspNoCheck, DER_NULL));
  if (t.subjectAltName?.dns?.length || t.subjectAltName?.ip?.length) {
    // GeneralNames: dNSName [2] IA5String, iPAddress [7] OCTET STRING (4 or 16 bytes)
    const names = [
      ...(t.subjectAltName.dns ?? []).map((d) => tlv(0x82, Buffer.from(d, 'latin1'))),
      ...(t.subjectAltName.ip ?? []).map((ip) => tlv(0x87, ipBytes(ip))),
    ];
    extensions.push(derExtension(OID.subjectAltName, derSequence(...names)));
  }

  const tbs = derSequence(
    tlv(0xa0, Buffer.from([0x02, 0x01, 0x02])), // version v3
    derUnsignedInteger(t.serial),
    SHA256_RSA,
    t.issuer,
    derSequence(derTime(t.notBefore), derTime(t.notAfter)),
    t.subject,
    t.subjectPublicKeyInfo,
    tlv(0xa3, derSequence(...extensions)),
  );
  const signature = await signAsync('sha256', tbs, signerKey);
  return derSequence(tbs, SHA256_RSA, derBitString(signature));
}
