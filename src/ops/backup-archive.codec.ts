import { createCipheriv, createDecipheriv, createHmac, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import { AppError } from '../shared/errors';
import { writeAllSync } from '../shared/secure-file';

/**
 * The encrypted backup container (documented in docs/backup.md):
 *
 *   "SCEPBAK\0" | version (1 byte, 1) | header length (u32 BE) | header (JSON) | chunk...
 *   chunk = ciphertext length (u32 BE) | AES-256-GCM ciphertext | 16-byte tag
 *
 * The header holds the scrypt parameters and salt, a 7-byte random nonce prefix, the chunk size
 * and a key check value (HMAC-SHA256 under a second derived key, so a wrong passphrase is told
 * apart from a damaged file). scrypt derives 64 bytes: the encryption key, then the check key.
 * Chunk i is sealed with nonce = prefix | i (u32 BE) | last (1 byte), and the whole prefix up to
 * the end of the header as additional data: chunks cannot be reordered, dropped, cut off at the
 * end or moved to another file, and the header cannot be edited, without failing authentication.
 */
export const MAGIC = Buffer.from('SCEPBAK\0', 'latin1');
export const VERSION = 1;
const TAG = 16;
const CHECK_LABEL = 'scepter-backup-key-check-v1';
export const DEFAULT_CHUNK = 1 << 20;

export interface KdfParams {
  N: number;
  r: number;
  p: number;
}
/** ~128 MiB and a few hundred ms per derivation: fine once per backup, costly for a guesser. */
export const DEFAULT_KDF: KdfParams = { N: 1 << 17, r: 8, p: 1 };

interface Header {
  kdf: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
  noncePrefix: string;
  chunkSize: number;
  check: string;
}

/** A refused backup file or passphrase: one clear sentence, exit code 1. */
export class BackupError extends AppError {
  constructor(message: string) {
    super(message, { status: 400, code: 'backup', expose: true });
  }
}

function deriveKeys(passphrase: string, salt: Buffer, k: KdfParams): { key: Buffer; check: Buffer } {
  const out = scryptSync(Buffer.from(passphrase, 'utf8'), salt, 64, { N: k.N, r: k.r, p: k.p, maxmem: 256 * k.N * k.r + (1 << 20) });
  const check = createHmac('sha256', out.subarray(32)).update(CHECK_LABEL).digest();
  return { key: out.subarray(0, 32), check };
}

function nonce(prefix: Buffer, index: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  prefix.copy(n, 0);
  n.writeUInt32BE(index, 7);
  n[11] = last ? 1 : 0;
  return n;
}

/** Writes the container to an open file descriptor, chunk by chunk. */
export class EncryptingWriter {
  private readonly key: Buffer;
  private readonly prefix = randomBytes(7);
  private readonly aad: Buffer;
  private readonly chunkSize: number;
  /** the chunk being filled: a full chunk is sealed only when more data comes, so finish() can mark the last */
  private readonly chunk: Buffer;
  private fill = 0;
  private index = 0;
  /** plaintext bytes taken so far */
  written = 0;

  constructor(
    private readonly fd: number,
    passphrase: string,
    opts: { kdf?: KdfParams; chunkSize?: number } = {},
  ) {
    const kdf = opts.kdf ?? DEFAULT_KDF;
    this.chunkSize = opts.chunkSize ?? DEFAULT_CHUNK;
    this.chunk = Buffer.allocUnsafe(this.chunkSize);
    const salt = randomBytes(16);
    const { key, check } = deriveKeys(passphrase, salt, kdf);
    this.key = key;
    const header: Header = {
      kdf: 'scrypt',
      ...kdf,
      salt: salt.toString('base64'),
      noncePrefix: this.prefix.toString('base64'),
      chunkSize: this.chunkSize,
      check: check.toString('base64'),
    };
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(json.length);
    this.aad = Buffer.concat([MAGIC, Buffer.from([VERSION]), len, json]);
    writeAllSync(fd, this.aad);
  }

  write(data: Buffer): void {
    this.written += data.length;
    let at = 0;
    while (at < data.length) {
      if (this.fill === this.chunkSize) {
        this.seal(this.chunk, false);
        this.fill = 0;
      }
      const n = Math.min(this.chunkSize - this.fill, data.length - at);
      data.copy(this.chunk, this.fill, at, at + n);
      this.fill += n;
      at += n;
    }
  }

  /** Seals the rest as the last chunk (possibly empty): a file without it reads as truncated. */
  finish(): void {
    this.seal(this.chunk.subarray(0, this.fill), true);
    this.fill = 0;
  }

  private seal(plain: Buffer, last: boolean): void {
    const c = createCipheriv('aes-256-gcm', this.key, nonce(this.prefix, this.index++, last));
    c.setAAD(this.aad);
    const body = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    writeAllSync(this.fd, len);
    writeAllSync(this.fd, body);
  }
}

/** Reads the container from an open file descriptor; `read(n)` hands out authenticated plaintext only. */
export class DecryptingReader {
  private readonly key: Buffer;
  private readonly prefix: Buffer;
  private readonly aad: Buffer;
  private readonly maxChunk: number;
  private position: number;
  private index = 0;
  private buffer: Buffer = Buffer.alloc(0);
  private ended = false;
  /** ciphertext bytes read so far, and the file size (progress) */
  consumed = 0;
  readonly size: number;

  constructor(
    private readonly fd: number,
    passphrase: string,
  ) {
    this.size = fs.fstatSync(fd).size;
    const head = this.readRaw(0, MAGIC.length + 5, 'not a Scepter backup (file too short)');
    if (!head.subarray(0, MAGIC.length).equals(MAGIC)) throw new BackupError('not a Scepter backup file (unknown format)');
    const version = head[MAGIC.length]!;
    if (version !== VERSION)
      throw new BackupError(`backup format version ${version} is not supported by this version of Scepter (it reads version ${VERSION})`);
    const hlen = head.readUInt32BE(MAGIC.length + 1);
    if (hlen > 64 * 1024) throw new BackupError('backup file header is damaged');
    const json = this.readRaw(head.length, hlen, 'backup file header is truncated');
    let h: Header;
    try {
      h = JSON.parse(json.toString('utf8')) as Header;
    } catch {
      throw new BackupError('backup file header is damaged');
    }
    const salt = Buffer.from(String(h.salt), 'base64');
    this.prefix = Buffer.from(String(h.noncePrefix), 'base64');
    const sane =
      h.kdf === 'scrypt' &&
      [h.N, h.r, h.p, h.chunkSize].every(Number.isInteger) &&
      h.N >= 1 << 14 &&
      h.N <= 1 << 20 &&
      h.r >= 1 &&
      h.r <= 32 &&
      h.p >= 1 &&
      h.p <= 16 &&
      h.chunkSize > 0 &&
      h.chunkSize <= 64 << 20;
    if (!sane || salt.length !== 16 || this.prefix.length !== 7) throw new BackupError('backup file header is damaged');
    const { key, check } = deriveKeys(passphrase, salt, h);
    const stored = Buffer.from(String(h.check), 'base64');
    if (stored.length !== check.length || !timingSafeEqual(stored, check))
      throw new BackupError('wrong passphrase for this backup (or its header was altered)');
    this.key = key;
    this.maxChunk = h.chunkSize + TAG;
    this.aad = Buffer.concat([head, json]);
    this.position = head.length + json.length;
    this.consumed = this.position;
  }

  /** Exactly n bytes of plaintext; fails when the container ends first. */
  read(n: number): Buffer {
    while (this.buffer.length < n) {
      if (this.ended) throw new BackupError('backup content is incomplete (damaged file)');
      this.buffer = Buffer.concat([this.buffer, this.nextChunk()]);
    }
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return out;
  }

  /** Between 1 and `max` bytes of plaintext, without copying: what is left of the current chunk. */
  readSome(max: number): Buffer {
    while (this.buffer.length === 0) {
      if (this.ended) throw new BackupError('backup content is incomplete (damaged file)');
      this.buffer = this.nextChunk();
    }
    const out = this.buffer.subarray(0, max);
    this.buffer = this.buffer.subarray(out.length);
    return out;
  }

  /** After the last record: the last chunk was read and nothing follows it. */
  expectEnd(): void {
    while (!this.ended) if (this.nextChunk().length) throw new BackupError('backup content has unexpected data at its end (damaged file)');
    if (this.buffer.length) throw new BackupError('backup content has unexpected data at its end (damaged file)');
    if (this.position !== this.size) throw new BackupError('backup file has extra bytes after its last chunk (damaged or altered)');
  }

  private nextChunk(): Buffer {
    if (this.position >= this.size) throw new BackupError('backup file is truncated (its last chunk is missing)');
    const len = this.readRaw(this.position, 4, 'backup file is truncated').readUInt32BE(0);
    if (len < TAG || len > this.maxChunk) throw new BackupError(`backup file is damaged (chunk ${this.index} has an impossible length)`);
    const body = this.readRaw(this.position + 4, len, 'backup file is truncated');
    this.position += 4 + len;
    this.consumed = this.position;
    const atEnd = this.position === this.size;
    // the last flag is bound into the nonce: only the chunk sealed as last may end the file
    const plain = this.open(body, atEnd) ?? this.open(body, !atEnd);
    if (!plain) throw new BackupError(`backup file is damaged or was altered (chunk ${this.index} failed authentication)`);
    if (atEnd && !plain.last) throw new BackupError('backup file is truncated (its last chunk is missing)');
    if (plain.last) this.ended = true;
    this.index++;
    return plain.data;
  }

  private open(body: Buffer, last: boolean): { data: Buffer; last: boolean } | undefined {
    const d = createDecipheriv('aes-256-gcm', this.key, nonce(this.prefix, this.index, last));
    d.setAAD(this.aad);
    d.setAuthTag(body.subarray(body.length - TAG));
    try {
      return { data: Buffer.concat([d.update(body.subarray(0, body.length - TAG)), d.final()]), last };
    } catch {
      return undefined;
    }
  }

  private readRaw(at: number, n: number, short: string): Buffer {
    const buf = Buffer.alloc(n);
    let got = 0;
    while (got < n) {
      const r = fs.readSync(this.fd, buf, got, n - got, at + got);
      if (r === 0) throw new BackupError(short);
      got += r;
    }
    return buf;
  }
}
