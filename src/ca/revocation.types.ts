import type { AuditRecord } from '../admin/audit.types';
import type { RevocationReason } from '../pki/revocation-reason';

/** One revoked certificate, as the CRL and the OCSP responder need it. */
export interface RevokedEntry {
  serialHex: string;
  revokedAt: Date;
  reason: RevocationReason;
  /** once past it, left off the CRL, still "revoked" over OCSP */
  notAfter: Date;
  /** the CA generation that issued it: its CRL lists it */
  generation: number;
}

export type SerialRevocation =
  { outcome: 'revoked' | 'already-revoked'; serial: string; revokedAt: Date; reason: RevocationReason } | { outcome: 'not-found'; serial: string };

/** The revision counter, and the CRL state of each CA generation (crl_state row id = generation). */
export interface RevocationStateRow {
  revision: number;
  crls: Map<number, CrlStateFields>;
}

export interface CrlStateFields {
  crlNumber: bigint;
  crlRevision: number;
  issuerKeyId: string | null;
  thisUpdate: Date | null;
  nextUpdate: Date | null;
}

export interface IssuedStatus {
  generation: number;
  revokedAt: Date | null;
  reason: RevocationReason | null;
}

export interface StoredCrl {
  der: Buffer;
  crlNumber: bigint;
  /** the revision it covers */
  revision: number;
  issuerKeyId: string;
  thisUpdate: Date;
  nextUpdate: Date;
}

/** The audit record for a change that revoked `count` certificates (written in its transaction); none when 0. */
export type AuditFor = (count: number) => AuditRecord;
