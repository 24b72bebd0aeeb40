import fs from 'node:fs';
import type { DecryptingReader, EncryptingWriter } from './backup-archive.codec';
import { BackupError } from './backup-archive.codec';
import { writeAllSync } from '../shared/secure-file';

/**
 * The plaintext inside the container: a sequence of records, then an end record.
 *   record = type (1 byte: 1 file, 0 end) | name length (u16 BE) | name (UTF-8) | size (u64 BE) | bytes
 * The first record is `manifest.json`; names are relative paths such as `data/scepter.sqlite`
 * and `certs/ca.key.pem`.
 */
const FILE = 1;
const END = 0;
const PIECE = 1 << 20;

function recordHeader(name: string, size: number): Buffer {
  const n = Buffer.from(name, 'utf8');
  const h = Buffer.alloc(1 + 2 + n.length + 8);
  h[0] = FILE;
  h.writeUInt16BE(n.length, 1);
  n.copy(h, 3);
  h.writeBigUInt64BE(BigInt(size), 3 + n.length);
  return h;
}

export function writeBufferRecord(w: EncryptingWriter, name: string, data: Buffer): void {
  w.write(recordHeader(name, data.length));
  w.write(data);
}

/** Streams a file into the container in 1 MiB pieces; `onBytes` after each piece (progress). */
export function writeFileRecord(w: EncryptingWriter, name: string, file: string, onBytes?: (n: number) => void): number {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    w.write(recordHeader(name, size));
    let left = size;
    while (left > 0) {
      const buf = Buffer.alloc(Math.min(PIECE, left));
      const r = fs.readSync(fd, buf, 0, buf.length, size - left);
      if (r === 0) throw new Error(`${file} shrank while it was being read`);
      w.write(buf.subarray(0, r));
      left -= r;
      onBytes?.(r);
    }
    return size;
  } finally {
    fs.closeSync(fd);
  }
}

export function writeEnd(w: EncryptingWriter): void {
  w.write(Buffer.from([END]));
}

export interface RecordHead {
  name: string;
  size: number;
}

/** The next record's name and size, or undefined at the end record. */
export function readRecordHead(r: DecryptingReader): RecordHead | undefined {
  const type = r.read(1)[0];
  if (type === END) return undefined;
  if (type !== FILE) throw new BackupError('backup content is damaged (unknown record type)');
  const len = r.read(2).readUInt16BE(0);
  const name = r.read(len).toString('utf8');
  const size = r.read(8).readBigUInt64BE(0);
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw new BackupError('backup content is damaged (impossible file size)');
  return { name, size: Number(size) };
}

/** Copies a record's bytes to `file` (created 0600, never overwriting). */
export function readRecordToFile(r: DecryptingReader, size: number, file: string, onBytes?: (n: number) => void): void {
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    let left = size;
    while (left > 0) {
      const piece = r.readSome(Math.min(PIECE, left));
      writeAllSync(fd, piece);
      left -= piece.length;
      onBytes?.(piece.length);
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
