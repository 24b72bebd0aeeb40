/**
 * Typed values out of DerElements: strings, octets, times, bit strings, and the DER form of an
 * element received as BER. Constructed (chunked) strings are accepted wherever BER allows them.
 */
import { Asn1DecodeError } from './pki.errors';
import { readChildren, readElement, type DerElement } from './der-reader';
import { tlvOf } from './der-writer';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf16be = new TextDecoder('utf-16be', { fatal: true, ignoreBOM: true });

/** Universal string types read byte for byte (Latin-1): Numeric, Printable, Teletex, Videotex, IA5, UTC/GeneralizedTime, Graphic, Visible, General. */
const LATIN1_STRING_TAGS = new Set([0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b]);
const UTF8_STRING = 0x0c;
const UNIVERSAL_STRING = 0x1c;
const BMP_STRING = 0x1e;
const OCTET_STRING = 0x04;
const BIT_STRING = 0x03;
/** Universal types whose BER encoding may be constructed (chunked); DER requires them primitive. */
const STRING_TYPES = new Set([BIT_STRING, OCTET_STRING, UTF8_STRING, UNIVERSAL_STRING, BMP_STRING, ...LATIN1_STRING_TAGS]);

/** Contents of a string-typed element with universal type `type`, primitive or constructed of chunks of the same type. */
function chunks(el: DerElement, type: number): Buffer {
  if (el.tag === type) return el.value;
  if (el.tag !== (type | 0x20)) throw new Asn1DecodeError('string chunk of another type');
  return Buffer.concat(readChildren(el.value).map((c) => chunks(c, type)));
}

/** The text of a string element (any universal string type, primitive or constructed); undefined for other elements. */
export function stringValue(el: DerElement): string | undefined {
  const type = el.tag & ~0x20;
  if (el.tag >= 0x40 || !STRING_TYPES.has(type) || type === OCTET_STRING || type === BIT_STRING) return undefined;
  const bytes = chunks(el, type);
  if (type === UTF8_STRING) {
    try {
      return utf8.decode(bytes);
    } catch {
      return bytes.toString('latin1'); // invalid UTF-8: kept byte for byte rather than refused
    }
  }
  if (type === BMP_STRING) {
    if (bytes.length % 2) throw new Asn1DecodeError('BMPString of odd length');
    try {
      return utf16be.decode(bytes);
    } catch {
      throw new Asn1DecodeError('BMPString is not valid UTF-16');
    }
  }
  if (type === UNIVERSAL_STRING) {
    if (bytes.length % 4) throw new Asn1DecodeError('UniversalString length is not a multiple of 4');
    const points: number[] = [];
    for (let i = 0; i < bytes.length; i += 4) {
      const cp = bytes.readUInt32BE(i);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new Asn1DecodeError('UniversalString holds no character');
      points.push(cp);
    }
    return String.fromCodePoint(...points);
  }
  return bytes.toString('latin1');
}

/** Contents of an OCTET STRING, primitive (04) or constructed (24, BER chunks); undefined for other elements. */
export function octetsValue(el: DerElement): Buffer | undefined {
  if (el.tag !== OCTET_STRING && el.tag !== (OCTET_STRING | 0x20)) return undefined;
  return chunks(el, OCTET_STRING);
}

/** Contents of an OCTET STRING that must be there. */
export function octetsOf(el: DerElement | undefined, what: string): Buffer {
  const v = el && octetsValue(el);
  if (!v) throw new Asn1DecodeError(`${what}: not an OCTET STRING`);
  return v;
}

/** Contents of an `[n] IMPLICIT OCTET STRING` (tag 0x80|n primitive, or 0xa0|n constructed of OCTET STRING chunks). */
export function implicitOctets(el: DerElement, n: number, what: string): Buffer {
  if (el.tag === (0x80 | n)) return el.value;
  if (el.tag === (0xa0 | n)) return Buffer.concat(readChildren(el.value).map((c) => chunks(c, OCTET_STRING)));
  throw new Asn1DecodeError(`${what}: unexpected tag`);
}

