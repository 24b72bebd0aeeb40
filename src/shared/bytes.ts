import { timingSafeEqual, createHash } from 'node:crypto';

export function toBuffer(view: ArrayBuffer | ArrayBufferView): Buffer {
  if (view instanceof ArrayBuffer) return Buffer.from(view);
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/** Constant-time equality of two secrets of possibly different lengths (compares digests). */
export function secretsEqual(a: string | Buffer, b: string | Buffer): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Hex serial as `openssl x509 -serial` prints it: uppercase, no separators, no leading zero byte. */
export function normalizeSerialHex(input: string): string {
  const hex = input.replace(/[:\s]/g, '').toUpperCase();
  if (!/^[0-9A-F]+$/.test(hex)) throw new Error('not a hexadecimal serial');
  const stripped = hex.replace(/^(00)+(?=[0-9A-F]{2})/, '');
  return stripped.length % 2 ? `0${stripped}` : stripped;
}
