import { createCipheriv, createDecipheriv } from 'node:crypto';
import { pooledRandomBytes } from './random-pool';
import { OID } from './oids';
import { PkiInputError } from './pki.errors';

export interface ContentCipher {
  oid: string;
  name: string;
  keyLength: number;
  ivLength: number;
  /** the OpenSSL cipher that implements it */
  openssl: string;
}

const CIPHERS: ContentCipher[] = [
  { oid: OID.aes128Cbc, name: 'AES-128-CBC', keyLength: 16, ivLength: 16, openssl: 'aes-128-cbc' },
  { oid: OID.aes192Cbc, name: 'AES-192-CBC', keyLength: 24, ivLength: 16, openssl: 'aes-192-cbc' },
  { oid: OID.aes256Cbc, name: 'AES-256-CBC', keyLength: 32, ivLength: 16, openssl: 'aes-256-cbc' },
  { oid: OID.desEde3Cbc, name: 'DES-EDE3-CBC', keyLength: 24, ivLength: 8, openssl: 'des-ede3-cbc' },
  { oid: OID.desCbc, name: 'DES-CBC', keyLength: 8, ivLength: 8, openssl: 'des-ede3-cbc' },
];

export function contentCipherByOid(oid: string): ContentCipher | undefined {
  return CIPHERS.find((c) => c.oid === oid);
}

/**
 * OpenSSL 3's default provider has no single DES, but micromdm's scepclient encrypts with it.
 * Triple DES in EDE mode with K1 = K2 = K3 is exactly single DES (E_K(D_K(E_K(x))) = E_K(x)), a
 * property 3DES was designed with, so we run DES-CBC as DES-EDE3-CBC with the key repeated: no
 * legacy provider, no hand-written block cipher.
 */
function opensslKey(cipher: ContentCipher, key: Uint8Array): Buffer {
  return cipher.oid === OID.desCbc ? Buffer.concat([key, key, key]) : Buffer.from(key);
}

export function decryptContent(cipher: ContentCipher, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  if (iv.length !== cipher.ivLength) throw new PkiInputError('wrong IV length for content encryption');
  try {
    const d = createDecipheriv(cipher.openssl, opensslKey(cipher, key), iv);
    return Buffer.concat([d.update(data), d.final()]);
  } catch (err) {
    throw new PkiInputError('cannot decrypt the request (not encrypted to this CA?)', err);
  }
}

export function encryptContent(cipher: ContentCipher, data: Uint8Array): { key: Buffer; iv: Buffer; ciphertext: Buffer } {
  const key = pooledRandomBytes(cipher.keyLength);
  const iv = pooledRandomBytes(cipher.ivLength);
  const c = createCipheriv(cipher.openssl, opensslKey(cipher, key), iv);
  return { key, iv, ciphertext: Buffer.concat([c.update(data), c.final()]) };
}
