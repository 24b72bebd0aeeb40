import { ParsedCertificate } from '../pki/certificate';
import { ParsedCsr } from '../pki/csr';
import { CertificateProfile } from '../ca/certificate-authority';
import { FailInfo, MessageType, PkiStatus } from './scep.types';
import type { SubjectRules } from './subject-policy';

/**
 * Checks a challengePassword without using it up; the issuing transaction redeems `challengeId`.
 * `deviceId`: the challenge was minted for that device and issues for no other. `guess`: the
 * password matches no challenge at all (not a used or expired one): what guessing looks like, so
 * the SCEP listener counts it against the client's address.
 */
export interface ChallengeVerifier {
  precheck(password: string | undefined): Promise<{ ok: true; challengeId?: string; deviceId?: string } | { ok: false; reason: string; guess?: boolean }>;
}

/** What an endpoint issues for a CSR; throws ScepFailure to refuse. */
export interface EnrollmentPolicy {
  /** `renewing`: the certificate a renewal replaces (a policy may require the same device) */
  evaluate(csr: ParsedCsr, renewing?: StoredCertificate): { profile: CertificateProfile; deviceId?: string };
  /** RenewalReq (or PKCSReq signed by our certificate): may `current` be renewed now? throws ScepFailure if not */
  checkRenewal(current: StoredCertificate, now: Date): void;
}

/** A SCEP endpoint: the default `/scep`, or one per integration. */
export interface ScepEndpoint {
  id: string;
  integrationId?: string;
  verifier: ChallengeVerifier;
  policy: EnrollmentPolicy;
  /** attribute types a CSR subject may carry (default: DEFAULT_SUBJECT_RULES) */
  subjectRules?: SubjectRules;
}

export interface StoredTransaction {
  publicKeyHash: string;
  pkiStatus: PkiStatus;
  failInfo?: FailInfo;
  failText?: string;
  certificateSerial?: string;
}

export type CertificateStatus = 'valid' | 'revoked' | 'superseded';

export interface StoredCertificate {
  serial: string;
  der: Buffer;
  status: CertificateStatus;
  notAfter: Date;
  integrationId: string | null;
  deviceId: string | null;
}

export interface IssuanceRecord {
  endpointId: string;
  integrationId?: string;
  deviceId?: string;
  transactionId: string;
  messageType: MessageType;
  certificate: ParsedCertificate;
  publicKeyHash: string;
  challengeId?: string;
  /** serials this certificate replaces (re-enrollment signed by the old certificate): superseded if still valid */
  supersedes?: string[];
  /**
   * the serial a challenge-less renewal replaces: it must still be valid and never renewed before,
   * checked and superseded in the same transaction (else 'already-renewed' and nothing is written)
   */
  renews?: string;
  /** the CA generation that signed `certificate` (default 1, the first CA) */
  caGeneration?: number;
}

export type IssuanceOutcome = 'issued' | 'duplicate-transaction' | 'challenge-used' | 'already-renewed';
