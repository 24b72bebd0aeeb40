import * as asn1js from 'asn1js';
import { integerHex, octets, parseAsn1 } from './der';
import { OID } from './oids';
import { BadRequestError } from '../shared/errors';

/** An OCSP request we cannot decode. The service answers it with `buildOcspError('malformedRequest')`. */
export class OcspMalformedError extends BadRequestError {}

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

/** id-pkix-ocsp-nonce (RFC 6960 4.4.1, RFC 8954). */
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

function items(el: asn1js.AsnType | undefined, what: string): asn1js.AsnType[] {
  if (!(el instanceof asn1js.Sequence)) fail(`${what} is not a SEQUENCE`);
  return el.valueBlock.value;
}

/** Content of an `[n] EXPLICIT` wrapper, or undefined when `el` is not that tag. */
function explicit(el: asn1js.AsnType | undefined, n: number): asn1js.AsnType | undefined {
  if (el?.idBlock.tagClass !== 3 || el.idBlock.tagNumber !== n) return undefined;
  const inner = (el as asn1js.Constructed).valueBlock.value;
  if (!el.idBlock.isConstructed || !Array.isArray(inner) || inner.length !== 1) fail(`bad [${n}] field`);
  return inner[0];
}

function octetString(el: asn1js.AsnType | undefined, what: string): Buffer {
  if (!(el instanceof asn1js.OctetString)) fail(`${what} is not an OCTET STRING`);
  return octets(el);
}

function parseCertId(el: asn1js.AsnType | undefined): OcspCertId {
  const [alg, nameHash, keyHash, serial, ...extra] = items(el, 'CertID');
  if (extra.length) fail('extra fields in CertID');
  const [oid] = items(alg, 'hashAlgorithm');
  if (!(oid instanceof asn1js.ObjectIdentifier)) fail('hashAlgorithm has no OID');
  const hashAlgorithm = HASH_BY_OID[oid.valueBlock.toString()];
  if (!hashAlgorithm) fail(`unsupported CertID hash algorithm ${oid.valueBlock.toString()}`);
  const issuerNameHash = octetString(nameHash, 'issuerNameHash');
  const issuerKeyHash = octetString(keyHash, 'issuerKeyHash');
  const size = OCSP_HASH_LENGTHS[hashAlgorithm];
  if (issuerNameHash.length !== size || issuerKeyHash.length !== size) fail(`CertID hash lengths do not match ${hashAlgorithm}`);
  if (!(serial instanceof asn1js.Integer) || serial.valueBlock.valueHexView.length === 0) fail('serialNumber is not an INTEGER');
  return {
    hashAlgorithm,
    issuerNameHash,
    issuerKeyHash,
    serialHex: integerHex(serial),
    der: Buffer.from(el!.valueBeforeDecodeView),
  };
}

function findNonce(extensions: asn1js.AsnType | undefined): Buffer | undefined {
  let nonce: Buffer | undefined;
  for (const ext of items(extensions, 'requestExtensions')) {
    const parts = items(ext, 'Extension');
    const [id] = parts;
    if (!(id instanceof asn1js.ObjectIdentifier)) fail('extension without OID');
    if (id.valueBlock.toString() !== OCSP_NONCE_OID) continue;
    if (nonce) fail('duplicate nonce extension');
    nonce = octetString(parts[parts.length - 1], 'nonce extnValue');
    if (nonce.length === 0) fail('empty nonce');
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
    const [tbs, signature, ...extra] = items(parseAsn1(der, 'OCSP request'), 'OCSPRequest');
    if (extra.length || (signature && !explicit(signature, 0))) fail('unexpected fields after tbsRequest');
    const fields = items(tbs, 'TBSRequest');
    let i = 0;
    const version = explicit(fields[i], 0);
    if (version) {
      if (!(version instanceof asn1js.Integer) || version.valueBlock.valueDec !== 0) fail('unsupported version');
      i++;
    }
    if (explicit(fields[i], 1)) i++; // requestorName
    const list = items(fields[i++], 'requestList');
    if (list.length === 0) fail('empty requestList');
    if (list.length > maxRequests) fail(`more than ${maxRequests} certificates requested`);
    const requests = list.map((req) => {
      const [certId, singleExtensions, ...rest] = items(req, 'Request');
      if (rest.length || (singleExtensions && !explicit(singleExtensions, 0))) fail('unexpected fields in Request');
      return parseCertId(certId);
    });
    const extensions = explicit(fields[i], 2);
    if (extensions) i++;
    if (i !== fields.length) fail('unexpected fields in TBSRequest');
    const nonce = extensions ? findNonce(extensions) : undefined;
    return nonce ? { requests, nonce } : { requests };
  } catch (err) {
    if (err instanceof OcspMalformedError) throw err;
    // parseAsn1's BadRequestError, or anything asn1js throws on hostile input.
    throw new OcspMalformedError('malformed OCSP request', err);
  }
}

