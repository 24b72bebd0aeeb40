import type { AuditRecord } from '../admin/audit.types';
import type { CertificateStatus } from '../scep/scep.ports';
import type { AuthLogEntry, AuthLogQuery, AuthLogRecord, TrustIntegration, TrustPolicy } from './trust.types';

/**
 * Ports of the device-trust module: the stores with test doubles, implemented in db/, and the two read
 * ports, which the trust module's build function adapts the integration and revocation modules to,
 * so this module's checks use neither their classes nor TypeORM.
 */

/** Integrations and test-group membership, as the trust check reads them. */
export interface IntegrationDirectory {
  /** every integration, deleted ones included (a deleted one explains why a certificate stopped working) */
  listIntegrations(): Promise<TrustIntegration[]>;
  isMember(group: string, user: string): Promise<boolean>;
  /** App Config: the integration whose Trusted Endpoints Configuration Key this is (the App Config key store) */
  integrationForConfigurationKey(key: string): Promise<string | undefined>;
}

/** The revocation state this process keeps in memory (the CA's RevocationView). */
export interface RevocationCheck {
  /** null when not revoked; at most one poll interval behind the database */
  revocationOf(serialHex: string): Promise<{ revokedAt: Date } | null>;
}

/** A certificate we issued, as recorded at issuance. */
export interface IssuedCertificate {
  serial: string;
  fingerprintSha256: string;
  integrationId: string | null;
  deviceId: string | null;
}

/** A device's certificate for `scepter device show`. */
export interface DeviceCertificate extends IssuedCertificate {
  subject: string;
  status: CertificateStatus;
  notBefore: Date;
  notAfter: Date;
  revokedAt: Date | null;
  lastSeenAt: Date | null;
}

export interface StoredPolicy {
  /** null: the global policy */
  application: string | null;
  policy: TrustPolicy;
  updatedAt: Date;
}

export interface TrustPolicyStore {
  listPolicies(): Promise<StoredPolicy[]>;
  /** upsert; the audit record is written in the same transaction */
  setPolicy(application: string | null, policy: TrustPolicy, now: Date, audit: AuditRecord): Promise<void>;
  /** removes one application's override; false (nothing written) when it has none */
  removePolicy(application: string, audit: AuditRecord): Promise<boolean>;
}

export interface AuthLogStore {
  /** one multi-row insert */
  insertMany(records: readonly AuthLogRecord[]): Promise<void>;
  list(q: AuthLogQuery): Promise<AuthLogEntry[]>;
  lastForDevice(deviceId: string): Promise<AuthLogEntry | undefined>;
}
