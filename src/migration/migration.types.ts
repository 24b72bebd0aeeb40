import type { IntegrationStatus } from '../integrations/integration.types';

/**
 * One legacy (ios-certs) integration's way to App Config:
 * planned -> applied -> verified -> cut-over -> finalized, or rolled-back before finalize.
 */
export const MIGRATION_STATES = ['planned', 'applied', 'verified', 'cut-over', 'finalized', 'rolled-back'] as const;
export type MigrationState = (typeof MIGRATION_STATES)[number];

export const MIGRATION_STEPS = ['plan', 'apply', 'verify', 'cutover', 'finalize', 'rollback'] as const;
export type MigrationStep = (typeof MIGRATION_STEPS)[number];

/** Certificate-based verification at Duo ended on this day. */
export const CERTIFICATE_TRUST_END = new Date('2024-10-07T00:00:00Z');

export const DEFAULT_MIN_READY_PERCENT = 95;
export const DEFAULT_GRACE_DAYS = 14;
/** a valid certificate expiring within this many days counts as "expiring" in `migrate status` */
export const EXPIRING_WITHIN_DAYS = 30;

/** The persisted state of one migration (table legacy_migrations). */
export interface MigrationRecord {
  legacyId: string;
  state: MigrationState;
  /** 1, then +1 each time a rolled-back migration is planned again */
  attempt: number;
  /** the App Config (ios) integration made by apply; kept after a rollback and reused */
  appConfigId: string | null;
  /** the WS1 integration whose settings plan/apply used (--ws1-from), if any */
  ws1SourceId: string | null;
  /** the legacy integration's status and group before cutover (what rollback restores) */
  previousStatus: IntegrationStatus | null;
  previousGroup: string | null;
  /** the latest readiness figures */
  devicesTotal: number | null;
  devicesReady: number | null;
  readinessSource: ReadinessSource | null;
  readinessAt: Date | null;
  revokedCount: number | null;
  plannedAt: Date | null;
  appliedAt: Date | null;
  verifiedAt: Date | null;
  cutoverAt: Date | null;
  finalizedAt: Date | null;
  rolledBackAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** `ws1-live`: a WS1 device search made for this step; `ws1-sync`: the App Config integration's synced inventory. */
export type ReadinessSource = 'ws1-live' | 'ws1-sync';

export type AtRiskReason = 'not-in-ws1' | 'not-enrolled' | 'not-synced';

export const AT_RISK_TEXT: Record<AtRiskReason, string> = {
  'not-in-ws1': 'not in the WS1 inventory of managed iOS devices',
  'not-enrolled': 'in WS1 but not enrolled',
  'not-synced': 'not among the managed devices of the last WS1 sync of the App Config integration',
};

/** One device holding a valid legacy certificate (UDID = the certificate's device id). */
export interface DeviceReadiness {
  udid: string;
  /** its valid legacy certificates */
  serials: string[];
  /** when its last legacy certificate expires */
  notAfter: Date;
  ready: boolean;
  reason?: AtRiskReason;
  /** WS1's enrollment status, when WS1 knows the device */
  ws1EnrollmentStatus?: string;
  ws1User?: string;
}

export interface ReadinessReport {
  source: ReadinessSource;
  at: Date;
  total: number;
  ready: number;
  atRisk: number;
  /** 100 when there is no device at all (nobody can be locked out) */
  percentReady: number;
  byReason: Partial<Record<AtRiskReason, number>>;
  devices: DeviceReadiness[];
}

/** A valid (unrevoked, unexpired) certificate of the legacy integration. */
export interface LegacyCertificate {
  serial: string;
  deviceId: string;
  notAfter: Date;
}

export interface CertificateCounts {
  valid: number;
  expiring: number;
  revoked: number;
  expired: number;
  /** distinct devices holding a valid certificate */
  devices: number;
}
