export const INTEGRATION_TYPES = ['windows', 'macos', 'android', 'ios', 'ios-certs'] as const;
export type IntegrationType = (typeof INTEGRATION_TYPES)[number];

export const INTEGRATION_STATUSES = ['disabled', 'test-group', 'all'] as const;
export type IntegrationStatus = (typeof INTEGRATION_STATUSES)[number];

/** The legacy certificate integration's end-of-life notice, printed when one is created. */
export const IOS_CERTS_EOL_NOTICE =
  'The "Certs for iOS" certificate integration is end of life: new certificate integrations closed in October 2021 ' +
  'and certificate-based verification ended on 7 October 2024. Migrate devices to the iOS (App Config) integration. ' +
  'Pass --allow-legacy (API: "allowLegacy": true) to create one anyway, e.g. to run a migration.';

/** What WS1 must be told for an ios-certs integration (its "Certificate Template" form). */
export const IOS_CERTS_TEMPLATE = {
  privateKeyLength: 2048,
  privateKeyType: 'Signing',
  autoRenewalPeriodDays: 14,
} as const;

export const DEVICE_UID_PLACEHOLDER = '{DeviceUid}';

export function defaultSubjectTemplate(integrationId: string): string {
  return `CN=${DEVICE_UID_PLACEHOLDER},OU=${integrationId}`;
}

export interface Integration {
  id: string;
  name: string;
  type: IntegrationType;
  status: IntegrationStatus;
  /** the user group a `test-group` status is limited to */
  groupName: string | null;
  /** ios-certs only */
  subjectTemplate: string | null;
  challengeUsername: string | null;
  challengePasswordHash: string | null;
  /** after a rotation with a grace period: the old password, accepted until previousChallengePasswordUntil */
  previousChallengePasswordHash?: string | null;
  previousChallengePasswordUntil?: Date | null;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
}

export function isIntegrationType(v: unknown): v is IntegrationType {
  return typeof v === 'string' && (INTEGRATION_TYPES as readonly string[]).includes(v);
}

export function isIntegrationStatus(v: unknown): v is IntegrationStatus {
  return typeof v === 'string' && (INTEGRATION_STATUSES as readonly string[]).includes(v);
}
