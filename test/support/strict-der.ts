/**
 * A strict DER validator (X.690 section 10 and 11), written independently of src/pki so that it
 * checks what Scepter emits rather than agreeing with it. It rejects indefinite lengths,
 * constructed string types, non-minimal length octets, non-minimal INTEGER/ENUMERATED contents,
 * BOOLEAN contents other than 00/FF, non-empty NULL, BIT STRINGs with unused bits that are not 0,
 * UTCTime/GeneralizedTime not in their DER forms, a DEFAULT FALSE `critical` written out, and
 * SET OF components not in ascending order of their encodings.
 *
 * Besides universal SETs it checks the SET OFs that CMS tags implicitly (SignedData certificates
 * [0] and crls [1], SignerInfo signedAttrs [0], CertificationRequestInfo attributes [0]), and it
 * descends into the encodings that are wrapped in OCTET/BIT STRINGs: an Extension's extnValue,
 * OCSP responseBytes, an RSA SubjectPublicKeyInfo's key and a CMS `data` eContent.
 */

export class StrictDerError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

export interface Tlv {
  /** identifier octets (only low tag numbers are emitted by Scepter; high ones are parsed anyway) */
  cls: number;
  constructed: boolean;
  tagNumber: number;
  /** first identifier octet, e.g. 0x30 */
  tag: number;
  raw: Buffer;
  value: Buffer;
  children?: Tlv[];
}

const STRING_TAGS = new Set([3, 4, 12, 18, 19, 20, 21, 22, 25, 26, 27, 28, 30, 23, 24]);
const RSA_ENCRYPTION = Buffer.from('06092a864886f70d010101', 'hex');
const OCSP_BASIC = Buffer.from('06092b0601050507300101', 'hex');
const CMS_DATA = Buffer.from('06092a864886f70d010701', 'hex');
/** OID contents prefixes whose { OID, OCTET STRING } pairs wrap DER: id-ce, id-pe and id-pkix-ocsp. */
const WRAPPING_OID_PREFIXES = ['551d', '2b060105050701', '2b060105050730'].map((h) => Buffer.from(h, 'hex'));
const wrapsDer = (oid: Tlv): boolean => WRAPPING_OID_PREFIXES.some((p) => oid.value.subarray(0, p.length).equals(p));

function readTlv(buf: Buffer, offset: number, path: string): { tlv: Tlv; end: number } {
  const at = `${path}@${offset}`;
  if (offset >= buf.length) throw new StrictDerError(at, 'truncated: no identifier octet');
  const first = buf[offset]!;
  let pos = offset + 1;
  let tagNumber = first & 0x1f;
  if (tagNumber === 0x1f) {
    tagNumber = 0;
    if (buf[pos] === 0x80) throw new StrictDerError(at, 'non-minimal high tag number');
    for (;;) {
      if (pos >= buf.length) throw new StrictDerError(at, 'truncated tag number');
      const b = buf[pos++]!;
      tagNumber = tagNumber * 128 + (b & 0x7f);
      if (!(b & 0x80)) break;
    }
    if (tagNumber < 0x1f) throw new StrictDerError(at, 'high-tag form for a low tag number');
  }
  if (pos >= buf.length) throw new StrictDerError(at, 'truncated: no length octet');
  const l0 = buf[pos++]!;
  let length: number;
  if (l0 < 0x80) length = l0;
  else if (l0 === 0x80) throw new StrictDerError(at, 'indefinite length');
  else {
    const n = l0 & 0x7f;
    if (n > 4) throw new StrictDerError(at, 'length of more than 4 octets');
    if (pos + n > buf.length) throw new StrictDerError(at, 'truncated length');
    if (buf[pos] === 0) throw new StrictDerError(at, 'non-minimal length (leading zero octet)');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[pos + i]!;
    pos += n;
    if (length < 0x80) throw new StrictDerError(at, `non-minimal length (long form for ${length})`);
  }
  const end = pos + length;
  if (end > buf.length) throw new StrictDerError(at, 'value runs past the end');
  const tlv: Tlv = {
    cls: first >> 6,
    constructed: (first & 0x20) !== 0,
    tagNumber,
    tag: first,
    raw: buf.subarray(offset, end),
    value: buf.subarray(pos, end),
  };
  return { tlv, end };
}

