import { normalizeIdentifier } from '../mdm/workspace-one/inventory-store.ports';
import type { AtRiskReason, DeviceReadiness, LegacyCertificate, ReadinessReport, ReadinessSource } from './migration.types';

/** What WS1 says about one device (keyed by normalized UDID). */
export interface Ws1DeviceFacts {
  enrollmentStatus: string;
  userName?: string;
}

/** Devices holding valid legacy certificates, one entry per UDID, in UDID order. */
export function devicesOf(certs: readonly LegacyCertificate[]): Omit<DeviceReadiness, 'ready'>[] {
  const byUdid = new Map<string, Omit<DeviceReadiness, 'ready'>>();
  for (const c of certs) {
    const d = byUdid.get(c.deviceId);
    if (!d) byUdid.set(c.deviceId, { udid: c.deviceId, serials: [c.serial], notAfter: c.notAfter });
    else {
      d.serials.push(c.serial);
      if (c.notAfter > d.notAfter) d.notAfter = c.notAfter;
    }
  }
  return [...byUdid.values()].sort((a, b) => (a.udid < b.udid ? -1 : a.udid > b.udid ? 1 : 0));
}

/**
 * Readiness against a live WS1 device search: a device is ready when WS1 knows its UDID and it is
 * enrolled (only enrolled devices are managed, so only they will pass the identifier check).
 */
export function readinessFromLive(certs: readonly LegacyCertificate[], ws1: ReadonlyMap<string, Ws1DeviceFacts>, at: Date): ReadinessReport {
  return report(
    'ws1-live',
    at,
    devicesOf(certs).map((d) => {
      const w = ws1.get(normalizeIdentifier(d.udid));
      const facts = w ? { ws1EnrollmentStatus: w.enrollmentStatus, ...(w.userName ? { ws1User: w.userName } : {}) } : {};
      if (!w) return { ...d, ready: false, reason: 'not-in-ws1' as const };
      return w.enrollmentStatus === 'Enrolled' ? { ...d, ...facts, ready: true } : { ...d, ...facts, ready: false, reason: 'not-enrolled' as const };
    }),
  );
}

/**
 * Readiness against the App Config integration's synced inventory, which is exactly what the
 * identifier check consults at login. `live` (optional) explains why the others are missing.
 */
export function readinessFromSync(
  certs: readonly LegacyCertificate[],
  synced: ReadonlySet<string>,
  at: Date,
  live?: ReadonlyMap<string, Ws1DeviceFacts>,
): ReadinessReport {
  return report(
    'ws1-sync',
    at,
    devicesOf(certs).map((d) => {
      const key = normalizeIdentifier(d.udid);
      if (synced.has(key)) return { ...d, ready: true, ws1EnrollmentStatus: 'Enrolled' };
      const w = live?.get(key);
      const reason: AtRiskReason = !live || !w ? (live ? 'not-in-ws1' : 'not-synced') : w.enrollmentStatus === 'Enrolled' ? 'not-synced' : 'not-enrolled';
      return { ...d, ready: false, reason, ...(w ? { ws1EnrollmentStatus: w.enrollmentStatus } : {}), ...(w?.userName ? { ws1User: w.userName } : {}) };
    }),
  );
}

function report(source: ReadinessSource, at: Date, devices: DeviceReadiness[]): ReadinessReport {
  const byReason: Partial<Record<AtRiskReason, number>> = {};
  let ready = 0;
  for (const d of devices) {
    if (d.ready) ready++;
    else byReason[d.reason!] = (byReason[d.reason!] ?? 0) + 1;
  }
  const total = devices.length;
  return { source, at, total, ready, atRisk: total - ready, percentReady: percent(ready, total), byReason, devices };
}

/** Rounded down to one decimal, so 94.99 % never shows as 95 % and passes a 95 % threshold by rounding. */
export function percent(ready: number, total: number): number {
  return total === 0 ? 100 : Math.floor((ready * 1000) / total) / 10;
}
