import fs from 'node:fs';
import path from 'node:path';
import { generateKeyPair, KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { SoftwareKey, type PrivateKey } from '../pki/private-key';
import type { RsaWorkerPool } from '../pki/rsa-worker-pool';
import { readPrivateKey } from './ca-material-check';
import { FILES } from './ca-material';
import type { KeyRole, KeyStore } from './key-store';

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

  /** `name` (a key file name without the generation prefix) in the certs directory, prefixed */
  file(name: string): string {
    return path.join(this.dir, `${this.prefix}${name}`);
  }

  forPrefix(prefix: string): FileKeyStore {
    return prefix === this.prefix ? this : new FileKeyStore(this.dir, this.passphrase, this.decryptThreads, prefix);
  }

  /** A new RSA key in memory only (`store` writes it). */
  async generate(bits: number): Promise<SoftwareKey> {
    const { privateKey } = await generateRsa('rsa', { modulusLength: bits });
    return new SoftwareKey(privateKey, this.decryptThreads);
  }

  /** Writes `key` as `role`'s key file (atomically, mode 0600, encrypted under the passphrase). */
  store(role: KeyRole, key: SoftwareKey): void {
    writeKey(this.where(role), key.keyObject, this.passphrase);
  }

  /** A key file other than the three roles' (e.g. the RA encryption key a renewal kept), by name. */
  loadFile(name: string): SoftwareKey {
    const file = this.file(name);
    return new SoftwareKey(readPrivateKey(file, fs.readFileSync(file, 'utf8'), this.passphrase), this.decryptThreads);
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
}

function writeKey(file: string, key: KeyObject, passphrase?: string): void {
  const pem = passphrase ? key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }) : key.export({ type: 'pkcs8', format: 'pem' });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, pem, { mode: 0o600 });
  fs.renameSync(tmp, file);
}
