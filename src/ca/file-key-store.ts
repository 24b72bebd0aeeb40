import fs from 'node:fs';
import path from 'node:path';
import { generateKeyPair, KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { SoftwareKey, type PrivateKey } from '../pki/private-key';
import type { RsaWorkerPool } from '../pki/rsa-worker-pool';
import { readPrivateKey } from './ca-material-check';
import { FILES, PREVIOUS_RA_FILES, type KeyPairIdentity } from './ca-material';
import type { KeyRole, KeyStore, RaRole } from './key-store';
import { loadOrCreateOcspSigner, type OcspSignerOptions } from './ocsp-signer-material';

const generateRsa = promisify(generateKeyPair);

const KEY_FILES: Record<KeyRole, string> = { ca: FILES.caKey, raSign: FILES.raSignKey, raEncrypt: FILES.raEncKey };

/**
 * Keys as PKCS#8 PEM files in the certs directory (mode 0600), encrypted under the passphrase when
 * one is set. Raw RSA decryption runs on the worker threads (SCEPTER_RSA_THREADS).
 */
export class FileKeyStore implements KeyStore {
  readonly kind = 'file' as const;

  constructor(
    private readonly dir: string,
    private readonly passphrase: string | undefined,
    private readonly decryptThreads: RsaWorkerPool | undefined,
    /** file-name prefix of a later CA generation (`g<n>-`), '' for the first CA */
    readonly prefix = '',
  ) {}

  where(role: KeyRole): string {
    return this.file(KEY_FILES[role]);
  }

  forPrefix(prefix: string): FileKeyStore {
    return prefix === this.prefix ? this : new FileKeyStore(this.dir, this.passphrase, this.decryptThreads, prefix);
  }

  /** Key files hold no half-done renewal: the new keys stay in memory until promoteRa writes them. */
  async recoverRa(): Promise<void> {}

  /** A new RSA key in memory only. */
  async generateNextRa(_role: RaRole, bits: number): Promise<PrivateKey> {
    const { privateKey } = await generateRsa('rsa', { modulusLength: bits });
    return new SoftwareKey(privateKey, this.decryptThreads);
  }

  /**
   * Copies the current encryption key to ra-encrypt.previous.key.pem, writes the new keys over the
   * roles' key files (each atomically), then the certificates.
   */
  async promoteRa(next: Record<RaRole, PrivateKey>, writeCertificates: () => void): Promise<void> {
    const previous = this.file(PREVIOUS_RA_FILES.key);
    fs.copyFileSync(this.where('raEncrypt'), `${previous}.tmp`);
    fs.renameSync(`${previous}.tmp`, previous);
    for (const role of ['raSign', 'raEncrypt'] as const) writeKey(this.where(role), softwareKeyObject(next[role]), this.passphrase);
    writeCertificates();
  }

  previousRaEncryption(): PrivateKey | undefined {
    const file = this.previousRaWhere();
    return fs.existsSync(file) ? new SoftwareKey(readPrivateKey(file, fs.readFileSync(file, 'utf8'), this.passphrase), this.decryptThreads) : undefined;
  }

  previousRaWhere(): string {
    return this.file(PREVIOUS_RA_FILES.key);
  }

  /** The responder's key is the file ocsp-signer.pem beside the CA certificate (RSA or EC, as configured). */
  ocspSigner(ca: KeyPairIdentity, o: OcspSignerOptions): (now: Date) => Promise<KeyPairIdentity> {
    return (now) => loadOrCreateOcspSigner(ca, o, now);
  }

  has(role: KeyRole): boolean {
    return fs.existsSync(this.where(role));
  }

  async create(role: KeyRole, bits: number): Promise<PrivateKey> {
    const { privateKey } = await generateRsa('rsa', { modulusLength: bits });
    writeKey(this.where(role), privateKey, this.passphrase);
    return new SoftwareKey(privateKey, this.decryptThreads);
  }

  load(role: KeyRole): PrivateKey {
    return new SoftwareKey(this.readKeyObject(role), this.decryptThreads);
  }

  /** The key itself (for an import into a token). */
  readKeyObject(role: KeyRole): KeyObject {
    const file = this.where(role);
    return readPrivateKey(file, fs.readFileSync(file, 'utf8'), this.passphrase);
  }

  async close(): Promise<void> {
    await this.decryptThreads?.close();
  }

  /** `name` (a key file name without the generation prefix) in the certs directory, prefixed */
  private file(name: string): string {
    return path.join(this.dir, `${this.prefix}${name}`);
  }
}

/** The key object of a key from generateNextRa (always in memory here). */
function softwareKeyObject(key: PrivateKey): KeyObject {
  if (!(key instanceof SoftwareKey)) throw new TypeError('a key file can only hold a key generated in memory');
  return key.keyObject;
}

function writeKey(file: string, key: KeyObject, passphrase?: string): void {
  const pem = passphrase ? key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }) : key.export({ type: 'pkcs8', format: 'pem' });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, pem, { mode: 0o600 });
  fs.renameSync(tmp, file);
}
