import type { IntegrationStatus, IntegrationType } from '../integrations/integration.types';

export const TRUST_POLICIES = ['allow-all', 'require-trusted', 'not-configured'] as const;
/** allow-all: checked and logged, everyone passes; require-trusted: untrusted denied; not-configured: no check */
export type TrustPolicy = (typeof TRUST_POLICIES)[number];

export function isTrustPolicy(v: unknown): v is TrustPolicy {
  return typeof v === 'string' && (TRUST_POLICIES as readonly string[]).includes(v);
}

/** Why a device is (not) trusted; `trusted` is the only reason that goes with trusted = true. */
export type TrustReason =
  | 'trusted'
  | 'not-checked'
  | 'no-certificate'
  | 'unknown-issuer'
  | 'malformed-certificate'
  | 'not-yet-valid'
  | 'expired'
  | 'unknown-certificate'
  | 'revoked'
  | 'no-integration'
  | 'integration-deleted'
  | 'integration-disabled'
  | 'user-not-in-test-group'
  | 'no-active-integration'
  | 'device-not-found'
  | 'configuration-key-mismatch';

export type Decision = 'allow' | 'deny';

/** How the device proved itself (or did not). */
export type TrustMethod = 'certificate' | 'identifier' | 'none';

/** Where the certificate came from: the TLS handshake, or a trusted proxy's header. */
export type CertificateSource = 'tls' | 'proxy-header';

/** What the trust evaluation needs to know about an integration. */
export interface TrustIntegration {
  id: string;
  type: IntegrationType;
  status: IntegrationStatus;
  groupName: string | null;
  deleted: boolean;
}

export interface TrustVerdict {
  trusted: boolean;
  reason: TrustReason;
  method: TrustMethod;
  integration?: string;
  device?: string;
  serial?: string;
}

/** The answer of `GET|POST /v1/device-trust`; HTTP 200 for allow, 403 for deny. */
export interface TrustAnswer extends TrustVerdict {
  decision: Decision;
  policy: TrustPolicy;
  user: string;
  application: string | null;
}

/** One line of the authentication log. */
export interface AuthLogRecord {
  at: Date;
  user: string;
  application: string | null;
  decision: Decision;
  trusted: boolean;
  reason: TrustReason;
  policy: TrustPolicy;
  method: TrustMethod;
  integration: string | null;
  device: string | null;
  serial: string | null;
  sourceAddress: string;
  /** e.g. `spoofed-certificate-header` when a header came from an untrusted address */
  note: string | null;
}

export interface AuthLogEntry extends AuthLogRecord {
  id: number;
}

export interface AuthLogQuery {
  user?: string;
  device?: string;
  since?: Date;
  limit: number;
}
