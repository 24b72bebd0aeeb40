import { createHash } from 'node:crypto';
import type { SigningKey } from './private-key';
import { readCertificateFields } from './certificate';
import {
  DER_NULL,
  derEnumerated,
  derExplicit,
  derExtension,
  derGeneralizedTime,
  derIntegerFromHex,
  derOctetString,
  derOid,
  derSequence,
  tlv,
  tlvOf,
} from './der-writer';
import { OCSP_HASH_OIDS, OCSP_NONCE_OID, type OcspCertId } from './ocsp-request.codec';
import { revocationReasonCode, type RevocationReason } from './revocation-reason';
import { signStructure } from './signed-structure';

/** id-pkix-ocsp-basic */
const OCSP_BASIC_OID = '1.3.6.1.5.5.7.48.1.1';

/** OCSPResponseStatus (RFC 6960 4.2.1); 4 is not used. */
export const OCSP_RESPONSE_STATUS = {
  successful: 0,
  malformedRequest: 1,
  internalError: 2,
  tryLater: 3,
  sigRequired: 5,
  unauthorized: 6,
} as const;
export type OcspErrorStatus = 'malformedRequest' | 'internalError' | 'tryLater' | 'unauthorized';

export type OcspCertStatus = 'good' | 'unknown' | { revokedAt: Date; reason: RevocationReason };

export interface OcspSingleResponse {
  certId: OcspCertId;
  status: OcspCertStatus;
  thisUpdate: Date;
  nextUpdate?: Date;
}

export interface BuildOcspResponseInput {
  /** The signer: the CA itself or a delegated responder certificate it issued (EKU OCSPSigning). */
  responderCertDer: Uint8Array;
  responderKey: SigningKey;
  /** The CA the answers are about; `good` and `revoked` answers must carry its CertID hashes. */
  issuerCertDer: Uint8Array;
  /** Put in BasicOCSPResponse.certs; a delegated responder's certificate belongs here. */
  extraCerts?: Uint8Array[];
  responses: OcspSingleResponse[];
  /** The request's nonce (extnValue octets), echoed verbatim. */
  nonce?: Buffer;
  producedAt: Date;
  /** ResponderID byKey (SHA-1 of the responder's public key) instead of byName. */
  responderIdByKey?: boolean;
}

/** OCSPResponse without responseBytes: the whole answer for the error statuses. */
export function buildOcspError(status: OcspErrorStatus): Buffer {
  const code: number | undefined = OCSP_RESPONSE_STATUS[status];
  if (code === undefined || code === 0) throw new RangeError(`not an OCSP error status: ${String(status)}`);
  return derSequence(derEnumerated(code));
}

export function encodeCertId(certId: OcspCertId): Buffer {
  if (certId.der) return certId.der;
  return derSequence(
    derSequence(derOid(OCSP_HASH_OIDS[certId.hashAlgorithm]), DER_NULL),
    derOctetString(certId.issuerNameHash),
    derOctetString(certId.issuerKeyHash),
    derIntegerFromHex(certId.serialHex),
  );
}

function encodeStatus(status: OcspCertStatus): Buffer {
  if (status === 'good') return Buffer.from([0x80, 0x00]); // [0] IMPLICIT NULL
  if (status === 'unknown') return Buffer.from([0x82, 0x00]); // [2] IMPLICIT UnknownInfo (NULL)
  // revoked [1] IMPLICIT RevokedInfo { revocationTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL };
  // like the CRL, leave the reason out rather than say "unspecified".
  const time = derGeneralizedTime(status.revokedAt);
  return status.reason === 'unspecified' ? tlv(0xa1, time) : tlv(0xa1, time, derExplicit(0, derEnumerated(revocationReasonCode(status.reason))));
}

/** Whether `certId` names the CA in `issuerCertDer` (issuerNameHash and issuerKeyHash both match). */
export function issuerMatches(certId: OcspCertId, issuerCertDer: Uint8Array): boolean {
  const issuer = readCertificateFields(issuerCertDer);
  const hash = (data: Buffer): Buffer => createHash(certId.hashAlgorithm).update(data).digest();
  return hash(issuer.subjectDer).equals(certId.issuerNameHash) && hash(issuer.publicKeyBits).equals(certId.issuerKeyHash);
}

function encodeSingleResponse(r: OcspSingleResponse): Buffer {
  if (r.nextUpdate && r.nextUpdate.getTime() < r.thisUpdate.getTime()) throw new RangeError('nextUpdate before thisUpdate');
  const parts = [encodeCertId(r.certId), encodeStatus(r.status), derGeneralizedTime(r.thisUpdate)];
  if (r.nextUpdate) parts.push(derExplicit(0, derGeneralizedTime(r.nextUpdate)));
  return tlvOf(0x30, parts);
}

/**
 * A successful OCSPResponse carrying a BasicOCSPResponse (RFC 6960 4.2.1) signed with SHA-256 by
 * `responderKey`. Good and revoked answers are refused for a CertID that does not name
 * `issuerCertDer`: the caller must answer `unknown` (or `unauthorized`) for other CAs' certificates.
 */
export async function buildOcspResponse(input: BuildOcspResponseInput): Promise<Buffer> {
  if (input.responses.length === 0) throw new RangeError('an OCSP response needs at least one SingleResponse');
  for (const r of input.responses) {
    if (r.status !== 'unknown' && !issuerMatches(r.certId, input.issuerCertDer)) {
      throw new RangeError(`certificate ${r.certId.serialHex} is not from this issuer; answer "unknown"`);
    }
  }
  const responder = readCertificateFields(input.responderCertDer);
  // ResponderID ::= CHOICE { byName [1] Name, byKey [2] KeyHash } (explicitly tagged)
  const responderId = input.responderIdByKey
    ? derExplicit(2, derOctetString(createHash('sha1').update(responder.publicKeyBits).digest()))
    : derExplicit(1, responder.subjectDer);
  const fields = [responderId, derGeneralizedTime(input.producedAt), tlvOf(0x30, input.responses.map(encodeSingleResponse))];
  if (input.nonce) fields.push(derExplicit(1, derSequence(derExtension(OCSP_NONCE_OID, input.nonce))));
  const tbsResponseData = tlvOf(0x30, fields);

  const certs = input.extraCerts?.length ? [derExplicit(0, tlvOf(0x30, input.extraCerts))] : [];
  const basic = await signStructure(tbsResponseData, input.responderKey, certs);
  return derSequence(derEnumerated(OCSP_RESPONSE_STATUS.successful), derExplicit(0, derSequence(derOid(OCSP_BASIC_OID), derOctetString(basic))));
}
