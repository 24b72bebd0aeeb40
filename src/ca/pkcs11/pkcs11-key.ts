import type { KeyObject } from 'node:crypto';
import type { PrivateKey } from '../../pki/private-key';
import type { HashName } from '../../pki/sign';
import type { Pkcs11Token } from './pkcs11-token';
import type { NamedUri } from '../../config/pkcs11-settings';

/**
 * An RSA key inside a PKCS#11 token. Signatures use CKM_SHAx_RSA_PKCS (the token hashes and pads);
 * the SCEP key transport uses CKM_RSA_X_509, the raw RSA operation, and leaves the PKCS#1 v1.5
 * unpadding with implicit rejection to RsaKeyTransport, exactly as for a key file. A token's own
 * CKM_RSA_PKCS decryption would answer a bad padding with an error: a padding oracle.
 */
export class Pkcs11Key implements PrivateKey {
  readonly type = 'rsa' as const;
  private readonly modulusLength: number;

  constructor(
    private readonly token: Pkcs11Token,
    /** found again by this URI after the token lost the sessions (handles may change with a new login) */
    private readonly named: NamedUri,
    readonly publicKey: KeyObject,
  ) {
    this.modulusLength = Math.ceil((publicKey.asymmetricKeyDetails?.modulusLength ?? 2048) / 8);
  }

  sign(hash: HashName, data: Uint8Array): Promise<Buffer> {
    return this.token.sign(this.named, this.token.mechanisms[hash], data, this.modulusLength);
  }

  decryptRaw(data: Uint8Array): Promise<Buffer> {
    return this.token.decryptRaw(this.named, data, this.modulusLength);
  }
}
