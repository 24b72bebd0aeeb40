import { childrenOf, decodeOid, integerHex, primitiveOf, readChildren, readSingle, type DerElement } from './der-reader';
import { OID } from './oids';
import { Asn1DecodeError } from './pki.errors';

/** An OCSP request we cannot decode. The service answers it with `buildOcspError('malformedRequest')`. */
export class OcspMalformedError extends Asn1DecodeError {}

export type OcspHashAlgorithm = 'sha1' | 'sha256' | 'sha384' | 'sha512';

const HASH_BY_OID: Record<string, OcspHashAlgorithm> = {
  [OID.sha1]: 'sha1',
  [OID.sha256]: 'sha256',
  [OID.sha384]: 'sha384',
  [OID.sha512]: 'sha512',
};
export const OCSP_HASH_OIDS: Record<OcspHashAlgorithm, string> = {
  sha1: OID.sha1,
  sha256: OID.sha256,
  sha384: OID.sha384,
  sha512: OID.sha512,
};
export const OCSP_HASH_LENGTHS: Record<OcspHashAlgorithm, number> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

const MAX_NONCE_BYTES = 128;

/** id-pkix-ocsp-nonce (RFC 6960 4.4.1, RFC 9654). */
export const OCSP_NONCE_OID = '1.3.6.1.5.5.7.48.1.2';

/** CertID (RFC 6960 4.1.1). */
export interface OcspCertId {
  hashAlgorithm: OcspHashAlgorithm;
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  /** Uppercase hex, no sign byte, as `openssl x509 -serial` prints it. */
  serialHex: string;
  /**
   * The CertID exactly as the request encoded it. A response echoes these bytes when present, so a
   * client that compares CertIDs byte for byte (NULL vs absent hash parameters) still matches.
   */
  der?: Buffer;
}

export interface OcspRequestInfo {
  requests: OcspCertId[];
  /** The nonce extension's extnValue octets as received, echoed verbatim in the response. */
  nonce?: Buffer;
}

export interface ParseOcspRequestOptions {
  /** Refuse requests listing more certificates than this (bounds the work one request causes). */
  maxRequests?: number;
}

function fail(message: string): never {
  throw new OcspMalformedError(`malformed OCSP request: ${message}`);
}

const SEQUENCE = 0x30;
const OCTET_STRING = 0x04;
const ctx = (n: number): number => 0xa0 | n; // [n] EXPLICIT

/** The single element inside an `[n] EXPLICIT` wrapper. */
function explicitContent(el: DerElement, what: string): DerElement {
  const inner = readChildren(el.value);
  if (inner.length !== 1) fail(`${what} must hold exactly one value`);
  return inner[0]!;
}

function parseCertId(el: DerElement | undefined): OcspCertId {
  const [alg, nameHash, keyHash, serial, ...extra] = childrenOf(el, SEQUENCE, 'CertID');
  if (extra.length) fail('extra fields in CertID');
  const [oid] = childrenOf(alg, SEQUENCE, 'hashAlgorithm');
  const dotted = decodeOid(primitiveOf(oid, 0x06, 'hashAlgorithm OID'));
  const hashAlgorithm = Object.hasOwn(HASH_BY_OID, dotted) ? HASH_BY_OID[dotted] : undefined;
  if (!hashAlgorithm) fail(`unsupported CertID hash algorithm ${dotted}`);
  const issuerNameHash = Buffer.from(primitiveOf(nameHash, OCTET_STRING, 'issuerNameHash'));
  const issuerKeyHash = Buffer.from(primitiveOf(keyHash, OCTET_STRING, 'issuerKeyHash'));
  const size = OCSP_HASH_LENGTHS[hashAlgorithm];
  if (issuerNameHash.length !== size || issuerKeyHash.length !== size) fail(`CertID hash lengths do not match ${hashAlgorithm}`);
  return {
    hashAlgorithm,
    issuerNameHash,
    issuerKeyHash,
    serialHex: integerHex(primitiveOf(serial, 0x02, 'serialNumber')),
    der: Buffer.from(el!.raw),
  };
}

/**
 * RFC 9654: Nonce ::= OCTET STRING (SIZE(1..128)), inside the extension's extnValue. A value that is
 * not such an OCTET STRING (as some old clients send the bytes bare) is held to the same bounds.
 */
function checkNonceLength(extnValue: Buffer): void {
  let value = extnValue;
  if (extnValue[0] === OCTET_STRING) {
    try {
      const inner = readSingle(extnValue);
      if (inner.tag === OCTET_STRING) value = Buffer.from(inner.value);
    } catch {
      // bare bytes that happen to start with 0x04
    }
  }
  if (value.length < 1 || value.length > MAX_NONCE_BYTES) fail(`nonce of ${value.length} bytes (RFC 9654: 1 to ${MAX_NONCE_BYTES})`);
}

function findNonce(extensions: DerElement): Buffer | undefined {
  let nonce: Buffer | undefined;
  for (const ext of childrenOf(extensions, SEQUENCE, 'requestExtensions')) {
    const parts = childrenOf(ext, SEQUENCE, 'Extension');
    if (decodeOid(primitiveOf(parts[0], 0x06, 'extnID')) !== OCSP_NONCE_OID) continue;
    if (nonce) fail('duplicate nonce extension');
    nonce = Buffer.from(primitiveOf(parts[parts.length - 1], OCTET_STRING, 'nonce extnValue'));
    checkNonceLength(nonce);
  }
  return nonce;
}

/**
 * Decodes an OCSPRequest (RFC 6960 4.1.1). The optional requestor signature, requestorName and
 * per-certificate extensions are ignored. Anything undecodable, an empty request list, an unknown
 * CertID hash or trailing bytes is an OcspMalformedError, never another exception.
 */
export function parseOcspRequest(der: Uint8Array, options: ParseOcspRequestOptions = {}): OcspRequestInfo {
  const maxRequests = options.maxRequests ?? 100;
  try {
    const [tbs, signature, ...extra] = childrenOf(readSingle(der), SEQUENCE, 'OCSPRequest');
    if (extra.length || (signature && signature.tag !== ctx(0))) fail('unexpected fields after tbsRequest');
    const fields = childrenOf(tbs, SEQUENCE, 'TBSRequest');
    let i = 0;
    if (fields[i]?.tag === ctx(0)) {
      const version = explicitContent(fields[i++]!, 'version');
      if (version.tag !== 0x02 || !version.value.equals(Buffer.from([0]))) fail('unsupported version');
    }
    if (fields[i]?.tag === ctx(1)) i++; // requestorName
    const list = childrenOf(fields[i++], SEQUENCE, 'requestList');
    if (list.length === 0) fail('empty requestList');
    if (list.length > maxRequests) fail(`more than ${maxRequests} certificates requested`);
    const requests = list.map((req) => {
      const [certId, singleExtensions, ...rest] = childrenOf(req, SEQUENCE, 'Request');
      if (rest.length || (singleExtensions && singleExtensions.tag !== ctx(0))) fail('unexpected fields in Request');
      return parseCertId(certId);
    });
    let nonce: Buffer | undefined;
    if (fields[i]?.tag === ctx(2)) nonce = findNonce(explicitContent(fields[i++]!, 'requestExtensions'));
    if (i !== fields.length) fail('unexpected fields in TBSRequest');
    return nonce ? { requests, nonce } : { requests };
  } catch (err) {
    if (err instanceof OcspMalformedError) throw err;
    if (err instanceof Asn1DecodeError) fail(err.message);
    // Not expected: the reader checks every length. Still a client error, never a crash.
    throw new OcspMalformedError('malformed OCSP request', err);
  }
}
