import { childrenOf, decodeOid, DerDecodeError, primitiveOf, readSingle } from './der-reader';

/** One AttributeTypeAndValue of a Name as encoded: its type, the ASN.1 tag of its value, the raw contents. */
export interface RawNameAttribute {
  oid: string;
  /** identifier octet of the value: 0x0c UTF8String, 0x13 PrintableString, 0x16 IA5String, ... */
  tag: number;
  value: Buffer;
}

/**
 * The RDNs of a DER Name (SEQUENCE OF SET OF AttributeTypeAndValue), each a list of its attributes,
 * without interpreting the values. Throws DerDecodeError on anything that is not that structure.
 */
export function readNameAttributes(der: Uint8Array): RawNameAttribute[][] {
  return childrenOf(readSingle(der), 0x30, 'Name').map((rdn) =>
    childrenOf(rdn, 0x31, 'RelativeDistinguishedName').map((atv) => {
      const [type, value, extra] = childrenOf(atv, 0x30, 'AttributeTypeAndValue');
      if (!value || extra) throw new DerDecodeError('AttributeTypeAndValue: expected a type and one value');
      return { oid: decodeOid(primitiveOf(type, 0x06, 'attribute type')), tag: value.tag, value: value.value };
    }),
  );
}
