import { KeyObject } from 'node:crypto';
import type { PrivateKey } from './private-key';
import { childrenOf, integerHex, oidOf, primitiveOf } from './der-reader';
import { definiteForm, expectTag, implicitOctets, octetsOf, octetsValue } from './der-values';
import { DER_NULL, derOctetString, derOid, derSequence, tlv } from './der-writer';
import { OID } from './oids';
import { ParsedCertificate } from './certificate';
import { ContentCipher, contentCipherByOid, decryptContent, encryptContent } from './content-cipher';
import { encryptKeyPkcs1, RsaKeyTransport } from './rsa-key-transport';
import { contentInfo, decoding, readContentInfo } from './cms-signed-data';
import { Asn1DecodeError, PkiInputError } from './pki.errors';

/** A certificate requests are encrypted to, with its key (a PrivateKey, or a KeyObject for the inline path). */
export interface DecryptionIdentity<K = PrivateKey> {
  certificate: ParsedCertificate;
  key: K;
}

export interface DecryptedEnvelope {
  content: Buffer;
  cipher: ContentCipher;
}

/** What decryption needs from an EnvelopedData; only KeyTransRecipientInfos are kept. */
interface EnvelopeParts {
  cipherOid: string;
  /** undefined when the parameters are not an OCTET STRING */
  iv?: Buffer;
  encryptedContent?: Buffer;
  recipients: { issuerDer?: Buffer; serialHex?: string; keyAlgorithm: string; encryptedKey: Uint8Array }[];
}

/** Reads an EnvelopedData (RFC 5652 6), DER or BER; only KeyTransRecipientInfos are kept. */
function parseParts(der: Uint8Array): EnvelopeParts {
  const f = childrenOf(readContentInfo(der, OID.envelopedData, 'pkcsPKIEnvelope'), 0x30, 'EnvelopedData');
  let i = 1;
  expectTag(f[0], 0x02, 'version');
  if (f[i]?.tag === 0xa0) i++; // originatorInfo
  const ris = childrenOf(f[i++], 0x31, 'recipientInfos');
  const [, alg, encrypted, extra] = childrenOf(f[i++], 0x30, 'encryptedContentInfo');
  if (extra || (f[i] && f[i]!.tag !== 0xa1) || f.length > i + 1) throw new Asn1DecodeError('EnvelopedData: unexpected fields');
  const [algOid, params] = childrenOf(alg, 0x30, 'contentEncryptionAlgorithm');

  const recipients: EnvelopeParts['recipients'] = [];
  for (const ri of ris) {
    if (ri.tag !== 0x30) continue; // not a KeyTransRecipientInfo
    const [version, rid, keyAlg, key, more] = childrenOf(ri, 0x30, 'KeyTransRecipientInfo');
    expectTag(version, 0x02, 'version');
    if (more) throw new Asn1DecodeError('KeyTransRecipientInfo: too many values');
    let issuerDer: Buffer | undefined;
    let serialHex: string | undefined;
    if (rid?.tag === 0x30) {
      const [issuer, serial] = childrenOf(rid, 0x30, 'IssuerAndSerialNumber');
      issuerDer = definiteForm(expectTag(issuer, 0x30, 'issuer'));
      serialHex = integerHex(primitiveOf(serial, 0x02, 'serialNumber'));
    } else if (rid?.tag !== 0x80 && rid?.tag !== 0xa0) throw new Asn1DecodeError('rid: unexpected tag');
    const keyAlgorithm = oidOf(childrenOf(keyAlg, 0x30, 'keyEncryptionAlgorithm')[0], 'algorithm');
    recipients.push({ issuerDer, serialHex, keyAlgorithm, encryptedKey: octetsOf(key, 'encryptedKey') });
  }
  return {
    cipherOid: oidOf(algOid, 'algorithm'),
    iv: params ? octetsValue(params) : undefined,
    encryptedContent: encrypted ? implicitOctets(encrypted, 0, 'encryptedContent') : undefined,
    recipients,
  };
}

/** Checks an envelope and finds the recipient entry addressed to one of `identities`. */
function locate<K>(der: Uint8Array, identities: DecryptionIdentity<K>[]) {
  const p = decoding('pkcsPKIEnvelope', () => parseParts(der));
  const cipher = contentCipherByOid(p.cipherOid);
  if (!cipher) throw new PkiInputError(`unsupported content encryption ${p.cipherOid}`);
  if (!p.iv) throw new PkiInputError('content encryption IV missing');
  if (!p.encryptedContent) throw new PkiInputError('pkcsPKIEnvelope has no encrypted content');
  for (const r of p.recipients) {
    const identity = identities.find((id) => r.serialHex === id.certificate.serialHex && !!r.issuerDer?.equals(id.certificate.issuerDer));
    if (!identity) continue;
    if (r.keyAlgorithm !== OID.rsaEncryption) throw new PkiInputError(`unsupported key transport ${r.keyAlgorithm}`);
    return { cipher, iv: p.iv, encryptedContent: p.encryptedContent, identity, encryptedKey: r.encryptedKey };
  }
  throw new PkiInputError('request is not encrypted to this CA');
}

/**
 * Opens a CMS EnvelopedData addressed (key transport, rsaEncryption) to one of `identities`.
 * Not addressed to us, an unsupported algorithm or a failed decryption: PkiInputError.
 */
export function decryptEnvelopedData(der: Uint8Array, identities: DecryptionIdentity<KeyObject>[], transport: RsaKeyTransport): DecryptedEnvelope {
  const l = locate(der, identities);
  const cek = transport.decrypt(l.identity.key, l.encryptedKey, l.cipher.keyLength);
  return { content: decryptContent(l.cipher, cek, l.iv, l.encryptedContent), cipher: l.cipher };
}

/** Same, with the RSA private operation off the event loop (see RsaKeyTransport.decryptAsync). */
export async function decryptEnvelopedDataAsync(der: Uint8Array, identities: DecryptionIdentity[], transport: RsaKeyTransport): Promise<DecryptedEnvelope> {
  const l = locate(der, identities);
  const cek = await transport.decryptAsync(l.identity.key, l.encryptedKey, l.cipher.keyLength);
  return { content: decryptContent(l.cipher, cek, l.iv, l.encryptedContent), cipher: l.cipher };
}

/**
 * Encrypts `content` for `recipient` with `cipher`, key transport rsaEncryption (PKCS#1 v1.5).
 * encryptedContent is a primitive [0] IMPLICIT OCTET STRING (DER).
 */
export function buildEnvelopedData(content: Uint8Array, recipient: ParsedCertificate, cipher: ContentCipher): Buffer {
  const { key, iv, ciphertext } = encryptContent(cipher, content);
  const ktri = derSequence(
    Buffer.from([0x02, 0x01, 0x00]),
    derSequence(recipient.issuerDer, recipient.serialDer),
    derSequence(derOid(OID.rsaEncryption), DER_NULL),
    derOctetString(encryptKeyPkcs1(recipient.publicKey, key)),
  );
  const eci = derSequence(derOid(OID.data), derSequence(derOid(cipher.oid), derOctetString(iv)), tlv(0x80, ciphertext));
  return contentInfo(OID.envelopedData, derSequence(Buffer.from([0x02, 0x01, 0x00]), tlv(0x31, ktri), eci));
}
