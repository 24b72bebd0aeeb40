import { constants, createPublicKey, privateDecrypt, KeyObject } from 'node:crypto';
import { HashName, signAsync } from './sign';

/**
 * A private key the authority uses without holding it: the two operations Scepter needs from a CA,
 * RA or responder key. Implemented by a key in memory (SoftwareKey, read from a file) and by a key
 * in a PKCS#11 token (Pkcs11Key), where the key never leaves the token.
 */
export interface PrivateKey {
  readonly type: 'rsa' | 'ec';
  readonly publicKey: KeyObject;
  /** RSASSA-PKCS1-v1_5 (RSA) or DER ECDSA (EC) signature over `data` hashed with `hash` */
  sign(hash: HashName, data: Uint8Array): Promise<Buffer>;
  /**
   * The raw RSA private operation (c^d mod n, no padding removed), for the CMS key transport: the
   * PKCS#1 v1.5 unpadding with implicit rejection stays in RsaKeyTransport, whatever holds the key.
   */
  decryptRaw(data: Uint8Array): Promise<Buffer>;
}

/** Raw RSA decryption off the event loop (RsaWorkerPool). */
export interface RawRsaOffload {
  decrypt(key: KeyObject, data: Uint8Array): Promise<Buffer>;
}

/** A key in this process's memory: signatures in libuv's thread pool, raw decryption on `offload` (or inline). */
export class SoftwareKey implements PrivateKey {
  readonly type: 'rsa' | 'ec';
  readonly publicKey: KeyObject;

  constructor(
    readonly keyObject: KeyObject,
    private readonly offload?: RawRsaOffload,
  ) {
    const t = keyObject.asymmetricKeyType;
    if (t !== 'rsa' && t !== 'ec') throw new RangeError(`unsupported private key type ${String(t)}`);
    this.type = t;
    this.publicKey = createPublicKey(keyObject);
  }

  sign(hash: HashName, data: Uint8Array): Promise<Buffer> {
    return signAsync(hash, data, this.keyObject);
  }

  async decryptRaw(data: Uint8Array): Promise<Buffer> {
    if (this.offload) return this.offload.decrypt(this.keyObject, data);
    return privateDecrypt({ key: this.keyObject, padding: constants.RSA_NO_PADDING }, data);
  }
}

/** What the pki builders take as a signer: a PrivateKey, or a KeyObject used as a software key. */
export type SigningKey = PrivateKey | KeyObject;

export function asPrivateKey(key: SigningKey): PrivateKey {
  return key instanceof KeyObject ? new SoftwareKey(key) : key;
}
