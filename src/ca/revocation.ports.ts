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

/**
 * Persistence for revocation, implemented in db/. Each revoking method is one database transaction
 * that also bumps the revision, so a poll of readState() sees every change made by any process.
 */
export interface RevocationStore {
  revokeSerial(serialHex: string, reason: RevocationReason, now: Date, audit?: AuditFor): Promise<SerialRevocation>;
  /** every unexpired, unrevoked certificate of one device; `matched` counts all its certificates */
  revokeDevice(integrationId: string, deviceId: string, reason: RevocationReason, now: Date, audit?: AuditFor): Promise<{ matched: number; revoked: number }>;
  revokeIntegration(integrationId: string, reason: RevocationReason, now: Date, audit?: AuditFor): Promise<number>;
  /** what revokeIntegration would revoke now: unexpired, unrevoked certificates and their devices */
  countRevocable(integrationId: string, now: Date): Promise<{ certificates: number; devices: number }>;
  readState(): Promise<RevocationStateRow>;
  /**
   * Revoked certificates (expired ones too): all, or those revoked after revision `since`; and the
   * revision they are at least as new as.
   */
  loadRevoked(since?: number): Promise<{ revision: number; entries: RevokedEntry[] }>;
  /** the CRL stored for CA generation `generation` */
  loadCrl(generation: number): Promise<StoredCrl | undefined>;
  /** stores `crl` only if the stored CRL number is still `previousNumber` (false: another instance won) */
  storeCrl(generation: number, previousNumber: bigint, crl: StoredCrl, now: Date): Promise<boolean>;
  /** which of `serials` we issued (absent: never), with the revocation if the database already has one */
  findIssued(serials: string[]): Promise<Map<string, IssuedStatus>>;
}

/**
 * Bulk revocation inside a transaction the caller already holds (integration deletion). `tx` is the
 * transaction handle db/ hands out; this module never looks inside it.
 */
export type BulkRevocation = (tx: unknown, integrationId: string, reason: RevocationReason, now: Date) => Promise<number>;
