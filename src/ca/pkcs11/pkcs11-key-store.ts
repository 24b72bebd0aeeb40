import type { KeyObject } from 'node:crypto';
import { ConfigError } from '../../shared/errors';
import type { NamedUri, Pkcs11Config } from '../../config/pkcs11-settings';
import type { PrivateKey } from '../../pki/private-key';
import type { KeyRole, KeyStore } from '../key-store';
import { Pkcs11Key } from './pkcs11-key';
import type { KeyUsageFlags, Pkcs11Token } from './pkcs11-token';

/** The CA key signs and decrypts (it answers SCEP itself without an RA); each RA key does one of the two. */
const USAGE: Record<KeyRole, KeyUsageFlags> = {
  ca: { sign: true, decrypt: true },
  raSign: { sign: true, decrypt: false },
  raEncrypt: { sign: false, decrypt: true },
};

export const GENERATE_KEYS_COMMAND = 'scepter ca generate-keys';
export const IMPORT_KEY_COMMAND = 'scepter ca import-keys';

/** The CA and RA keys in one PKCS#11 token, named by pkcs11: URIs. */
export class Pkcs11KeyStore implements KeyStore {
  readonly kind = 'pkcs11' as const;

  constructor(
    readonly token: Pkcs11Token,
    private readonly uris: Pkcs11Config['keys'],
    private readonly generate: boolean,
  ) {}

  where(role: KeyRole): string {
    return this.uris[role].uri.text;
  }

  has(role: KeyRole): boolean {
    return this.token.findKey(this.uris[role]) !== undefined;
  }

  async create(role: KeyRole, bits: number): Promise<PrivateKey> {
    const named = this.uris[role];
    if (!this.generate) throw this.missing(named);
    const handle = await this.token.generateRsa(named, bits, USAGE[role]);
    return new Pkcs11Key(this.token, named, this.token.publicKeyOf(handle, named));
  }

  load(role: KeyRole): PrivateKey {
    const named = this.uris[role];
    const handle = this.token.findKey(named);
    if (!handle) throw this.missing(named);
    return new Pkcs11Key(this.token, named, this.token.publicKeyOf(handle, named));
  }

  forPrefix(prefix: string): KeyStore {
    if (prefix === '') return this;
    throw new ConfigError(
      this.uris.ca.variable,
      `CA rollover (CA generations after the first) is not supported with the CA key in PKCS#11 token "${this.token.label}": a new generation keeps its keys in files in the certs directory`,
    );
  }

  /** Copies `key` (read from a key file) into the token as `role`'s key; refuses when the token has one already. */
  importKey(role: KeyRole, key: KeyObject): PrivateKey {
    const named = this.uris[role];
    if (this.token.findKey(named)) throw new ConfigError(named.variable, `token "${this.token.label}" holds ${named.uri.text} already: nothing was imported`);
    const handle = this.token.importRsa(named, key, USAGE[role]);
    return new Pkcs11Key(this.token, named, this.token.publicKeyOf(handle, named));
  }

  async close(): Promise<void> {
    this.token.close();
  }

  private missing(named: NamedUri): ConfigError {
    return new ConfigError(
      named.variable,
      `no private key ${named.uri.text} in token "${this.token.label}": \`${GENERATE_KEYS_COMMAND}\` generates it in the token, \`${IMPORT_KEY_COMMAND}\` imports the key files`,
    );
  }
}
