/**
 * Typed values out of DerElements (strings, times, octets) for the fast parsing paths. Each decodes
 * exactly as asn1js does for the forms it accepts, and throws DerDecodeError for anything else, so
 * that callers can fall back to the complete (pkijs/asn1js) parser and keep its behaviour.
 */
import { DerDecodeError, readChildren, type DerElement } from './der-reader';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** asn1js decodes these byte by byte (String.fromCharCode), i.e. as Latin-1. */
const SIMPLE_STRING_TAGS = new Set([0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b]);

/** The text of a string element; undefined for an element that is not a string. */
export function stringValue(el: DerElement): string | undefined {
  if (el.tag === 0x0c) {
    try {
      return utf8.decode(el.value);
    } catch {
      return el.value.toString('latin1'); // asn1js keeps the raw bytes as a binary string
    }
  }
  if (SIMPLE_STRING_TAGS.has(el.tag)) return el.value.toString('latin1');
  if (el.tag === 0x1c || el.tag === 0x1e) throw new DerDecodeError('UniversalString/BMPString: use the full parser');
  return undefined;
}

/** Contents of an OCTET STRING, primitive (04) or constructed (24) of primitive chunks; undefined otherwise. */
export function octetsValue(el: DerElement): Buffer | undefined {
  if (el.tag === 0x04) return el.value;
  if (el.tag !== 0x24) return undefined;
  const parts = readChildren(el.value);
  for (const p of parts) if (p.tag !== 0x04) throw new DerDecodeError('nested constructed OCTET STRING');
  return Buffer.concat(parts.map((p) => p.value));
}

/** UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ (the DER forms). */
export function timeValue(el: DerElement): Date {
  const s = el.value.toString('latin1');
  let year: number;
  let rest: string;
  if (el.tag === 0x17 && /^\d{12}Z$/.test(s)) {
    const yy = Number(s.slice(0, 2));
    year = yy < 50 ? 2000 + yy : 1900 + yy;
    rest = s.slice(2);
  } else if (el.tag === 0x18 && /^\d{14}Z$/.test(s)) {
    year = Number(s.slice(0, 4));
    rest = s.slice(4);
  } else {
    throw new DerDecodeError('time not in DER form');
  }
  const n = (i: number) => Number(rest.slice(i, i + 2));
  if (n(0) < 1 || n(0) > 12 || n(2) < 1 || n(2) > 31 || n(4) > 23 || n(6) > 59 || n(8) > 59) throw new DerDecodeError('time out of range');
  return new Date(Date.UTC(year, n(0) - 1, n(2), n(4), n(6), n(8)));
}

/** Content of a BIT STRING with no unused bits (keys, signatures). */
export function bitStringBytes(el: DerElement | undefined, what: string): Buffer {
  if (!el || el.tag !== 0x03 || el.value.length === 0 || el.value[0] !== 0) throw new DerDecodeError(`${what}: not a whole-byte BIT STRING`);
  return el.value.subarray(1);
}

/** Tag check for the fast paths: throws DerDecodeError when `el` is not there or not `tag`. */
export function expectTag(el: DerElement | undefined, tag: number, what: string): DerElement {
  if (!el || el.tag !== tag) throw new DerDecodeError(`${what}: unexpected tag`);
  return el;
}
