import { Ws1ProtocolError } from './ws1.errors';
import type { Ws1Device, Ws1DevicePage } from './ws1.types';

/**
 * Turns a device-search body of any API version into a `Ws1DevicePage`. v1/v2 use PascalCase
 * (`{Devices, Page, PageSize, Total}`, `Id: {Value}`), v3 snake_case (`{devices, page, page_size,
 * total}`); we detect by shape, not by the version we asked for, because tenants behind proxies
 * have been seen to ignore the Accept version. A page must hold at most `maxDevices` devices (the
 * page size asked for), each a JSON object: the count is checked before anything is mapped, so an
 * oversized list costs no more than its parse, and a list of non-objects cannot pass for a page of
 * devices without identifiers (which would empty the inventory).
 */
export function parseSearchEnvelope(body: unknown, maxDevices: number): Ws1DevicePage {
  if (!isObject(body)) throw new Ws1ProtocolError('device search answered a body that is not a JSON object');
  const pascal = 'Devices' in body;
  const list = pascal ? body.Devices : body.devices;
  if (list === undefined) throw new Ws1ProtocolError('device search body has neither Devices nor devices');
  if (!Array.isArray(list)) throw new Ws1ProtocolError('device search body has a device list that is not an array');
  if (list.length > maxDevices) {
    throw new Ws1ProtocolError(`device search answered ${list.length} devices on one page, more than the ${maxDevices} asked for`);
  }
  if (!list.every(isObject)) throw new Ws1ProtocolError('device search body has a device list with entries that are not objects');
  return pascal
    ? { page: num(body.Page, 0), pageSize: num(body.PageSize, list.length), total: num(body.Total, list.length), devices: list.map(mapPascalDevice) }
    : { page: num(body.page, 0), pageSize: num(body.page_size, list.length), total: num(body.total, list.length), devices: list.map(mapSnakeDevice) };
}

/** One device of either casing (used by the single-device lookup too). */
export function parseDevice(body: unknown): Ws1Device {
  if (!isObject(body)) throw new Ws1ProtocolError('device lookup answered a body that is not a JSON object');
  return 'Udid' in body || 'SerialNumber' in body || 'Id' in body ? mapPascalDevice(body) : mapSnakeDevice(body);
}

function mapPascalDevice(d: Record<string, unknown>): Ws1Device {
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

function mapSnakeDevice(d: Record<string, unknown>): Ws1Device {
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

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}