/** BIT STRING contents: the unused-bits count and the bits (BER chunks joined). */
function bitString(el: DerElement | undefined, what: string): { unused: number; bits: Buffer } {
  if (el?.tag === BIT_STRING) {
    if (el.value.length === 0 || el.value[0]! > 7) throw new Asn1DecodeError(`${what}: bad BIT STRING`);
    return { unused: el.value[0]!, bits: el.value.subarray(1) };
  }
  if (el?.tag !== (BIT_STRING | 0x20)) throw new Asn1DecodeError(`${what}: not a BIT STRING`);
  const parts = readChildren(el.value).map((c) => bitString(c, what));
  if (parts.slice(0, -1).some((p) => p.unused !== 0)) throw new Asn1DecodeError(`${what}: unused bits inside a BIT STRING`);
  return { unused: parts[parts.length - 1]?.unused ?? 0, bits: Buffer.concat(parts.map((p) => p.bits)) };
}

/** Content of a BIT STRING with no unused bits (keys, signatures). */
export function bitStringBytes(el: DerElement | undefined, what: string): Buffer {
  const { unused, bits } = bitString(el, what);
  if (unused !== 0) throw new Asn1DecodeError(`${what}: not a whole-byte BIT STRING`);
  return bits;
}

/** Bits of a named-bit BIT STRING (keyUsage): bit 0 is the first, most significant bit. */
export function namedBits(el: DerElement | undefined, what: string): Set<number> {
  const { unused, bits } = bitString(el, what);
  const set = new Set<number>();
  for (let i = 0; i < bits.length * 8 - unused; i++) if (bits[i >> 3]! & (0x80 >> (i & 7))) set.add(i);
  return set;
}

/**
 * UTCTime or GeneralizedTime. The DER forms (YYMMDDHHMMSSZ, YYYYMMDDHHMMSSZ) and the BER ones:
 * UTCTime without seconds or with an offset (+hhmm/-hhmm); GeneralizedTime with a fraction of a
 * second or an offset. A two-digit year is 1950..2049 (RFC 5280 4.1.2.5.1).
 */
export function timeValue(el: DerElement): Date {
  const s = chunks(el, el.tag & ~0x20).toString('latin1');
  let m: RegExpExecArray | null;
  let year: number;
  if ((el.tag & ~0x20) === 0x17 && (m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)?(Z|[+-]\d{4})$/.exec(s))) {
    const yy = Number(m[1]);
    year = yy < 50 ? 2000 + yy : 1900 + yy;
  } else if ((el.tag & ~0x20) === 0x18 && (m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:[.,](\d+))?(Z|[+-]\d{4})$/.exec(s))) {
    year = Number(m[1]);
  } else {
    throw new Asn1DecodeError('not a UTCTime or GeneralizedTime');
  }
  const [month, day, hour, minute] = [m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number];
  const second = Number(m[6] ?? 0);
  const fraction = (el.tag & ~0x20) === 0x18 && m[7] ? Number(`0.${m[7]}`) : 0;
  const zone = m[m.length - 1]!;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) throw new Asn1DecodeError('time out of range');
  let ms = Date.UTC(year, month - 1, day, hour, minute, second) + Math.floor(fraction * 1000);
  if (zone !== 'Z') {
    const offset = (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3))) * 60_000;
    ms += zone[0] === '+' ? -offset : offset;
  }
  return new Date(ms);
}

/** Tag check: throws Asn1DecodeError when `el` is not there or not `tag`. */
export function expectTag(el: DerElement | undefined, tag: number, what: string): DerElement {
  if (!el || el.tag !== tag) throw new Asn1DecodeError(`${what}: unexpected tag`);
  return el;
}

function minimalHeaderLength(contentLength: number): number {
  if (contentLength < 0x80) return 2;
  let n = 0;
  for (let l = contentLength; l > 0; l = Math.floor(l / 256)) n++;
  return 2 + n;
}

/**
 * The element in definite-length form with primitive strings and minimal length octets: what a
 * BER sender meant, as DER. The bytes received are returned as they are when already so (the usual
 * case). With `sortSets`, the components of each SET (0x31) are put in DER order too (a Name's
 * multi-valued RDNs); without, their order is kept, as a signature over signed attributes needs.
 */
