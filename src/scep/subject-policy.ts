import { verify, X509Certificate, type KeyObject } from 'node:crypto';
import { childrenOf, DerDecodeError, readSingle } from '../pki/der-reader';
import { bitStringBytes, inDefiniteMinimalForm } from '../pki/der-values';
import { readNameAttributes, type RawNameAttribute } from '../pki/name-der';
import { ParsedCertificate } from '../pki/certificate';
import { FailInfo, ScepFailure } from './scep-failure';
import { hasUnprintable } from '../shared/printable-text';

const UTF8 = 0x0c;
const PRINTABLE = 0x13;
const IA5 = 0x16;
const TAG_NAMES: Record<number, string> = {
  0x02: 'INTEGER',
  0x04: 'OCTET STRING',
  0x05: 'NULL',
  0x06: 'OBJECT IDENTIFIER',
  0x0c: 'UTF8String',
  0x12: 'NumericString',
  0x13: 'PrintableString',
  0x14: 'TeletexString',
  0x15: 'VideotexString',
  0x16: 'IA5String',
  0x1a: 'VisibleString',
  0x1b: 'GeneralString',
  0x1c: 'UniversalString',
  0x1e: 'BMPString',
  0x30: 'SEQUENCE',
  0x31: 'SET',
};

interface AttributeSpec {
  name: string;
  oid: string;
  /** RFC 5280 Appendix A upper bound (characters) */
  max: number;
  /** accepted string types: DirectoryString types we accept, or the one RFC 5280 prescribes */
  tags: number[];
  /** a fixed length (countryName: two letters) */
  exact?: number;
}

const DIRECTORY_STRING = [UTF8, PRINTABLE];

/**
 * The attribute types a subject may carry, with RFC 5280's bounds and string types. domainComponent
 * is bounded like a DNS label; UID (RFC 4519 has no bound) like a long device identifier.
 */
const SPECS: AttributeSpec[] = [
  { name: 'CN', oid: '2.5.4.3', max: 64, tags: DIRECTORY_STRING },
  { name: 'C', oid: '2.5.4.6', max: 2, exact: 2, tags: [PRINTABLE] },
  { name: 'L', oid: '2.5.4.7', max: 128, tags: DIRECTORY_STRING },
  { name: 'ST', oid: '2.5.4.8', max: 128, tags: DIRECTORY_STRING },
  { name: 'O', oid: '2.5.4.10', max: 64, tags: DIRECTORY_STRING },
  { name: 'OU', oid: '2.5.4.11', max: 64, tags: DIRECTORY_STRING },
  { name: 'serialNumber', oid: '2.5.4.5', max: 64, tags: [PRINTABLE] },
  { name: 'emailAddress', oid: '1.2.840.113549.1.9.1', max: 255, tags: [IA5] },
  { name: 'DC', oid: '0.9.2342.19200300.100.1.25', max: 63, tags: [IA5] },
  { name: 'UID', oid: '0.9.2342.19200300.100.1.1', max: 128, tags: DIRECTORY_STRING },
];
const SPEC_BY_OID = new Map(SPECS.map((s) => [s.oid, s]));
const SPEC_BY_NAME = new Map(SPECS.map((s) => [s.name.toUpperCase(), s]));

/** Which attribute types a subject may carry and how often; `requireCn`: exactly one CN. */
export interface SubjectRules {
  /** attribute short name -> the most times it may appear */
  allowed: ReadonlyMap<string, number>;
  requireCn: boolean;
  /** names the rule set in refusals, e.g. "the default endpoint" or "the template CN={DeviceUid},OU=x" */
  label: string;
}

/**
 * The default `/scep` endpoint: the attribute types above, each at most once except DC (a domain
 * name is spelled as several DCs), and exactly one CN.
 */
export const DEFAULT_SUBJECT_RULES: SubjectRules = {
  allowed: new Map(SPECS.map((s) => [s.name, s.name === 'DC' ? 8 : 1])),
  requireCn: true,
  label: 'the default endpoint',
};

/** An integration: exactly the template's attribute types (the template decides how many of each). */
export function templateSubjectRules(templateTypes: readonly string[], templateText: string): SubjectRules {
  const allowed = new Map<string, number>();
  for (const t of templateTypes) {
    const spec = SPEC_BY_NAME.get(t.toUpperCase());
    if (spec) allowed.set(spec.name, (allowed.get(spec.name) ?? 0) + 1);
  }
  return { allowed, requireCn: false, label: `the template ${templateText}` };
}

export interface CheckedAttribute {
  type: string;
  value: string;
}

const refuse = (text: string): never => {
  throw new ScepFailure(FailInfo.badRequest, `subject refused: ${text}`);
};
const tagName = (tag: number): string => TAG_NAMES[tag] ?? `tag 0x${tag.toString(16).padStart(2, '0')}`;
const withArticle = (tag: number): string => `${/^(OCTET|OBJECT|INTEGER|IA5|tag)/.test(tagName(tag)) ? 'an' : 'a'} ${tagName(tag)}`;

/**
 * Checks a CSR subject before anything is signed: a well-formed Name of single-valued RDNs, known
 * attribute types allowed by `rules`, RFC 5280 string types and bounds, no control characters.
 * Returns the attributes in encoding order; throws ScepFailure(badRequest) naming the first problem
 * (never echoing the value, which may hold control characters).
 */
