/**
 * Minimal DER reader for small hot paths (OCSP requests, the few certificate fields revocation
 * needs). asn1js takes about 100 µs for a 100-byte OCSP request and 0.5 ms for a certificate here;
 * this takes a few µs. Definite lengths only (DER), low tag numbers only, every length checked
 * against the buffer; elements are views into the input, not copies.
 */

export class DerDecodeError extends Error {}

export interface DerElement {
  /** The identifier octet as is: 0x30 SEQUENCE, 0x04 OCTET STRING, 0xa0 [0] constructed... */
  tag: number;
  /** The whole TLV. */
  raw: Buffer;
  /** The contents octets. */
  value: Buffer;
}

/** Reads the TLV at `offset`; returns it and the offset just after it. */
export function readElement(buf: Buffer, offset: number): { element: DerElement; end: number } {
  if (offset + 2 > buf.length) throw new DerDecodeError('truncated DER header');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerDecodeError('high tag numbers are not supported');
  let length = buf[offset + 1]!;
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0) throw new DerDecodeError('indefinite length is not DER');
    if (count > 4) throw new DerDecodeError('length too large');
    if (offset + 2 + count > buf.length) throw new DerDecodeError('truncated DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[offset + 2 + i]!;
    header += count;
  }
  const end = offset + header + length;
  if (end > buf.length) throw new DerDecodeError('DER value runs past the end of the input');
  return { element: { tag, raw: buf.subarray(offset, end), value: buf.subarray(offset + header, end) }, end };
}

/** The consecutive TLVs that make up `buf` exactly (the children of a constructed value). */
export function readChildren(buf: Buffer): DerElement[] {
  const out: DerElement[] = [];
  for (let offset = 0; offset < buf.length; ) {
    const { element, end } = readElement(buf, offset);
    out.push(element);
    offset = end;
  }
  return out;
}

/** Exactly one TLV filling the whole input (no trailing bytes). */
export function readSingle(input: Uint8Array): DerElement {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const { element, end } = readElement(buf, 0);
  if (end !== buf.length) throw new DerDecodeError('trailing bytes after DER value');
  return element;
}

/** Children of `el`, which must carry `tag` and be constructed. */
export function childrenOf(el: DerElement | undefined, tag: number, what: string): DerElement[] {
  if (!el || el.tag !== tag) throw new DerDecodeError(`${what}: unexpected tag`);
  if (!(tag & 0x20)) throw new DerDecodeError(`${what}: not constructed`);
  return readChildren(el.value);
}

/** Contents of a primitive element with `tag`. */
export function primitiveOf(el: DerElement | undefined, tag: number, what: string): Buffer {
  if (!el || el.tag !== tag) throw new DerDecodeError(`${what}: unexpected tag`);
  return el.value;
}

/** Dotted form of an OBJECT IDENTIFIER's contents. */
export function decodeOid(value: Buffer): string {
  if (value.length === 0 || value[value.length - 1]! & 0x80) throw new DerDecodeError('bad OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let arc = 0;
  for (const byte of value) {
    if (arc > 2 ** 45) throw new DerDecodeError('OBJECT IDENTIFIER arc too large');
    arc = arc * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(arc);
      arc = 0;
    }
  }
  const first = arcs.shift()!;
  const top = first < 80 ? Math.floor(first / 40) : 2;
  return [top, first - top * 40, ...arcs].join('.');
}

/** Hex of an INTEGER's contents without leading zero octets, as `openssl x509 -serial` prints it. */
export function integerHex(value: Buffer): string {
  if (value.length === 0) throw new DerDecodeError('empty INTEGER');
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start++;
  return value.subarray(start).toString('hex').toUpperCase();
}
