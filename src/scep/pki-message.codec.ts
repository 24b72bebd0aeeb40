import { OID } from '../pki/oids';
import { pooledRandomBytes } from '../pki/random-pool';
import { HashName } from '../pki/sign';
import type { SigningKey } from '../pki/private-key';
import { ParsedCertificate } from '../pki/certificate';
import { ParsedCsr } from '../pki/csr';
import { attribute, AttributeValue, buildDegenerateSignedData, buildSignedData, parseSignedData } from '../pki/cms-signed-data';
import { derOctetString, tlv } from '../pki/der-writer';
import { buildEnvelopedData } from '../pki/cms-enveloped-data';
import { ContentCipher } from '../pki/content-cipher';
import { IssuerAndSerial, IssuerAndSubject, readIssuerAndSerial, readIssuerAndSubject } from '../pki/issuer-and-serial';
import { BadRequestError } from '../shared/errors';
import { FailInfo, MessageType, PkiStatus } from './scep.types';

/** The outer (signed) layer of a SCEP pkiMessage, before decryption. */
export interface PkiMessage {
  messageType: MessageType;
  transactionId: string;
  senderNonce: Buffer;
  signerCertificate: ParsedCertificate;
  digest: HashName;
  /** DER of the pkcsPKIEnvelope (absent on CertRep FAILURE/PENDING) */
  envelope?: Buffer;
  pkiStatus?: PkiStatus;
  failInfo?: FailInfo;
  recipientNonce?: Buffer;
  failInfoText?: string;
  verify(): Promise<boolean>;
}

function stringValue(v: AttributeValue | undefined): string | undefined {
  return v?.text;
}

function octetValue(v: AttributeValue | undefined): Buffer | undefined {
  return v?.octets;
}

/** The signed layer of a pkiMessage; undecodable input is an Asn1DecodeError or PkiInputError (HTTP 400). */
export function decodePkiMessage(der: Uint8Array): PkiMessage {
  const sd = parseSignedData(der, 'pkiMessage');
  const attrs = sd.signer.attributes;
  const typeText = stringValue(attrs.get(OID.scepMessageType));
  const transactionId = stringValue(attrs.get(OID.scepTransactionId));
  const senderNonce = octetValue(attrs.get(OID.scepSenderNonce));
  // a decimal number (RFC 8894 3.2.1.2) without leading zeros; nine digits keep any made-up one a safe integer
  if (!typeText) throw new BadRequestError('pkiMessage: messageType missing');
  if (!/^(0|[1-9]\d{0,8})$/.test(typeText)) throw new BadRequestError('pkiMessage: messageType is not a decimal number');
  if (!transactionId || transactionId.length > 128) throw new BadRequestError('pkiMessage: transactionID missing or too long');
  const status = stringValue(attrs.get(OID.scepPkiStatus));
  const fail = stringValue(attrs.get(OID.scepFailInfo));
  return {
    messageType: Number(typeText),
    transactionId,
    senderNonce: senderNonce ?? Buffer.alloc(0),
    signerCertificate: sd.signer.certificate,
    digest: sd.signer.digest,
    envelope: sd.content?.length ? sd.content : undefined,
    pkiStatus: status === undefined ? undefined : Number(status),
    failInfo: fail === undefined ? undefined : Number(fail),
    recipientNonce: octetValue(attrs.get(OID.scepRecipientNonce)),
    failInfoText: stringValue(attrs.get(OID.scepFailInfoText)),
    verify: () => sd.verify(),
  };
}

/** IssuerAndSubject (CertPoll) or IssuerAndSerialNumber (GetCert, GetCRL) message data. */
export type { IssuerAndSerial, IssuerAndSubject };
export const decodeIssuerAndSerial = readIssuerAndSerial;
export const decodeIssuerAndSubject = readIssuerAndSubject;

export function decodeCsr(der: Uint8Array): ParsedCsr {
  return ParsedCsr.fromDer(der);
}

export interface CertRepInput {
  transactionId: string;
  recipientNonce: Buffer;
  digest: HashName;
  signerCert: ParsedCertificate;
  signerKey: SigningKey;
  /** certificates embedded in the outer SignedData (signer first) */
  certificates: ParsedCertificate[];
  status: PkiStatus;
  failInfo?: FailInfo;
  failInfoText?: string;
  /** SUCCESS: what to return, enveloped for `recipient` with `cipher` */
  success?: { certificates?: ParsedCertificate[]; crl?: Uint8Array; recipient: ParsedCertificate; cipher: ContentCipher };
}

// DER straight away: building asn1js objects for each attribute cost more than the encoding itself
const printable = (s: string) => tlv(0x13, Buffer.from(s, 'latin1'));
const octetString = (b: Uint8Array) => derOctetString(b);

/** Builds a signed CertRep (RFC 8894 section 3.3.2). */
export async function encodeCertRep(input: CertRepInput): Promise<Buffer> {
  const attributes = [
    attribute(OID.scepTransactionId, printable(input.transactionId)),
    attribute(OID.scepMessageType, printable(String(MessageType.CertRep))),
    attribute(OID.scepPkiStatus, printable(String(input.status))),
    attribute(OID.scepSenderNonce, octetString(pooledRandomBytes(16))),
    attribute(OID.scepRecipientNonce, octetString(input.recipientNonce)),
  ];
  let content: Buffer | undefined;
  if (input.status === PkiStatus.FAILURE) {
    attributes.push(attribute(OID.scepFailInfo, printable(String(input.failInfo ?? FailInfo.badRequest))));
    if (input.failInfoText) attributes.push(attribute(OID.scepFailInfoText, tlv(0x0c, Buffer.from(input.failInfoText.slice(0, 200), 'utf8'))));
  } else if (input.status === PkiStatus.SUCCESS) {
    const s = input.success;
    if (!s) throw new Error('CertRep SUCCESS without content');
    const degenerate = buildDegenerateSignedData(s.certificates ?? [], s.crl ? [s.crl] : []);
    content = buildEnvelopedData(degenerate, s.recipient, s.cipher);
  }
  return buildSignedData({
    content,
    signerCert: input.signerCert,
    signerKey: input.signerKey,
    digest: input.digest,
    attributes,
    certificates: input.certificates,
  });
}