function readAll(buf: Buffer, path: string): Tlv[] {
  const out: Tlv[] = [];
  for (let off = 0; off < buf.length;) {
    const { tlv, end } = readTlv(buf, off, path);
    out.push(tlv);
    off = end;
  }
  return out;
}

/** X.690 11.6: ascending order, compared as octet strings with the shorter padded with zeros. */
function derSetOrder(a: Buffer, b: Buffer): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = i < a.length ? a[i]! : 0;
    const y = i < b.length ? b[i]! : 0;
    if (x !== y) return x - y;
  }
  return 0;
}

function checkSorted(children: Tlv[], path: string): void {
  for (let i = 1; i < children.length; i++) {
    if (derSetOrder(children[i - 1]!.raw, children[i]!.raw) > 0) throw new StrictDerError(path, `SET OF components ${i - 1} and ${i} are not in DER order`);
  }
}

function checkPrimitive(t: Tlv, path: string): void {
  if (t.cls !== 0) return;
  const v = t.value;
  switch (t.tagNumber) {
    case 1:
      if (v.length !== 1 || (v[0] !== 0 && v[0] !== 0xff)) throw new StrictDerError(path, 'BOOLEAN must be one octet 00 or FF');
      break;
    case 2:
    case 10:
      if (v.length === 0) throw new StrictDerError(path, 'empty INTEGER');
      if (v.length > 1 && ((v[0] === 0 && !(v[1]! & 0x80)) || (v[0] === 0xff && v[1]! & 0x80))) throw new StrictDerError(path, 'non-minimal INTEGER');
      break;
    case 3: {
      if (v.length === 0) throw new StrictDerError(path, 'BIT STRING without unused-bits octet');
      const unused = v[0]!;
      if (unused > 7 || (v.length === 1 && unused !== 0)) throw new StrictDerError(path, 'bad unused-bits count');
      if (unused && v[v.length - 1]! & ((1 << unused) - 1)) throw new StrictDerError(path, 'unused bits not zero');
      break;
    }
    case 5:
      if (v.length !== 0) throw new StrictDerError(path, 'NULL with contents');
      break;
    case 6:
      if (v.length === 0 || v[v.length - 1]! & 0x80) throw new StrictDerError(path, 'bad OBJECT IDENTIFIER');
      for (let i = 0; i < v.length; i++) if (v[i] === 0x80 && (i === 0 || !(v[i - 1]! & 0x80))) throw new StrictDerError(path, 'non-minimal OID arc');
      break;
    case 23:
      if (!/^\d{12}Z$/.test(v.toString('latin1'))) throw new StrictDerError(path, `UTCTime not YYMMDDHHMMSSZ: ${v.toString('latin1')}`);
      break;
    case 24:
      if (!/^\d{14}(\.\d*[1-9])?Z$/.test(v.toString('latin1'))) throw new StrictDerError(path, `GeneralizedTime not in DER form: ${v.toString('latin1')}`);
      break;
  }
}

type Context = 'none' | 'signedData' | 'signerInfo' | 'csrInfo';

/** What the children of `t` are, judged by their shapes (the validator knows no schemas). */
function contextOf(t: Tlv): Context {
  const c = t.children ?? [];
  if (t.tag !== 0x30 || c.length < 4) return 'none';
  // SignedData: version INTEGER, digestAlgorithms SET, encapContentInfo SEQUENCE { OID ... }, ...
  if (c[0]!.tag === 0x02 && c[1]!.tag === 0x31 && c[2]!.tag === 0x30 && c[2]!.children?.[0]?.tag === 0x06) return 'signedData';
  // SignerInfo: version, sid (IssuerAndSerialNumber or [0]), digestAlgorithm, [0] signedAttrs, ...
  if (c[0]!.tag === 0x02 && (c[1]!.tag === 0x30 || c[1]!.tag === 0x80) && c[2]!.tag === 0x30 && c[3]!.tag === 0xa0) return 'signerInfo';
  // CertificationRequestInfo: version, subject Name, SubjectPublicKeyInfo, [0] attributes
  if (c.length === 4 && c[0]!.tag === 0x02 && c[1]!.tag === 0x30 && c[2]!.tag === 0x30 && c[3]!.tag === 0xa0) return 'csrInfo';
  return 'none';
}

