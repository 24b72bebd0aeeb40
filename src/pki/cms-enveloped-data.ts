import { KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { decodeAs, integerHex, octets } from './der';
import { childrenOf, decodeOid, DerDecodeError, integerHex as derIntegerHex, primitiveOf, readChildren } from './der-reader';
import { expectTag, octetsValue } from './der-values';
import { DER_NULL, derOctetString, derOid, derSequence, tlv } from './der-writer';
import { OID } from './oids';
import { ParsedCertificate } from './certificate';
import { ContentCipher, contentCipherByOid, decryptContent, encryptContent } from './content-cipher';
import { encryptKeyPkcs1, RsaKeyTransport } from './rsa-key-transport';
import { contentInfo, fastContentInfo, unwrapContentInfo } from './cms-signed-data';
import { toBuffer } from '../shared/bytes';
import { BadRequestError } from '../shared/errors';

export interface DecryptionIdentity {
  certificate: ParsedCertificate;
  key: KeyObject;
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

/** The DER reader's reading (see parseSignedData): DerDecodeError sends the input to pkijs. */
function fastParts(der: Uint8Array): EnvelopeParts {
  const f = childrenOf(fastContentInfo(der, OID.envelopedData), 0x30, 'EnvelopedData');
  let i = 1;
  expectTag(f[0], 0x02, 'version');
  if (f[i]?.tag === 0xa0) i++; // originatorInfo
  const ris = childrenOf(f[i++], 0x31, 'recipientInfos');
  const [, alg, encrypted, extra] = childrenOf(f[i++], 0x30, 'encryptedContentInfo');
  if (extra || (f[i] && f[i]!.tag !== 0xa1) || f.length > i + 1) throw new DerDecodeError('EnvelopedData: unexpected shape');
  const [algOid, params] = childrenOf(alg, 0x30, 'contentEncryptionAlgorithm');
  let encryptedContent: Buffer | undefined;
  if (encrypted?.tag === 0x80) encryptedContent = encrypted.value;
  else if (encrypted?.tag === 0xa0) encryptedContent = octetsValue({ ...encrypted, tag: 0x24 });
  else if (encrypted) throw new DerDecodeError('encryptedContent: unexpected tag');

  const recipients: EnvelopeParts['recipients'] = [];
  for (const ri of ris) {
    if (ri.tag !== 0x30) continue; // not a KeyTransRecipientInfo
    const [version, rid, keyAlg, key, more] = childrenOf(ri, 0x30, 'KeyTransRecipientInfo');
    expectTag(version, 0x02, 'version');
    if (more) throw new DerDecodeError('KeyTransRecipientInfo: too many values');
    let issuerDer: Buffer | undefined;
    let serialHex: string | undefined;
    if (rid?.tag === 0x30) {
      const [issuer, serial] = childrenOf(rid, 0x30, 'IssuerAndSerialNumber');
      issuerDer = expectTag(issuer, 0x30, 'issuer').raw;
      serialHex = derIntegerHex(primitiveOf(serial, 0x02, 'serialNumber'));
    } else if (rid?.tag !== 0x80) throw new DerDecodeError('rid: unexpected tag');
    const keyAlgorithm = decodeOid(primitiveOf(childrenOf(keyAlg, 0x30, 'keyEncryptionAlgorithm')[0], 0x06, 'algorithm'));
    recipients.push({ issuerDer, serialHex, keyAlgorithm, encryptedKey: primitiveOf(key, 0x04, 'encryptedKey') });
  }
  return {
    cipherOid: decodeOid(primitiveOf(algOid, 0x06, 'algorithm')),
    iv: params ? octetsValue(params) : undefined,
    encryptedContent,
    recipients,
  };
}

function pkijsParts(der: Uint8Array): EnvelopeParts {
  const content = unwrapContentInfo(der, OID.envelopedData, 'pkcsPKIEnvelope');
  const ed = decodeAs('pkcsPKIEnvelope', () => new pkijs.EnvelopedData({ schema: content }));
  const eci = ed.encryptedContentInfo;
  const ivParam = eci.contentEncryptionAlgorithm.algorithmParams;
  const recipients: EnvelopeParts['recipients'] = [];
  for (const ri of ed.recipientInfos) {
    if (ri.variant !== 1) continue;
    const ktri = ri.value as pkijs.KeyTransRecipientInfo;
    const byIssuer = ktri.rid instanceof pkijs.IssuerAndSerialNumber ? ktri.rid : undefined;
    recipients.push({
      issuerDer: byIssuer && toBuffer(byIssuer.issuer.toSchema().toBER(false)),
      serialHex: byIssuer && integerHex(byIssuer.serialNumber),
      keyAlgorithm: ktri.keyEncryptionAlgorithm.algorithmId,
      encryptedKey: ktri.encryptedKey.valueBlock.valueHexView,
    });
  }
  return {
    cipherOid: eci.contentEncryptionAlgorithm.algorithmId,
    iv: ivParam instanceof asn1js.OctetString ? octets(ivParam) : undefined,
    encryptedContent: eci.encryptedContent ? octets(eci.encryptedContent) : undefined,
    recipients,
  };
}

function parseParts(der: Uint8Array): EnvelopeParts {
  try {
    return fastParts(der);
  } catch (err) {
    if (!(err instanceof DerDecodeError)) throw err;
    return pkijsParts(der);
  }
}

/** Checks an envelope and finds the recipient entry addressed to one of `identities`. */
function locate(der: Uint8Array, identities: DecryptionIdentity[]) {
  const p = parseParts(der);
  const cipher = contentCipherByOid(p.cipherOid);
  if (!cipher) throw new BadRequestError(`unsupported content encryption ${p.cipherOid}`);
  if (!p.iv) throw new BadRequestError('content encryption IV missing');
  if (!p.encryptedContent) throw new BadRequestError('pkcsPKIEnvelope has no encrypted content');
  for (const r of p.recipients) {
    const identity = identities.find((id) => r.serialHex === id.certificate.serialHex && !!r.issuerDer?.equals(id.certificate.issuerDer));
    if (!identity) continue;
    if (r.keyAlgorithm !== OID.rsaEncryption) throw new BadRequestError(`unsupported key transport ${r.keyAlgorithm}`);
    return { cipher, iv: p.iv, encryptedContent: p.encryptedContent, identity, encryptedKey: r.encryptedKey };
  }
  throw new BadRequestError('request is not encrypted to this CA');
}

/**
 * Opens a CMS EnvelopedData addressed (key transport, rsaEncryption) to one of `identities`.
 * Not addressed to us, an unsupported algorithm or a failed decryption: BadRequestError.
 */
export function decryptEnvelopedData(der: Uint8Array, identities: DecryptionIdentity[], transport: RsaKeyTransport): DecryptedEnvelope {
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
 * DER writer, same bytes as the pkijs objects it replaces (encryptedContent [0] IMPLICIT, unsplit).
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
