import { KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { decodeAs, integerHex, octets } from './der';
import { OID } from './oids';
import { ParsedCertificate } from './certificate';
import { ContentCipher, contentCipherByOid, decryptContent, encryptContent } from './content-cipher';
import { encryptKeyPkcs1, RsaKeyTransport } from './rsa-key-transport';
import { contentInfo, unwrapContentInfo } from './cms-signed-data';
import { toArrayBuffer, toBuffer } from '../shared/bytes';
import { BadRequestError } from '../shared/errors';

export interface DecryptionIdentity {
  certificate: ParsedCertificate;
  key: KeyObject;
}

export interface DecryptedEnvelope {
  content: Buffer;
  cipher: ContentCipher;
}

/**
 * Opens a CMS EnvelopedData addressed (key transport, rsaEncryption) to one of `identities`.
 * Not addressed to us, an unsupported algorithm or a failed decryption: BadRequestError.
 */
export function decryptEnvelopedData(der: Uint8Array, identities: DecryptionIdentity[], transport: RsaKeyTransport): DecryptedEnvelope {
  const content = unwrapContentInfo(der, OID.envelopedData, 'pkcsPKIEnvelope');
  const ed = decodeAs('pkcsPKIEnvelope', () => new pkijs.EnvelopedData({ schema: content }));
  const eci = ed.encryptedContentInfo;
  const cipher = contentCipherByOid(eci.contentEncryptionAlgorithm.algorithmId);
  if (!cipher) throw new BadRequestError(`unsupported content encryption ${eci.contentEncryptionAlgorithm.algorithmId}`);
  const ivParam = eci.contentEncryptionAlgorithm.algorithmParams;
  if (!(ivParam instanceof asn1js.OctetString)) throw new BadRequestError('content encryption IV missing');
  if (!eci.encryptedContent) throw new BadRequestError('pkcsPKIEnvelope has no encrypted content');

  for (const ri of ed.recipientInfos) {
    if (ri.variant !== 1) continue;
    const ktri = ri.value as pkijs.KeyTransRecipientInfo;
    const identity = identities.find((id) => matchesRecipient(ktri, id.certificate));
    if (!identity) continue;
    if (ktri.keyEncryptionAlgorithm.algorithmId !== OID.rsaEncryption) {
      throw new BadRequestError(`unsupported key transport ${ktri.keyEncryptionAlgorithm.algorithmId}`);
    }
    const cek = transport.decrypt(identity.key, ktri.encryptedKey.valueBlock.valueHexView, cipher.keyLength);
    return { content: decryptContent(cipher, cek, octets(ivParam), octets(eci.encryptedContent)), cipher };
  }
  throw new BadRequestError('request is not encrypted to this CA');
}

function matchesRecipient(ktri: pkijs.KeyTransRecipientInfo, cert: ParsedCertificate): boolean {
  const rid = ktri.rid;
  if (rid instanceof pkijs.IssuerAndSerialNumber) {
    return integerHex(rid.serialNumber) === cert.serialHex && toBuffer(rid.issuer.toSchema().toBER(false)).equals(cert.issuerDer);
  }
  return false;
}

/** Encrypts `content` for `recipient` with `cipher`, key transport rsaEncryption (PKCS#1 v1.5). */
export function buildEnvelopedData(content: Uint8Array, recipient: ParsedCertificate, cipher: ContentCipher): Buffer {
  const { key, iv, ciphertext } = encryptContent(cipher, content);
  const ktri = new pkijs.KeyTransRecipientInfo({
    version: 0,
    rid: new pkijs.IssuerAndSerialNumber({ issuer: recipient.cert.issuer, serialNumber: recipient.cert.serialNumber }),
    keyEncryptionAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.rsaEncryption, algorithmParams: new asn1js.Null() }),
    encryptedKey: new asn1js.OctetString({ valueHex: toArrayBuffer(encryptKeyPkcs1(recipient.publicKey, key)) }),
  });
  const ed = new pkijs.EnvelopedData({
    version: 0,
    recipientInfos: [new pkijs.RecipientInfo({ variant: 1, value: ktri })],
    encryptedContentInfo: new pkijs.EncryptedContentInfo({
      contentType: OID.data,
      contentEncryptionAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: cipher.oid, algorithmParams: new asn1js.OctetString({ valueHex: toArrayBuffer(iv) }) }),
      encryptedContent: new asn1js.OctetString({ valueHex: toArrayBuffer(ciphertext) }),
      disableSplit: true,
    } as ConstructorParameters<typeof pkijs.EncryptedContentInfo>[0]),
  });
  return contentInfo(OID.envelopedData, ed.toSchema());
}
