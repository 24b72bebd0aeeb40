// Raw DER for hostile SCEP requests: subjects no well-behaved builder would produce (wrong string
// types, control characters, non-Name structures), CSRs carrying them, and GetCert requests, sent
// through the real server and opened like a client would.
import { createPublicKey, KeyObject, sign } from 'node:crypto';
import { ParsedCertificate } from '../../src/pki/certificate';
import { contentCipherByOid } from '../../src/pki/content-cipher';
import { buildName } from '../../src/pki/names';
import { OID } from '../../src/pki/oids';
import { CaCertificates, selfSignedFor } from '../../src/scep/client/scep-client';
import { buildPkiMessage, openCertRep } from '../../src/scep/client/scep-client.codec';
import { FailInfo, MessageType, PkiStatus } from '../../src/scep/scep.types';

export const TAG = { integer: 0x02, octetString: 0x04, utf8: 0x0c, printable: 0x13, teletex: 0x14, ia5: 0x16, bmp: 0x1e, sequence: 0x30, set: 0x31 } as const;

export const ATTR = {
  CN: '2.5.4.3',
  C: '2.5.4.6',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  serialNumber: '2.5.4.5',
  title: '2.5.4.12',
  emailAddress: '1.2.840.113549.1.9.1',
  DC: '0.9.2342.19200300.100.1.25',
} as const;

export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  const body = Buffer.concat(parts);
  const n = body.length;
  const len =
    n < 0x80
      ? Buffer.from([n])
      : n < 0x100
        ? Buffer.from([0x81, n])
        : n < 0x10000
          ? Buffer.from([0x82, n >> 8, n & 0xff])
          : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
}

export function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const bytes: number[] = [];
  for (const arc of [a! * 40 + b!, ...rest]) {
    const chunk = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** One AttributeTypeAndValue; `value` as text in the tag's usual encoding, or raw contents. */
export function atv(type: string, tag: number, value: string | Buffer): Buffer {
  const bytes =
    typeof value !== 'string'
      ? value
      : tag === TAG.bmp
        ? Buffer.from(value, 'utf16le').swap16()
        : tag === TAG.utf8
          ? Buffer.from(value, 'utf8')
          : Buffer.from(value, 'latin1');
  return tlv(TAG.sequence, oid(type), tlv(tag, bytes));
}

/** A Name of one RDN per argument; an RDN is one AttributeTypeAndValue or several (multi-valued). */
export function nameDer(...rdns: (Buffer | Buffer[])[]): Buffer {
  return tlv(TAG.sequence, ...rdns.map((r) => tlv(TAG.set, ...(Array.isArray(r) ? r : [r]))));
}

export const utf8Name = (...pairs: [string, string][]): Buffer => nameDer(...pairs.map(([t, v]) => atv(t, TAG.utf8, v)));

/** A PKCS#10 request over any subject bytes, signed (sha256WithRSA) by `key`. */
export function rawCsr(subjectDer: Buffer, key: KeyObject, challenge?: string): Buffer {
  return rawCsrWithAttributes(subjectDer, key, challenge === undefined ? [] : [challengeAttribute(challenge)]);
}

/** A challengePassword attribute with each of `values` (UTF8String). */
export function challengeAttribute(...values: string[]): Buffer {
  return tlv(TAG.sequence, oid(OID.challengePassword), tlv(TAG.set, ...values.map((v) => tlv(TAG.utf8, Buffer.from(v)))));
}

/**
 * A PKCS#10 request with exactly `attrs` (DER Attributes) in its attribute set, naming
 * `signatureOid` as its signature algorithm (the signature itself is always SHA-256 with `key`).
 */
export function rawCsrWithAttributes(subjectDer: Buffer, key: KeyObject, attrs: Buffer[], signatureOid: string = OID.sha256WithRSAEncryption): Buffer {
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const info = tlv(TAG.sequence, tlv(TAG.integer, Buffer.from([0])), subjectDer, spki, tlv(0xa0, ...attrs));
  const alg = tlv(TAG.sequence, oid(signatureOid), ...(key.asymmetricKeyType === 'rsa' ? [Buffer.from([0x05, 0x00])] : []));
  const sig = sign('sha256', info, key);
  return tlv(TAG.sequence, info, alg, tlv(0x03, Buffer.from([0]), sig));
}

export interface RawReply {
  httpStatus: number;
  status?: PkiStatus;
  failInfo?: FailInfo;
  failText?: string;
  certificates: ParsedCertificate[];
}

export type Signer = { certificate: ParsedCertificate; key: KeyObject };

/** A self-signed requester certificate for `key` (RFC 8894 section 2.3), with a plain subject. */
export async function selfSigned(key: KeyObject, cn = 'requester'): Promise<Signer> {
  return { certificate: await selfSignedFor(key, buildName([{ type: 'CN', value: cn }])), key };
}

/** Sends one pkiMessage to `scepUrl` and opens the CertRep (when the answer is 200). */
export async function sendPkiMessage(
  scepUrl: string,
  cas: CaCertificates,
  messageType: MessageType,
  messageData: Buffer,
  signer: Signer,
  transactionId: string,
): Promise<RawReply> {
  const msg = await buildPkiMessage({
    messageType,
    messageData,
    transactionId,
    recipient: cas.recipient,
    cipher: contentCipherByOid(OID.aes256Cbc)!,
    digest: 'sha256',
    signerCert: signer.certificate,
    signerKey: signer.key,
  });
  const res = await fetch(`${scepUrl}?operation=PKIOperation`, {
    method: 'POST',
    body: new Uint8Array(msg.der),
    headers: { 'Content-Type': 'application/x-pki-message' },
  });
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) return { httpStatus: res.status, certificates: [] };
  const rep = await openCertRep(body, signer);
  if (!rep.signatureValid) throw new Error('CertRep signature does not verify');
  return { httpStatus: 200, status: rep.message.pkiStatus, failInfo: rep.message.failInfo, failText: rep.message.failInfoText, certificates: rep.certificates };
}

/** A PKCSReq for `subjectDer`, signed by a self-signed certificate of the CSR key. */
export async function sendRawPkcsReq(
  scepUrl: string,
  cas: CaCertificates,
  subjectDer: Buffer,
  key: KeyObject,
  challenge: string | undefined,
  transactionId: string,
): Promise<RawReply> {
  return sendPkiMessage(scepUrl, cas, MessageType.PKCSReq, rawCsr(subjectDer, key, challenge), await selfSigned(key), transactionId);
}

/** IssuerAndSerialNumber for GetCert. */
export function issuerAndSerial(issuerDer: Buffer, serialHex: string): Buffer {
  let serial = Buffer.from(serialHex.length % 2 ? `0${serialHex}` : serialHex, 'hex');
  if (serial[0]! & 0x80) serial = Buffer.concat([Buffer.from([0]), serial]);
  return tlv(TAG.sequence, issuerDer, tlv(TAG.integer, serial));
}

export async function sendGetCert(scepUrl: string, cas: CaCertificates, signer: Signer, serialHex: string, transactionId: string): Promise<RawReply> {
  return sendPkiMessage(scepUrl, cas, MessageType.GetCert, issuerAndSerial(cas.ca.subjectDer, serialHex), signer, transactionId);
}
