import type { Config } from '../config/config';
import type { PrivateKey } from '../pki/private-key';
import type { KeyPairIdentity } from './ca-material';
import type { OcspSignerOptions } from './ocsp-signer-material';
import { RsaWorkerPool } from '../pki/rsa-worker-pool';
import { FileKeyStore } from './file-key-store';
import { Pkcs11KeyStore } from './pkcs11/pkcs11-key-store';
import { Pkcs11Token } from './pkcs11/pkcs11-token';

/** The authority's own keys: the CA key and the split RA pair. */
export type KeyRole = 'ca' | 'raSign' | 'raEncrypt';
export type RaRole = Exclude<KeyRole, 'ca'>;

/** The public key (SPKI) of each RA certificate on disk, undefined where there is none. */
export type RaCertificateKeys = Record<RaRole, Buffer | undefined>;

/**
 * Where the CA and RA private keys live: key files in the certs directory (FileKeyStore) or a
 * PKCS#11 token (Pkcs11KeyStore). Everything else uses the keys only through PrivateKey.
 */
export interface KeyStore {
  readonly kind: 'file' | 'pkcs11';
  /** the file or pkcs11: URI of `role`'s key, for messages */
  where(role: KeyRole): string;
  has(role: KeyRole): boolean;
  /**
   * a new RSA key for `role` under its configured name (a token refuses outside the CLI: a wrong
   * label must stop the server, not create a key; renewals use the token store's staged keys)
   */
  create(role: KeyRole, bits: number): Promise<PrivateKey>;
  load(role: KeyRole): PrivateKey;
  /**
   * The same store for a later CA generation, whose keys are named with `prefix` (`g<n>-`); `''` is
   * this store. Key files get the prefix in their names; token keys get labels of their own (the
   * configured label plus `-g<n>`), and `caUri`, the URI a generation's record holds, names its CA key.
   */
  forPrefix(prefix: string, caUri?: string): KeyStore;

  // An RA renewal, in the order it runs: recoverRa, generateNextRa for each role, promoteRa.
  /**
   * Finishes a renewal that stopped part-way, before anything loads the RA keys. `certificateKeys`:
   * the RA certificates on disk, which a renewal writes before the new keys take the roles' names.
   */
  recoverRa(certificateKeys: RaCertificateKeys): Promise<void>;
  /** a new key for `role` that is not yet the role's key */
  generateNextRa(role: RaRole, bits: number): Promise<PrivateKey>;
  /**
   * Makes `next` (from generateNextRa) the roles' keys, the replaced encryption key becoming the
   * previous one, and calls `writeCertificates` where a stop leaves a state recoverRa finishes.
   */
  promoteRa(next: Record<RaRole, PrivateKey>, writeCertificates: () => void): Promise<void>;
  /** the RA encryption key a renewal replaced (it still decrypts for clients that cached GetCACert), if held */
  previousRaEncryption(): PrivateKey | undefined;
  /** where that key is, for messages */
  previousRaWhere(): string;

  /**
   * The delegated OCSP responder of `ca` (this store's generation `o.prefix`, whose CA key a token
   * names by `caKeyUri`): the loader the responder calls at start and again at its renewal margin.
   */
  ocspSigner(ca: KeyPairIdentity, o: OcspSignerOptions, caKeyUri?: string): (now: Date) => Promise<KeyPairIdentity>;

  /** stops decryption threads, closes token sessions */
  close(): Promise<void>;
}

/**
 * The key store `config` names. `generate`: the CLI (`scepter init`, `scepter ca generate-keys`) may
 * create missing keys inside the token; the server never does under a configured label, so a wrong
 * token or label stops it (it generates only renewal keys under labels derived from the configured ones).
 */
export function openKeyStore(config: Pick<Config, 'pkcs11' | 'certsDir' | 'ca' | 'rsaThreads'>, o: { generate?: boolean } = {}): KeyStore {
  if (!config.pkcs11) return new FileKeyStore(config.certsDir, config.ca.passphrase, RsaWorkerPool.ofSize(config.rsaThreads));
  const token = Pkcs11Token.open(config.pkcs11, config.pkcs11.keys.ca);
  return new Pkcs11KeyStore(token, config.pkcs11.keys, Boolean(o.generate));
}
