/**
 * The DER writer of src/pki: tag/length/value concatenation into Buffers, minimal lengths, SET OF in
 * DER order (derSetOf). Fast enough for a CRL with 100,000 entries, and exact where the bytes matter
 * (OCSP CertIDs echoed back to the client). Every function returns a complete TLV.
 */

/** Universal tags used here. */
export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  enumerated: 0x0a,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** One TLV whose value is the concatenation of `parts`. */
export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  return tlvOf(tag, parts);
}

/** Same as tlv() for a large array of parts (a spread of 100,000 arguments can overflow the stack). */
export function tlvOf(tag: number, parts: readonly Uint8Array[]): Buffer {
  let len = 0;
  for (const p of parts) len += p.length;
  // the length octets are written in place: a Buffer for them cost more than the copy of the value
  const count = len < 0x80 ? 0 : len < 0x100 ? 1 : len < 0x10000 ? 2 : len < 0x1000000 ? 3 : 4;
  const out = Buffer.allocUnsafe(2 + count + len);
  out[0] = tag;
  if (count === 0) out[1] = len;
  else {
    out[1] = 0x80 | count;
    for (let i = count; i > 0; i--) out[1 + i] = (len >>> (8 * (count - i))) & 0xff;
  }
  let off = 2 + count;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * A SET OF (or an implicitly tagged one, e.g. SignedData `certificates [0]`) in DER order: components
 * ascending by their encodings (X.690 11.6). Buffer.compare puts a prefix first, which the rule's
 * zero padding allows either way.
 */
export function derSetOf(parts: readonly Uint8Array[], tag: number = TAG.set): Buffer {
  return tlvOf(
    tag,
    [...parts].sort((a, b) => Buffer.compare(a, b)),
  );
}

export const derSequence = (...parts: Uint8Array[]): Buffer => tlv(TAG.sequence, ...parts);
/** `[n] EXPLICIT` (constructed, context-specific). */
export const derExplicit = (n: number, ...parts: Uint8Array[]): Buffer => tlv(0xa0 | n, ...parts);
export const derOctetString = (bytes: Uint8Array): Buffer => tlv(TAG.octetString, bytes);
export const DER_NULL = Buffer.from([0x05, 0x00]);
export const DER_TRUE = Buffer.from([0x01, 0x01, 0xff]);

/** BIT STRING with no unused bits (signatures, key hashes). */
export function derBitString(bytes: Uint8Array): Buffer {
  return tlv(TAG.bitString, Buffer.from([0]), bytes);
}

const oidCache = new Map<string, Buffer>();

export function derOid(dotted: string): Buffer {
  const cached = oidCache.get(dotted);
  if (cached) return cached;
  const arcs = dotted.split('.').map((s) => {
    if (!/^\d+$/.test(s)) throw new RangeError(`bad OID ${dotted}`);
    return BigInt(s);
  });
  if (arcs.length < 2) throw new RangeError(`bad OID ${dotted}`);
  const bytes: number[] = [];
  const pushArc = (arc: bigint): void => {
    const groups: number[] = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) groups.unshift(Number(v & 0x7fn) | 0x80);
    bytes.push(...groups);
  };
  pushArc(arcs[0]! * 40n + arcs[1]!);
  for (const arc of arcs.slice(2)) pushArc(arc);
  const out = tlv(TAG.oid, Buffer.from(bytes));
  oidCache.set(dotted, out);
  return out;
}

/** Big-endian magnitude -> positive INTEGER: strips redundant zeros, adds 0x00 if the high bit is set. */
export function derUnsignedInteger(magnitude: Uint8Array, tag: number = TAG.integer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const body = magnitude.length === 0 ? Buffer.from([0]) : magnitude.subarray(start);
  return body[0]! & 0x80 ? tlv(tag, Buffer.from([0]), body) : tlv(tag, body);
}

/** Positive INTEGER from hex (as `openssl x509 -serial` prints it; colons and a sign byte are tolerated). */
export function derIntegerFromHex(hex: string): Buffer {
  const clean = hex.replace(/:/g, '');
  if (!/^[0-9a-fA-F]+$/.test(clean)) throw new RangeError(`not a hexadecimal serial: ${JSON.stringify(hex)}`);
  return derUnsignedInteger(Buffer.from(clean.length % 2 ? `0${clean}` : clean, 'hex'));
}

export function derIntegerFromBigInt(value: bigint): Buffer {
  if (value < 0n) throw new RangeError('negative INTEGER not supported');
  return derIntegerFromHex(value.toString(16));
}

/** Small non-negative ENUMERATED (reason codes, OCSP response status). */
export function derEnumerated(value: number): Buffer {
  return derUnsignedInteger(Buffer.from([value]), TAG.enumerated);
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** GeneralizedTime YYYYMMDDHHMMSSZ (whole seconds, UTC), as RFC 5280 and RFC 6960 require. */
export function derGeneralizedTime(date: Date): Buffer {
  const y = date.getUTCFullYear();
  if (!Number.isFinite(y) || y < 0 || y > 9999) throw new RangeError('date out of range');
  const s =
    String(y).padStart(4, '0') +
    pad2(date.getUTCMonth() + 1) +
    pad2(date.getUTCDate()) +
    pad2(date.getUTCHours()) +
    pad2(date.getUTCMinutes()) +
    pad2(date.getUTCSeconds()) +
    'Z';
  return tlv(TAG.generalizedTime, Buffer.from(s, 'latin1'));
}

/** RFC 5280 Time: UTCTime for 1950..2049, GeneralizedTime otherwise. */
export function derTime(date: Date): Buffer {
  const y = date.getUTCFullYear();
  if (y < 1950 || y > 2049) return derGeneralizedTime(date);
  const s =
    pad2(y % 100) +
    pad2(date.getUTCMonth() + 1) +
    pad2(date.getUTCDate()) +
    pad2(date.getUTCHours()) +
    pad2(date.getUTCMinutes()) +
    pad2(date.getUTCSeconds()) +
    'Z';
  return tlv(TAG.utcTime, Buffer.from(s, 'latin1'));
}

/** Extension ::= SEQUENCE { extnID, critical DEFAULT FALSE, extnValue OCTET STRING } */
export function derExtension(oid: string, value: Uint8Array, critical = false): Buffer {
  return critical ? derSequence(derOid(oid), DER_TRUE, derOctetString(value)) : derSequence(derOid(oid), derOctetString(value));
}
