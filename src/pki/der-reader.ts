/**
 * The one ASN.1 reader of src/pki. It reads DER, and the BER liberties real clients take in
 * requests: Apple's SCEP client sends indefinite lengths and constructed OCTET STRINGs, and BER
 * also allows non-minimal length octets. Low tag numbers only (nothing in X.509, CMS, SCEP or OCSP
 * needs more); every length is checked against the input; elements are views into the input, not
 * copies. Reading is lazy: a constructed element's children are read when asked for, so the fast
 * common case (DER) costs a few µs per certificate where asn1js + pkijs took about 0.5 ms.
 */
import { Asn1DecodeError } from './pki.errors';

/** The name callers have long used for the reader's error. */
export { Asn1DecodeError as DerDecodeError };

export interface DerElement {
  /** The identifier octet as is: 0x30 SEQUENCE, 0x04 OCTET STRING, 0xa0 [0] constructed... */
  tag: number;
  /** The whole TLV as received (BER included). */
  raw: Buffer;
  /** The contents octets (for the indefinite form: without the end-of-contents octets). */
  value: Buffer;
  /** Set when the element itself uses the indefinite length form (BER). */
  indefinite?: boolean;
}

/** Nesting of indefinite-length elements that one read may walk through (bounds the recursion). */
const MAX_INDEFINITE_DEPTH = 32;

function readAt(buf: Buffer, offset: number, depth: number): { element: DerElement; end: number } {
  if (offset + 2 > buf.length) throw new Asn1DecodeError('truncated ASN.1 header');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new Asn1DecodeError('high tag numbers are not supported');
  if (tag === 0) throw new Asn1DecodeError('unexpected end-of-contents octets');
  let length = buf[offset + 1]!;
  let header = 2;
  if (length === 0x80) {
    if (!(tag & 0x20)) throw new Asn1DecodeError('indefinite length on a primitive value');
    if (depth >= MAX_INDEFINITE_DEPTH) throw new Asn1DecodeError('indefinite lengths nested too deeply');
    for (let pos = offset + 2; ;) {
      if (pos + 2 > buf.length) throw new Asn1DecodeError('missing end-of-contents octets');
      if (buf[pos] === 0) {
        if (buf[pos + 1] !== 0) throw new Asn1DecodeError('bad end-of-contents octets');
        const element = { tag, raw: buf.subarray(offset, pos + 2), value: buf.subarray(offset + 2, pos), indefinite: true };
        return { element, end: pos + 2 };
      }
      pos = readAt(buf, pos, depth + 1).end;
    }
  }
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count > 4) throw new Asn1DecodeError('length too large');
    if (offset + 2 + count > buf.length) throw new Asn1DecodeError('truncated length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[offset + 2 + i]!;
    header += count;
  }
  const end = offset + header + length;
  if (end > buf.length) throw new Asn1DecodeError('value runs past the end of the input');
  return { element: { tag, raw: buf.subarray(offset, end), value: buf.subarray(offset + header, end) }, end };
}

/** Reads the TLV at `offset`; returns it and the offset just after it. */
export function readElement(buf: Buffer, offset: number): { element: DerElement; end: number } {
  return readAt(buf, offset, 0);
}

/** The consecutive TLVs that make up `buf` exactly (the children of a constructed value). */
export function readChildren(buf: Buffer): DerElement[] {
  const out: DerElement[] = [];
  for (let offset = 0; offset < buf.length;) {
    const { element, end } = readAt(buf, offset, 0);
    out.push(element);
    offset = end;
  }
  return out;
}

export function asBuffer(input: Uint8Array): Buffer {
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

/** Exactly one TLV filling the whole input (no trailing bytes). */
export function readSingle(input: Uint8Array): DerElement {
  const buf = asBuffer(input);
  const { element, end } = readAt(buf, 0, 0);
  if (end !== buf.length) throw new Asn1DecodeError('trailing bytes after the value');
  return element;
}

/** Children of `el`, which must carry `tag` (a constructed one). */
export function childrenOf(el: DerElement | undefined, tag: number, what: string): DerElement[] {
  if (!el || el.tag !== tag) throw new Asn1DecodeError(`${what}: unexpected tag`);
  if (!(tag & 0x20)) throw new Asn1DecodeError(`${what}: not constructed`);
  return readChildren(el.value);
}

/** The single value inside an `[n] EXPLICIT` (or any constructed) wrapper. */
export function onlyChild(el: DerElement | undefined, tag: number, what: string): DerElement {
  const inner = childrenOf(el, tag, what);
  if (inner.length !== 1) throw new Asn1DecodeError(`${what}: expected exactly one value`);
  return inner[0]!;
}

/** Contents of a primitive element with `tag` (INTEGER, OBJECT IDENTIFIER, BOOLEAN...). */
export function primitiveOf(el: DerElement | undefined, tag: number, what: string): Buffer {
  if (!el || el.tag !== tag) throw new Asn1DecodeError(`${what}: unexpected tag`);
  return el.value;
}

/** Dotted form of an OBJECT IDENTIFIER's contents. */
export function decodeOid(value: Buffer): string {
  if (value.length === 0 || value[value.length - 1]! & 0x80) throw new Asn1DecodeError('bad OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let arc = 0;
  for (const byte of value) {
    if (arc > 2 ** 45) throw new Asn1DecodeError('OBJECT IDENTIFIER arc too large');
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

/** The OID of an element that must be an OBJECT IDENTIFIER. */
export function oidOf(el: DerElement | undefined, what: string): string {
  return decodeOid(primitiveOf(el, 0x06, what));
}

/** Hex of an INTEGER's contents without leading zero octets, as `openssl x509 -serial` prints it. */
export function integerHex(value: Buffer): string {
  if (value.length === 0) throw new Asn1DecodeError('empty INTEGER');
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start++;
  return value.subarray(start).toString('hex').toUpperCase();
}