function validate(t: Tlv, path: string): void {
  if (t.constructed) {
    if (t.cls === 0 && STRING_TAGS.has(t.tagNumber)) throw new StrictDerError(path, `constructed encoding of universal type ${t.tagNumber}`);
    t.children = readAll(t.value, path);
    t.children.forEach((c, i) => validate(c, `${path}/${i}`));
    if (t.tag === 0x31) checkSorted(t.children, path);
    const ctx = contextOf(t);
    for (const [i, c] of t.children.entries()) {
      const implicitSetOf =
        (ctx === 'signedData' && i >= 3 && (c.tag === 0xa0 || c.tag === 0xa1)) ||
        (ctx === 'signerInfo' && i === 3 && c.tag === 0xa0) ||
        (ctx === 'csrInfo' && i === 3);
      if (implicitSetOf) checkSorted(c.children!, `${path}/${i}`);
    }
    descend(t, path);
  } else {
    checkPrimitive(t, path);
  }
}

/** Encodings nested inside OCTET STRINGs and BIT STRINGs, recognised by the shape around them. */
function descend(t: Tlv, path: string): void {
  const c = t.children!;
  if (t.tag !== 0x30) return;
  // Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
  const ext = c[0]?.tag === 0x06 && ((c.length === 2 && c[1]!.tag === 0x04) || (c.length === 3 && c[1]!.tag === 0x01 && c[2]!.tag === 0x04));
  if (ext && wrapsDer(c[0]!)) {
    if (c.length === 3 && c[1]!.value[0] === 0) throw new StrictDerError(path, 'critical FALSE must be omitted (DEFAULT)');
    const octets = c[c.length - 1]!;
    // OCSP responseBytes { responseType, response OCTET STRING } has the same shape
    validateWhole(octets.value, `${path}/${c.length - 1}{${c[0]!.raw.equals(OCSP_BASIC) ? 'BasicOCSPResponse' : 'extnValue'}}`);
  }
  // SubjectPublicKeyInfo { AlgorithmIdentifier { rsaEncryption, NULL }, BIT STRING RSAPublicKey }
  if (c.length === 2 && c[0]!.tag === 0x30 && c[0]!.children?.[0]?.raw.equals(RSA_ENCRYPTION) && c[1]!.tag === 0x03) {
    validateWhole(c[1]!.value.subarray(1), `${path}/1{RSAPublicKey}`);
  }
  // EncapsulatedContentInfo { id-data, [0] EXPLICIT OCTET STRING }: CMS content we emit is DER too
  if (c.length === 2 && c[0]!.raw.equals(CMS_DATA) && c[1]!.tag === 0xa0 && c[1]!.children?.[0]?.tag === 0x04) {
    const content = c[1]!.children[0].value;
    if (content.length && content[0] === 0x30) validateWhole(content, `${path}/1/0{eContent}`);
  }
}

function validateWhole(buf: Buffer, path: string): Tlv {
  const { tlv, end } = readTlv(buf, 0, path);
  if (end !== buf.length) throw new StrictDerError(path, `${buf.length - end} trailing bytes`);
  validate(tlv, path);
  return tlv;
}

/** Throws StrictDerError (with a path of child indexes) unless `der` is exactly one strict DER value. */
export function assertStrictDer(der: Uint8Array, what = 'value'): Tlv {
  return validateWhole(Buffer.from(der.buffer, der.byteOffset, der.byteLength), what);
}

/** The reason `der` is not strict DER, or undefined when it is. */
export function strictDerProblem(der: Uint8Array): string | undefined {
  try {
    assertStrictDer(der);
    return undefined;
  } catch (err) {
    if (err instanceof StrictDerError) return err.message;
    throw err;
  }
}
