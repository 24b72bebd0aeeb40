import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { childrenOf, decodeOid, DerDecodeError, primitiveOf, readSingle } from './der-reader';
import { stringValue } from './der-values';

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

/** Attributes in encoding order (most significant first, as in the DER). */
export function nameAttributes(name: pkijs.RelativeDistinguishedNames): NameAttribute[] {
  return name.typesAndValues.map((tv) => ({
    type: SHORT_NAMES[tv.type] ?? tv.type,
    value: String((tv.value.valueBlock as { value?: unknown }).value ?? ''),
  }));
}

/** One-line form in the RFC 4514 order (last RDN first), e.g. `CN=dev1,OU=MDM,O=scep-client,C=US`. */
export function formatName(name: pkijs.RelativeDistinguishedNames): string {
  return formatAttributes(nameAttributes(name));
}

function formatAttributes(attrs: NameAttribute[]): string {
  return attrs
    .reverse()
    .map((a) => `${a.type}=${a.value.replace(/([,+"\\<>;=])/g, '\\$1')}`)
    .join(',');
}

/**
 * formatName() straight from the DER of a Name, without building pkijs objects (hot path: every
 * certificate we parse or issue). Throws DerDecodeError on anything but plain string values.
 */
export function formatNameDer(der: Uint8Array): string {
  const attrs: NameAttribute[] = [];
  for (const rdn of childrenOf(readSingle(der), 0x30, 'Name')) {
    for (const atv of childrenOf(rdn, 0x31, 'RDN')) {
      const [type, value, extra] = childrenOf(atv, 0x30, 'AttributeTypeAndValue');
      if (!value || extra) throw new DerDecodeError('AttributeTypeAndValue: expected two values');
      const oid = decodeOid(primitiveOf(type, 0x06, 'attribute type'));
      const text = stringValue(value);
      if (text === undefined) throw new DerDecodeError('attribute value is not a string');
      attrs.push({ type: SHORT_NAMES[oid] ?? oid, value: text });
    }
  }
  return formatAttributes(attrs);
}

/** Builds a Name from `{type,value}` pairs in encoding order, one attribute per RDN. */
export function buildName(attrs: NameAttribute[]): pkijs.RelativeDistinguishedNames {
  // pkijs would put every attribute in a single multi-valued RDN, so build the SEQUENCE OF SET here
  const rdns = attrs.map((a) => {
    const oid = OID_BY_SHORT[a.type.toUpperCase()] ?? a.type;
    const value = oid === '2.5.4.6' ? new asn1js.PrintableString({ value: a.value }) : new asn1js.Utf8String({ value: a.value });
    return new asn1js.Set({ value: [new pkijs.AttributeTypeAndValue({ type: oid, value }).toSchema()] });
  });
  const der = new asn1js.Sequence({ value: rdns }).toBER(false);
  return pkijs.RelativeDistinguishedNames.fromBER(der);
}
