import type { CertificateListItem, DeviceListItem, InventoryListItem } from './list.types';

/** JSON shapes of list rows (CLI --json and admin API) and the CSV columns of their exports. */
/** A certificate row is its JSON already (times as ISO strings). */
export function certificateItemJson(c: CertificateListItem) {
  return c;
}

export function deviceItemJson(d: DeviceListItem) {
  return d;
}

export function inventoryItemJson(d: InventoryListItem) {
  const { udidNorm: _sortKey, ...rest } = d; // the sort key, not shown
  return rest;
}

/** CSV columns: the JSON keys, in this order. */
export const CSV_COLUMNS = {
  certificates: ['serial', 'subject', 'status', 'integrationId', 'deviceId', 'notBefore', 'notAfter', 'revokedAt', 'reason', 'lastSeenAt', 'id'],
  devices: ['integrationId', 'deviceId', 'trust', 'certificates', 'validCertificates', 'revokedCertificates', 'latestSerial', 'lastSeenAt'],
  inventory: ['integrationId', 'udid', 'platform', 'enrollmentStatus', 'serialNumber', 'macAddress', 'imei', 'userName', 'lastSeen', 'syncedAt'],
} as const;

export const ITEM_JSON = {
  certificates: (i: unknown) => certificateItemJson(i as CertificateListItem),
  devices: (i: unknown) => deviceItemJson(i as DeviceListItem),
  inventory: (i: unknown) => inventoryItemJson(i as InventoryListItem),
};
