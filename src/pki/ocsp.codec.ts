/**
 * OCSP (RFC 6960) codec: request parsing in ocsp-request.codec.ts, response building in
 * ocsp-response.codec.ts. This module is the entry point the CA service imports.
 */
import { createHash } from 'node:crypto';
import { readCertificateFields } from './certificate';
import { normalizeSerialHex } from '../shared/bytes';
import type { OcspCertId, OcspHashAlgorithm } from './ocsp-request.codec';

export {
  OcspMalformedError,
  OCSP_HASH_LENGTHS,
  OCSP_HASH_OIDS,
  OCSP_NONCE_OID,
  parseOcspRequest,
  type OcspCertId,
  type OcspHashAlgorithm,
  type OcspRequestInfo,
  type ParseOcspRequestOptions,
} from './ocsp-request.codec';
export {
  OCSP_RESPONSE_STATUS,
  buildOcspError,
  buildOcspResponse,
  encodeCertId,
  issuerMatches,
  type BuildOcspResponseInput,
  type OcspCertStatus,
  type OcspErrorStatus,
  type OcspSingleResponse,
} from './ocsp-response.codec';

/** The CertID a client would send for certificate `serialHex` issued by `issuerCertDer`. */
export function certIdFor(issuerCertDer: Uint8Array, serialHex: string, hashAlgorithm: OcspHashAlgorithm = 'sha1'): OcspCertId {
  const issuer = readCertificateFields(issuerCertDer);
  const hash = (data: Buffer): Buffer => createHash(hashAlgorithm).update(data).digest();
  return {
    hashAlgorithm,
    issuerNameHash: hash(issuer.subjectDer),
    issuerKeyHash: hash(issuer.publicKeyBits),
    serialHex: normalizeSerialHex(serialHex),
  };
}
