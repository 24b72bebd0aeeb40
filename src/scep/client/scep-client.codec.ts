import { createHash, createPublicKey, KeyObject, randomBytes } from 'node:crypto';
import { ParsedCertificate } from '../../pki/certificate';
import { attribute, buildSignedData, parseCertsOnly, parseSignedData } from '../../pki/cms-signed-data';
import { derOctetString, tlv } from '../../pki/der-writer';
import { buildEnvelopedData, decryptEnvelopedData } from '../../pki/cms-enveloped-data';
import { ContentCipher } from '../../pki/content-cipher';
import { RsaKeyTransport } from '../../pki/rsa-key-transport';
import { OID } from '../../pki/oids';
import { HashName } from '../../pki/sign';
import { decodePkiMessage, PkiMessage } from '../pki-message.codec';
import { MessageType } from '../scep.types';

/** Client side of RFC 8894: builds requests and opens CertReps. Used by tests, benchmarks and tools. */
export interface RequestInput {
  messageType: MessageType;
  messageData: Uint8Array;
  transactionId?: string;
  senderNonce?: Buffer;
  /** certificate the request is encrypted to (CA or RA encryption certificate) */
  recipient: ParsedCertificate;
  cipher: ContentCipher;
  digest: HashName;
  signerCert: ParsedCertificate;
  signerKey: KeyObject;
}

/** As iOS does: the transactionID is the hex SHA-1 of the public key. */
export function transactionIdFor(key: KeyObject): string {
  return createHash('sha1')
    .update(createPublicKey(key).export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .toUpperCase();
}

export async function buildPkiMessage(r: RequestInput): Promise<{ der: Buffer; transactionId: string; senderNonce: Buffer }> {
  const transactionId = r.transactionId ?? transactionIdFor(r.signerKey);
  const senderNonce = r.senderNonce ?? randomBytes(16);
  const envelope = buildEnvelopedData(r.messageData, r.recipient, r.cipher);
  const der = await buildSignedData({
    content: envelope,
    signerCert: r.signerCert,
    signerKey: r.signerKey,
    digest: r.digest,
    certificates: [r.signerCert],
    attributes: [
      attribute(OID.scepTransactionId, tlv(0x13, Buffer.from(transactionId, 'latin1'))),
      attribute(OID.scepMessageType, tlv(0x13, Buffer.from(String(r.messageType), 'latin1'))),
      attribute(OID.scepSenderNonce, derOctetString(senderNonce)),
    ],
  });
  return { der, transactionId, senderNonce };
}

export interface OpenedCertRep {
  message: PkiMessage;
  signatureValid: boolean;
  certificates: ParsedCertificate[];
  crls: Buffer[];
  /** content-encryption algorithm of the reply envelope */
  cipherOid?: string;
}

/** Verifies a CertRep and, on SUCCESS, decrypts its degenerate SignedData with the requester's key. */
export async function openCertRep(der: Uint8Array, requester: { certificate: ParsedCertificate; key: KeyObject }): Promise<OpenedCertRep> {
  const message = decodePkiMessage(der);
  const signatureValid = await message.verify();
  if (!message.envelope) return { message, signatureValid, certificates: [], crls: [] };
  const { content, cipher } = decryptEnvelopedData(message.envelope, [requester], new RsaKeyTransport(randomBytes(32)));
  return { message, signatureValid, ...parseCertsOnly(content), cipherOid: cipher.oid };
}

export { parseSignedData };
