import { childrenOf, oidOf, readSingle } from './der-reader';
import { stringValue } from './der-values';
import { derOid, derSequence, tlv } from './der-writer';
import { Asn1DecodeError } from './pki.errors';

const SHORT_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.5': 'serialNumber',
  '1.2.840.113549.1.9.1': 'emailAddress',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
};
const OID_BY_SHORT = Object.fromEntries(Object.entries(SHORT_NAMES).map(([k, v]) => [v.toUpperCase(), k]));

export interface NameAttribute {
  type: string; // short name (CN, OU...) or dotted OID
  value: string;
}

/**
 * Attributes of a DER/BER Name in encoding order (most significant first), multi-valued RDNs
 * flattened. A value that is not a string is given as `#` and the hex of its encoding (RFC 4514 2.4).
 */
export function nameAttributes(der: Uint8Array): NameAttribute[] {
  const attrs: NameAttribute[] = [];
  for (const rdn of childrenOf(readSingle(der), 0x30, 'Name')) {
    for (const atv of childrenOf(rdn, 0x31, 'RelativeDistinguishedName')) {
      const [type, value, extra] = childrenOf(atv, 0x30, 'AttributeTypeAndValue');
      if (!value || extra) throw new Asn1DecodeError('AttributeTypeAndValue: expected two values');
      const oid = oidOf(type, 'attribute type');
      attrs.push({ type: SHORT_NAMES[oid] ?? oid, value: stringValue(value) ?? `#${value.raw.toString('hex')}` });
    }
  }
  return attrs;
}

/** One-line form of a Name in the RFC 4514 order (last RDN first), e.g. `CN=dev1,OU=MDM,O=scep-client,C=US`. */
export function formatName(der: Uint8Array): string {
  return nameAttributes(der)
    .reverse()
    .map((a) => `${a.type}=${a.value.replace(/([,+"\\<>;=])/g, '\\$1')}`)
    .join(',');
}

/** formatName() under the name the hot paths have used. */
export const formatNameDer = formatName;

/**
 * Builds a Name (DER) from `{type,value}` pairs in encoding order, one attribute per RDN:
 * countryName as PrintableString (X.520 requires it), everything else as UTF8String.
 */
export function buildName(attrs: NameAttribute[]): Buffer {
  const rdns = attrs.map((a) => {
    const oid = OID_BY_SHORT[a.type.toUpperCase()] ?? a.type;
    const value = oid === '2.5.4.6' ? tlv(0x13, Buffer.from(a.value, 'latin1')) : tlv(0x0c, Buffer.from(a.value, 'utf8'));
    return tlv(0x31, derSequence(derOid(oid), value));
  });
  return derSequence(...rdns);
}
