/**
 * Rows and filters of the certificate, device and WS1 inventory lists (CLI and admin API). Times
 * in rows are ISO 8601 strings (UTC): a list is read to be written out, and a million Date objects
 * made only to be formatted again cost an export more than its quoting.
 */

export const CERTIFICATE_STATUSES = ['valid', 'revoked', 'expired', 'superseded'] as const;
export type CertificateListStatus = (typeof CERTIFICATE_STATUSES)[number];

export const DEVICE_TRUST = ['trusted', 'revoked', 'expired'] as const;
export type DeviceTrust = (typeof DEVICE_TRUST)[number];

/** The sort order a certificate list walks: chosen by the filters so each walks one index. */
export const CERTIFICATE_ORDERS = ['id', 'notAfter', 'device'] as const;
export type CertificateOrder = (typeof CERTIFICATE_ORDERS)[number];

/** Sort direction of a list: every order walks its index either way. */
export const SORT_DIRECTIONS = ['asc', 'desc'] as const;
export type SortDirection = (typeof SORT_DIRECTIONS)[number];

export interface CertificateFilter {
  integrationId?: string;
  /** valid includes superseded ones (still usable until they expire), as `cert revoke` counts them */
  status?: CertificateListStatus;
  /** device id prefix (byte-wise, case-sensitive) */
  devicePrefix?: string;
  /** notAfter strictly before this time (not revoked ones only when combined with status) */
  expiringBefore?: Date;
}

export interface CertificateListItem {
  id: number;
  serial: string;
  subject: string;
  status: CertificateListStatus;
  notBefore: string;
  notAfter: string;
  integrationId: string | null;
  deviceId: string | null;
  revokedAt: string | null;
  reason: string | null;
  lastSeenAt: string | null;
}

export interface DeviceFilter {
  integrationId?: string;
  devicePrefix?: string;
  trust?: DeviceTrust;
}

/** A device as its certificates show it: one (integration, device id) pair. */
export interface DeviceListItem {
  integrationId: string;
  deviceId: string;
  certificates: number;
  validCertificates: number;
  revokedCertificates: number;
  latestSerial: string | null;
  /** trusted: at least one unrevoked, unexpired certificate; revoked: none, and one revoked; expired: all expired */
  trust: DeviceTrust;
  lastSeenAt: string | null;
}

export interface InventoryFilter {
  integrationId?: string;
  platform?: string;
  enrollmentStatus?: string;
  /** UDID prefix (case-insensitive) */
  devicePrefix?: string;
}

export interface InventoryListItem {
  integrationId: string;
  udid: string;
  /** the lower-case UDID the inventory is keyed and ordered by */
  udidNorm: string;
  serialNumber: string | null;
  macAddress: string | null;
  imei: string | null;
  platform: string;
  enrollmentStatus: string;
  userName: string | null;
  lastSeen: string | null;
  syncedAt: string;
}

export interface Page<T> {
  items: T[];
  /** null on the last page */
  nextCursor: string | null;
}