export function checkSubject(subjectDer: Uint8Array, rules: SubjectRules = DEFAULT_SUBJECT_RULES): CheckedAttribute[] {
  let rdns: RawNameAttribute[][];
  try {
    rdns = readNameAttributes(subjectDer);
  } catch (err) {
    if (err instanceof DerDecodeError) refuse('not a Name of attribute type and value pairs');
    throw err;
  }
  if (rdns.length === 0) refuse('the subject is empty');
  const out: CheckedAttribute[] = [];
  const counts = new Map<string, number>();
  for (const rdn of rdns) {
    if (rdn.length !== 1) refuse(rdn.length === 0 ? 'an empty RDN' : 'multi-valued RDNs are not accepted');
    const attr = rdn[0]!;
    const spec = SPEC_BY_OID.get(attr.oid);
    if (!spec || !rules.allowed.has(spec.name)) refuse(`attribute type ${spec?.name ?? attr.oid} is not accepted by ${rules.label}`);
    const count = (counts.get(spec!.name) ?? 0) + 1;
    counts.set(spec!.name, count);
    if (count > rules.allowed.get(spec!.name)!) refuse(`${spec!.name} appears more often than ${rules.label} allows`);
    out.push({ type: spec!.name, value: attributeText(spec!, attr) });
  }
  if (rules.requireCn && !counts.get('CN')) refuse('a CN is required');
  return out;
}

/** The attribute's text, after its string type, character set, control characters and length are checked. */
function attributeText(spec: AttributeSpec, attr: RawNameAttribute): string {
  if (!spec.tags.includes(attr.tag)) refuse(`${spec.name} is ${withArticle(attr.tag)}; it must be ${spec.tags.map(withArticle).join(' or ')}`);
  let text: string;
  if (attr.tag === UTF8) {
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(attr.value);
    } catch {
      return refuse(`${spec.name} is not valid UTF-8`);
    }
  } else {
    text = attr.value.toString('latin1');
    if (attr.tag === IA5 && /[^\x00-\x7f]/.test(text)) refuse(`${spec.name} holds characters outside IA5String`);
  }
  // controls forge lines and truncate C strings; bidi and invisible characters make a subject read as another
  if (hasUnprintable(text)) refuse(`${spec.name} contains control or invisible formatting characters`);
  if (attr.tag === PRINTABLE && !/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(text)) refuse(`${spec.name} holds characters outside PrintableString`);
  const length = Array.from(text).length; // characters (code points), not UTF-16 units
  if (length === 0) refuse(`${spec.name} is empty`);
  if (spec.exact !== undefined && (length !== spec.exact || !/^[A-Za-z]+$/.test(text))) refuse(`${spec.name} must be ${spec.exact} letters`);
  if (length > spec.max) refuse(`${spec.name} is longer than ${spec.max} characters`);
  return text;
}

/**
 * Reads an issued certificate back with Node's X509Certificate (OpenSSL) and checks the CA's
 * signature on it, before it is recorded or returned: a certificate other software cannot read is
 * never handed out.
 */
export function parseBack(cert: ParsedCertificate, caKey: KeyObject): void {
  let ok = false;
  try {
    const x = new X509Certificate(cert.der);
    ok = x.subject.length > 0 && x.serialNumber.length > 0 && x.verify(caKey);
  } catch {
    ok = false;
  }
  if (!ok) throw new ScepFailure(FailInfo.badRequest, 'the certificate for this request could not be read back; nothing was issued');
}

const SHA256_WITH_RSA = Buffer.from('300d06092a864886f70d01010b0500', 'hex');

/**
 * The check of a certificate Scepter has just built and signed, before it is recorded or returned:
 * the whole certificate is in definite form with minimal lengths and primitive strings (as
 * X.509 requires and strict readers enforce), the certificate reader has read its fields, its
 * signature algorithm is sha256WithRSAEncryption in both places, and the signature verifies with
 * the CA's public key. Everything in it was written by the DER writer except the subject (checked
 * and re-encoded by checkSubject and the CSR reader) and the public key (the request's, which
 * OpenSSL has already imported to check the request's signatures). parseBack reads a certificate
 * with OpenSSL instead; that costs ~0.1 ms (OpenSSL 3 decodes the public key through its provider
 * decoders) and is kept for certificates read from storage.
 */
export function checkIssued(cert: ParsedCertificate, caKey: KeyObject): void {
  let ok = false;
  try {
    const [tbs, algorithm, signature] = childrenOf(readSingle(cert.der), 0x30, 'Certificate');
    const inner = childrenOf(tbs, 0x30, 'TBSCertificate')[2];
    ok =
      inDefiniteMinimalForm(cert.der) &&
      cert.subjectDer.length > 2 &&
      algorithm!.raw.equals(SHA256_WITH_RSA) &&
      inner!.raw.equals(SHA256_WITH_RSA) &&
      verify('sha256', tbs!.raw, caKey, bitStringBytes(signature, 'signatureValue'));
  } catch {
    ok = false;
  }
  if (!ok) throw new ScepFailure(FailInfo.badRequest, 'the certificate for this request failed its check after signing; nothing was issued');
}
