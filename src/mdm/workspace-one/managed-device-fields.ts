import { hasUnprintable } from '../../shared/printable-text';
import { normalizeIdentifier } from './inventory-store.ports';
import type { ManagedDevice } from './ws1.types';

/** The lengths of the inventory's identifier columns (ws1_devices), raw and normalized. */
const IDENTIFIER_MAX = { udid: 256, serialNumber: 128, macAddress: 64, imei: 64 } as const;
const IDENTIFIERS = Object.keys(IDENTIFIER_MAX) as (keyof typeof IDENTIFIER_MAX)[];

/**
 * Whether a device's identifiers can be stored as WS1 sent them. Identifiers are matched at trust
 * checks and shown in the console: one holding a control, bidirectional or invisible character
 * could pass for another device on screen, and one longer than its column would be cut and merge
 * with another device. Such a device is skipped, never stored altered.
 */
export function hasStorableIdentifiers(d: ManagedDevice): boolean {
  if (normalizeIdentifier(d.udid) === '') return false;
  return IDENTIFIERS.every((k) => {
    const v = d[k];
    if (!v) return true;
    const max = IDENTIFIER_MAX[k];
    return v.length <= max && normalizeIdentifier(v).length <= max && !hasUnprintable(v);
  });
}

/** Display-only text (user name, platform): kept, with each unprintable character shown as U+FFFD. */
export function displayText(s: string): string {
  return hasUnprintable(s) ? Array.from(s, (c) => (hasUnprintable(c) ? '\uFFFD' : c)).join('') : s;
}
