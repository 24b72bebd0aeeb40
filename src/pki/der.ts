import * as asn1js from 'asn1js';
import { toArrayBuffer, toBuffer } from '../shared/bytes';
import { BadRequestError } from '../shared/errors';

/** Parses one complete DER/BER value; trailing bytes or a decoding error is a BadRequestError. */
export function parseAsn1(der: Uint8Array, what: string): asn1js.AsnType {
  const ab = toArrayBuffer(der);
  let parsed: ReturnType<typeof asn1js.fromBER>;
  try {
    parsed = asn1js.fromBER(ab);
  } catch (err) {
    // asn1js throws (rather than reporting) on some malformed primitives, e.g. a bad GeneralizedTime
    throw new BadRequestError(`malformed ${what}`, err);
  }
  if (parsed.offset === -1 || parsed.result.error) throw new BadRequestError(`malformed ${what}`);
  if (parsed.offset !== ab.byteLength) throw new BadRequestError(`trailing bytes after ${what}`);
  return parsed.result;
}

/** Runs a pkijs `new X({ schema })` and turns its schema errors into a BadRequestError. */
export function decodeAs<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof BadRequestError) throw err;
    throw new BadRequestError(`malformed ${what}`, err);
  }
}

/** The content of an OCTET STRING, whether primitive or constructed (BER chunks). */
export function octets(value: asn1js.OctetString): Buffer {
  if (!value.idBlock.isConstructed) return toBuffer(value.valueBlock.valueHexView);
  const parts: Buffer[] = [];
  for (const child of value.valueBlock.value) parts.push(octets(child as asn1js.OctetString));
  return Buffer.concat(parts);
}

export function pemEncode(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

export function pemDecode(pem: string, label: string): Buffer {
  const re = new RegExp(`-----BEGIN ${label}-----([\\s\\S]+?)-----END ${label}-----`);
  const m = re.exec(pem);
  if (!m) throw new Error(`no ${label} PEM block`);
  return Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
}

/** Big-endian bytes of a positive INTEGER without a sign byte, as hex (uppercase). */
export function integerHex(value: asn1js.Integer): string {
  let bytes = toBuffer(value.valueBlock.valueHexView);
  while (bytes.length > 1 && bytes[0] === 0) bytes = bytes.subarray(1);
  return bytes.toString('hex').toUpperCase();
}

/** A positive INTEGER from big-endian bytes (adds a 0x00 when the high bit is set). */
export function positiveInteger(bytes: Uint8Array): asn1js.Integer {
  const b = bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : Buffer.from(bytes);
  return new asn1js.Integer({ valueHex: toArrayBuffer(b) });
}
