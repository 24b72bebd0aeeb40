import type { KeyObject } from 'node:crypto';
import { ConfigError } from '../../shared/errors';
import type { NamedUri, Pkcs11Config } from '../../config/pkcs11-settings';
import { generationUri, parsePkcs11Uri } from '../../config/pkcs11-uri';
import type { PrivateKey } from '../../pki/private-key';
import type { KeyPairIdentity } from '../ca-material';
import type { KeyRole, KeyStore, RaCertificateKeys, RaRole } from '../key-store';
import type { OcspSignerOptions } from '../ocsp-signer-material';
import { loadOrCreateTokenOcspSigner } from '../ocsp-signer-token';
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
    /** `g<n>-` for a later CA generation's keys, '' for the configured ones */
    readonly prefix = '',
    /** the store of the configured keys, for a later generation's store */
    private readonly base?: Pkcs11KeyStore,
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
    // found afresh: another instance's RA renewal may have given the label to another key
    this.token.forget(named.uri);
    const handle = this.token.findKey(named);
    if (!handle) throw this.missing(named);
    return new Pkcs11Key(this.token, named, this.token.publicKeyOf(handle, named));
  }

  forPrefix(prefix: string, caUri?: string): Pkcs11KeyStore {
    if (prefix === this.prefix && caUri === undefined) return this;
    const base = this.base ?? this;
    if (prefix === '') return base;
    const suffix = generationSuffix(prefix);
    const uris = base.uris;
    const ca =
      caUri !== undefined
        ? { uri: parsePkcs11Uri(caUri), variable: uris.ca.variable }
        : { uri: generationUri(uris.ca.uri, suffix), variable: uris.ca.variable };
    return new Pkcs11KeyStore(
      this.token,
      {
        ca,
        raSign: { uri: generationUri(uris.raSign.uri, suffix), variable: uris.raSign.variable },
        raEncrypt: { uri: generationUri(uris.raEncrypt.uri, suffix), variable: uris.raEncrypt.variable },
      },
      this.generate,
      prefix,
      base,
    );
  }

  /**
   * A new key for RA role `role` under the staging label `<label>-next` (one left by an interrupted
   * renewal is destroyed first); `promoteRa` makes it the role's key.
   */
  generateNextRa(role: RaRole, bits: number): Promise<PrivateKey> {
    return this.generateStaged(this.uris[role], bits, USAGE[role]);
  }

  /**
   * Writes the certificates, then makes the staged RA keys (`next`, under `-next`) the current ones:
   * the previous keys (`<label>-previous`) are destroyed, the current keys take that label (the
   * encryption key keeps decrypting for clients that cached GetCACert; the signing key stays until
   * the next renewal, so an instance that has not yet adopted this renewal keeps signing with it),
   * and the staged keys take the configured label and id.
   */
  async promoteRa(_next: Record<RaRole, PrivateKey>, writeCertificates: () => void): Promise<void> {
    writeCertificates();
    for (const role of ['raSign', 'raEncrypt'] as const) await this.promote(this.uris[role]);
  }

  /**
   * Finishes an RA renewal that stopped part-way (the process ended between writing the new
   * certificates, which come first, and relabelling the keys): where `<label>-next` is the key of
   * the role's certificate, the relabelling is completed; a `-next` key that is not (a renewal that
   * stopped before its certificates were written) is destroyed. `certificateSpki`: the public key of
   * each role's certificate file, undefined when there is none.
   */
  async recoverRa(certificateSpki: RaCertificateKeys): Promise<void> {
    for (const role of ['raSign', 'raEncrypt'] as const) {
      const named = this.uris[role];
      const next = this.find(staged(named, 'next'));
      if (!next) continue;
      const spki = certificateSpki[role];
      if (!spki || !spkiOf(next).equals(spki)) {
        await this.token.destroyKeys(staged(named, 'next').uri);
        continue;
      }
      const current = this.find(named);
      if (!current) {
        // the replaced key is -previous already: only the new key's relabelling is left
        await this.token.relabel(staged(named, 'next').uri, {
          label: named.uri.object ?? staged(named, 'next').uri.object!.replace(/-next$/, ''),
          id: named.uri.id,
        });
        this.token.forget(named.uri);
      } else if (!spkiOf(current).equals(spki)) await this.promote(named);
    }
  }

  /** The RA encryption key a renewal replaced (`<label>-previous`), if the token holds it. */
  previousRaEncryption(): PrivateKey | undefined {
    return this.find(staged(this.uris.raEncrypt, 'previous'));
  }

  previousRaWhere(): string {
    return staged(this.uris.raEncrypt, 'previous').uri.text;
  }

  /** The responder's key is an RSA key in this token beside the generation's CA key (`ocspUri`). */
  ocspSigner(ca: KeyPairIdentity, o: OcspSignerOptions, caKeyUri?: string): (now: Date) => Promise<KeyPairIdentity> {
    const store = this.forPrefix(o.prefix ?? '', caKeyUri);
    return (now) => loadOrCreateTokenOcspSigner(ca, store, o, now);
  }

  /** The delegated OCSP responder's key: `<CA key label>-ocsp` beside this store's CA key (signing only). */
  get ocspUri(): NamedUri {
    const ca = this.uris.ca;
    return { uri: generationUri({ ...ca.uri, object: ca.uri.object ?? 'scepter-ca' }, '-ocsp'), variable: ca.variable };
  }

  ocspKey(): PrivateKey | undefined {
    return this.find(this.ocspUri);
  }

  /** A new responder key under `<label>-next`; `promoteOcsp` makes it the responder's key (the replaced one kept as `-previous`). */
  generateNextOcsp(bits: number): Promise<PrivateKey> {
    return this.generateStaged(this.ocspUri, bits, USAGE.raSign);
  }

  promoteOcsp(): Promise<void> {
    return this.promote(this.ocspUri);
  }

  private async generateStaged(named: NamedUri, bits: number, usage: KeyUsageFlags): Promise<PrivateKey> {
    const next = staged(named, 'next');
    await this.token.destroyKeys(next.uri);
    const handle = await this.token.generateRsa(next, bits, usage);
    return new Pkcs11Key(this.token, next, this.token.publicKeyOf(handle, next));
  }

  private async promote(named: NamedUri): Promise<void> {
    const current = named.uri;
    const previous = staged(named, 'previous').uri;
    const next = staged(named, 'next').uri;
    await this.token.destroyKeys(previous);
    await this.token.relabel(current, { label: previous.object!, id: previous.id });
    await this.token.relabel(next, { label: current.object ?? next.object!.replace(/-next$/, ''), id: current.id });
    this.token.forget(current);
  }

  private find(named: NamedUri): PrivateKey | undefined {
    this.token.forget(named.uri);
    const handle = this.token.findKey(named);
    return handle ? new Pkcs11Key(this.token, named, this.token.publicKeyOf(handle, named)) : undefined;
  }

  /** Copies `key` (read from a key file) into the token as `role`'s key; refuses when the token has one already. */
  importKey(role: KeyRole, key: KeyObject): PrivateKey {
    const named = this.uris[role];
    if (this.token.findKey(named)) throw new ConfigError(named.variable, `token "${this.token.label}" holds ${named.uri.text} already: nothing was imported`);
    const handle = this.token.importRsa(named, key, USAGE[role]);
    return new Pkcs11Key(this.token, named, this.token.publicKeyOf(handle, named));
  }

  /** Closes the token (a later generation's store shares the token of the configured one). */
  async close(): Promise<void> {
    if (!this.base) this.token.close();
  }

  private missing(named: NamedUri): ConfigError {
    return new ConfigError(
      named.variable,
      `no private key ${named.uri.text} in token "${this.token.label}": \`${GENERATE_KEYS_COMMAND}\` generates it in the token, \`${IMPORT_KEY_COMMAND}\` imports the key files`,
    );
  }
}

/** `g<n>-` (a generation's file prefix) -> `-g<n>` (the suffix of its token labels). */
function generationSuffix(prefix: string): string {
  const m = /^g(\d+)-$/.exec(prefix);
  if (!m) throw new Error(`not a CA generation prefix: ${JSON.stringify(prefix)}`);
  return `-g${m[1]}`;
}

/** `named`'s label with `-next` or `-previous`, and an id derived from that label (never the configured one). */
function staged(named: NamedUri, stage: 'next' | 'previous'): NamedUri {
  const label = named.uri.object ?? `scepter-key-${named.uri.id?.toString('hex') ?? ''}`;
  return { uri: generationUri({ ...named.uri, object: label }, `-${stage}`), variable: named.variable };
}

function spkiOf(key: PrivateKey): Buffer {
  return key.publicKey.export({ type: 'spki', format: 'der' });
}
