import { constants, createHmac, createPublicKey, privateDecrypt, publicEncrypt, KeyObject } from 'node:crypto';
import { PkiInputError } from './pki.errors';
import type { PrivateKey } from './private-key';

/**
 * RSAES-PKCS1-v1_5 key transport (CMS `rsaEncryption` recipients), as every SCEP client uses.
 *
 * Node 20 refuses PKCS#1 v1.5 *private* decryption (CVE-2023-46809, the Marvin attack), so we
 * decrypt raw (RSA_NO_PADDING) and remove the padding ourselves with *implicit rejection*: a bad
 * padding or a key of the wrong length does not raise an error but yields a synthetic key derived
 * from the ciphertext with a per-process secret. The caller then fails later, at the content
 * decryption, exactly as it would with a valid padding and a wrong key, so an attacker learns
 * nothing about the padding (no padding oracle). The unpadding avoids data-dependent branches.
 */
export class RsaKeyTransport {
  constructor(private readonly rejectionSecret: Buffer) {}

  /** With a key in memory, inline (the SCEP client and tests). */
  decrypt(key: KeyObject, encryptedKey: Uint8Array, expectedLength: number): Buffer {
    checkCiphertextRange(key, encryptedKey);
    return this.unpad(privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, encryptedKey), encryptedKey, expectedLength);
  }

  private unpad(em: Buffer, encryptedKey: Uint8Array, expectedLength: number): Buffer {
    const k = em.length;
    const synthetic = this.syntheticKey(encryptedKey, expectedLength);

    // good = em[0] == 0x00 && em[1] == 0x02 (as 0/1 via arithmetic, no branches on secret data)
    let good = isZero(em[0]!) & isZero(em[1]! ^ 0x02);
    // index of the first zero byte after the two header bytes; 0 if none
    let zeroIndex = 0;
    let found = 0;
    for (let i = 2; i < k; i++) {
      const isZ = isZero(em[i]!);
      const take = isZ & (found ^ 1);
      zeroIndex = select(take, i, zeroIndex);
      found |= isZ;
    }
    good &= found;
    good &= geq(zeroIndex, 10); // at least 8 bytes of non-zero padding
    good &= isZero((k - zeroIndex - 1) ^ expectedLength);

    const out = Buffer.alloc(expectedLength);
    const start = k - expectedLength;
    for (let i = 0; i < expectedLength; i++) {
      const real = start + i >= 0 && start + i < k ? em[start + i]! : 0;
      out[i] = select(good, real, synthetic[i]!);
    }
    return out;
  }

  /**
   * decrypt(), with the raw RSA operation done by whatever holds the key (worker threads for a key
   * in memory, the token for a PKCS#11 key); the unpadding is the same for both.
   */
  async decryptAsync(key: PrivateKey, encryptedKey: Uint8Array, expectedLength: number): Promise<Buffer> {
    checkCiphertextRange(key.publicKey, encryptedKey);
    const em = await key.decryptRaw(encryptedKey);
    return this.unpad(em, encryptedKey, expectedLength);
  }

  private syntheticKey(encryptedKey: Uint8Array, length: number): Buffer {
    const parts: Buffer[] = [];
    for (let counter = 0; parts.length * 32 < length; counter++) {
      parts.push(createHmac('sha256', this.rejectionSecret).update(encryptedKey).update(String(counter)).digest());
    }
    return Buffer.concat(parts).subarray(0, length);
  }
}

const moduli = new WeakMap<KeyObject, Buffer>();

/**
 * RFC 8017 7.2.2 step 1 and 5.1.2: a ciphertext longer than the modulus, or not below it as a number,
 * is no RSA ciphertext of this key, and the raw private operation would fail on it. It is refused
 * before that operation, as a bad request. Both facts depend only on the public modulus, so the
 * refusal is no padding oracle. Shorter ciphertexts stay accepted, as OpenSSL accepts them.
 */
function checkCiphertextRange(key: KeyObject, c: Uint8Array): void {
  let n = moduli.get(key);
  if (n === undefined) {
    const jwk = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' });
    n = Buffer.from(jwk.n ?? '', 'base64url'); // big-endian, without leading zeros
    moduli.set(key, n);
  }
  if (c.length > n.length || (c.length === n.length && Buffer.compare(c, n) >= 0))
    throw new PkiInputError('cannot decrypt the request (not encrypted to this CA?)');
}

/** PKCS#1 v1.5 public encryption is still allowed by Node 20; clients decrypt only this scheme. */
export function encryptKeyPkcs1(publicKey: KeyObject, contentKey: Uint8Array): Buffer {
  return publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, contentKey);
}

/** 1 when x == 0 else 0, for 0 <= x < 2^31. */
function isZero(x: number): number {
  return ((x | -x) >>> 31) ^ 1;
}
/** 1 when a >= b, for 0 <= a, b < 2^30. */
function geq(a: number, b: number): number {
  return ((a - b) >>> 31) ^ 1;
}
function select(bit: number, a: number, b: number): number {
  const mask = -bit;
  return (a & mask) | (b & ~mask);
}
