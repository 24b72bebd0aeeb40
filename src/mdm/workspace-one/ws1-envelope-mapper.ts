import { Ws1ProtocolError } from './ws1.errors';
import type { Ws1Device, Ws1DevicePage } from './ws1.types';

/**
 * Turns a device-search body of any API version into a `Ws1DevicePage`. v1/v2 use PascalCase
 * (`{Devices, Page, PageSize, Total}`, `Id: {Value}`), v3 snake_case (`{devices, page, page_size,
 * total}`); we detect by shape, not by the version we asked for, because tenants behind proxies
 * have been seen to ignore the Accept version.
 */
export function parseSearchEnvelope(body: unknown): Ws1DevicePage {
  if (body === null || typeof body !== 'object') throw new Ws1ProtocolError('device search answered a non-object body');
  const o = body as Record<string, unknown>;
  if (Array.isArray(o.Devices)) {
    return {
      page: num(o.Page, 0),
      pageSize: num(o.PageSize, o.Devices.length),
      total: num(o.Total, o.Devices.length),
      devices: o.Devices.map(mapPascalDevice),
    };
  }
  if (Array.isArray(o.devices)) {
    return {
      page: num(o.page, 0),
      pageSize: num(o.page_size, o.devices.length),
      total: num(o.total, o.devices.length),
      devices: o.devices.map(mapSnakeDevice),
    };
  }
  throw new Ws1ProtocolError('device search body has neither Devices nor devices');
}

/** One device of either casing (used by the single-device lookup too). */
export function parseDevice(body: unknown): Ws1Device {
  if (body === null || typeof body !== 'object') throw new Ws1ProtocolError('device lookup answered a non-object body');
  const o = body as Record<string, unknown>;
  return 'Udid' in o || 'SerialNumber' in o || 'Id' in o ? mapPascalDevice(o) : mapSnakeDevice(o);
}

function mapPascalDevice(raw: unknown): Ws1Device {
  const d = (raw ?? {}) as Record<string, unknown>;
  const id = d.Id as { Value?: unknown } | undefined;
  return {
    id: typeof id?.Value === 'number' ? id.Value : undefined,
    udid: str(d.Udid),
    serialNumber: str(d.SerialNumber),
    macAddress: str(d.MacAddress),
    imei: str(d.Imei),
    friendlyName: str(d.DeviceFriendlyName),
    platform: str(d.Platform),
    model: str(d.Model),
    operatingSystem: str(d.OperatingSystem),
    userName: str(d.UserName),
    userEmail: str(d.UserEmailAddress),
    enrollmentStatus: str(d.EnrollmentStatus),
    lastSeen: parseWs1Date(d.LastSeen),
  };
}

function mapSnakeDevice(raw: unknown): Ws1Device {
  const d = (raw ?? {}) as Record<string, unknown>;
  return {
    id: typeof d.id === 'number' ? d.id : undefined,
    udid: str(d.udid),
    serialNumber: str(d.serial_number),
    macAddress: str(d.mac_address),
    imei: str(d.imei),
    friendlyName: str(d.device_friendly_name),
    platform: str(d.platform),
    model: str(d.model),
    operatingSystem: str(d.operating_system),
    userName: str(d.user_name),
    userEmail: str(d.user_email_address),
    enrollmentStatus: str(d.enrollment_status),
    lastSeen: parseWs1Date(d.last_seen),
  };
}

const HAS_ZONE = /(Z|[+-]\d\d:?\d\d)$/i;

/** WS1 writes timestamps without a zone; they are UTC. Unparseable values become undefined. */
export function parseWs1Date(value: unknown): Date | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const d = new Date(HAS_ZONE.test(value) ? value : `${value}Z`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** The inverse: ISO 8601 in UTC without the `Z`, as WS1 writes it. */
export function formatWs1Date(date: Date): string {
  return date.toISOString().slice(0, -1);
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}
