import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Secrets at rest that we must be able to read back (WS1 password and API key): AES-256-GCM.
 * Stored form: `v1.<key id>.<base64url(iv | ciphertext | tag)>`. The key id (a digest of the key,
 * not the key) tells "encrypted under another key" apart from "tampered with"; the `context`
 * (e.g. `ws1:<integration>:password`) is bound as additional data, so a ciphertext copied into
 * another row or column does not decrypt.
 */
export class SecretBox {
  readonly keyId: string;
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('the secret key must be 32 bytes');
    this.#key = Buffer.from(key);
    this.keyId = createHash('sha256').update('scepter-secret-key-id').update(key).digest('hex').slice(0, 8);
  }

  encrypt(plaintext: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `v1.${this.keyId}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
  }

  decrypt(stored: string, context: string): string {
    const [version, keyId, data, extra] = stored.split('.');
    if (version !== 'v1' || !keyId || !data || extra !== undefined) throw new SecretBoxError('stored secret has an unknown format');
    if (keyId !== this.keyId)
      throw new SecretBoxError(
        `stored secret was encrypted under another key (key id ${keyId}, current ${this.keyId}); restore that SCEPTER_SECRET_KEY or secret.key, or enter the secret again`,
      );
    const raw = Buffer.from(data, 'base64url');
    if (raw.length < 12 + 16) throw new SecretBoxError('stored secret is truncated');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    try {
      return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError('stored secret failed authentication (altered, or moved from another record)');
    }
  }

  /** Keeps the key out of console.log / util.inspect. */
  toJSON(): string {
    return `SecretBox(${this.keyId})`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toJSON();
  }
}

export class SecretBoxError extends Error {}

export const SECRET_KEY_FILE = 'secret.key';

/**
 * The key: SCEPTER_SECRET_KEY when set (already validated by config), else `<certs>/secret.key`,
 * created with mode 0600 on first use (race-free between a server and a CLI starting at once:
 * the loser reads the winner's file).
 */
export function loadOrCreateSecretKey(configured: Buffer | undefined, certsDir: string): Buffer {
  if (configured) return configured;
  const file = path.join(certsDir, SECRET_KEY_FILE);
  try {
    return readKeyFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(certsDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  // written in full under a private name, then linked: link() fails if the name exists, so the
  // file appears complete or not at all
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  fs.writeFileSync(tmp, `${key.toString('base64')}\n`, { flag: 'wx', mode: 0o600 });
  try {
    fs.linkSync(tmp, file);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readKeyFile(file);
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function readKeyFile(file: string): Buffer {
  const key = parseSecretKey(fs.readFileSync(file, 'utf8'));
  if (!key) throw new SecretBoxError(`${file} does not hold a 32-byte key (base64 or hex)`);
  return key;
}

/** 32 bytes as 64 hex digits or base64/base64url; undefined for anything else. */
export function parseSecretKey(text: string): Buffer | undefined {
  const s = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(s)) return Buffer.from(s, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(s)) {
    const key = Buffer.from(s, 'base64');
    return key.length === 32 ? key : undefined;
  }
  return undefined;
}