export function definiteForm(el: DerElement, sortSets = false): Buffer {
  if (!el.indefinite && isPlainDer(el.raw, 0, el.raw.length, sortSets)) return el.raw;
  return reencode(el, sortSets);
}

/**
 * Whether `der` is one value in definite form throughout: minimal length octets, no constructed
 * strings, nothing after the value. The order of SET components is not checked: a CA certificate
 * made elsewhere may name its issuer with a multi-valued RDN out of DER order, which readers accept.
 */
export function inDefiniteMinimalForm(der: Uint8Array): boolean {
  const buf = Buffer.isBuffer(der) ? der : Buffer.from(der.buffer, der.byteOffset, der.byteLength);
  try {
    return readElement(buf, 0).end === buf.length && isPlainDer(buf, 0, buf.length, false);
  } catch (err) {
    if (err instanceof Asn1DecodeError) return false;
    throw err;
  }
}

/**
 * Whether buf[start, end) is a run of TLVs in definite form with minimal lengths and no constructed
 * strings (and, with `sortSets`, SETs in DER order): the common case, checked without allocating.
 * Anything unusual answers false and leaves the work (and the errors) to reencode().
 */
function isPlainDer(buf: Buffer, start: number, end: number, sortSets: boolean): boolean {
  let prev = -1;
  let prevEnd = -1;
  for (let off = start; off < end;) {
    if (off + 2 > end) return false;
    const tag = buf[off]!;
    let len = buf[off + 1]!;
    let header = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 4 || off + 2 + n > end || buf[off + 2] === 0) return false;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + buf[off + 2 + i]!;
      if (len < 0x80) return false;
      header += n;
    }
    const next = off + header + len;
    if (next > end || (tag & 0x1f) === 0x1f) return false;
    if (tag & 0x20) {
      if (tag < 0x40 && STRING_TYPES.has(tag & ~0x20)) return false;
      if (!isPlainDer(buf, off + header, next, sortSets)) return false;
      if (sortSets && tag === 0x31 && !setInOrder(buf, off + header, next)) return false;
    }
    prev = off;
    prevEnd = next;
    off = next;
  }
  return prev === -1 || prevEnd === end;
}

/** The components of the SET whose contents are buf[start, end) are in ascending order of their encodings. */
function setInOrder(buf: Buffer, start: number, end: number): boolean {
  let prevStart = -1;
  let prevEnd = -1;
  for (let off = start; off < end;) {
    const { end: next } = readElement(buf, off);
    if (prevStart >= 0 && Buffer.compare(buf.subarray(prevStart, prevEnd), buf.subarray(off, next)) > 0) return false;
    prevStart = off;
    prevEnd = next;
    off = next;
  }
  return true;
}

function reencode(el: DerElement, sortSets: boolean): Buffer {
  const type = el.tag & ~0x20;
  if (el.tag & 0x20 && el.tag < 0x40 && STRING_TYPES.has(type)) {
    if (type === BIT_STRING) {
      const { unused, bits } = bitString(el, 'BIT STRING');
      return tlvOf(BIT_STRING, [Buffer.from([unused]), bits]);
    }
    return tlvOf(type, [chunks(el, type)]);
  }
  if (!(el.tag & 0x20)) return el.raw.length === minimalHeaderLength(el.value.length) + el.value.length ? el.raw : tlvOf(el.tag, [el.value]);
  const children = readChildren(el.value);
  const parts = children.map((c) => reencode(c, sortSets));
  let same = !el.indefinite && parts.every((p, i) => p === children[i]!.raw) && el.raw.length === minimalHeaderLength(el.value.length) + el.value.length;
  if (sortSets && el.tag === 0x31) {
    const sorted = [...parts].sort((a, b) => Buffer.compare(a, b));
    same &&= sorted.every((p, i) => p === parts[i]);
    return same ? el.raw : tlvOf(el.tag, sorted);
  }
  return same ? el.raw : tlvOf(el.tag, parts);
}
