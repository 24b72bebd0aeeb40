import { readFileSync } from 'node:fs';
import { formatWs1Date, parseDevice } from '../../src/mdm/workspace-one/ws1-envelope-mapper';
import { WS1_PLATFORMS, type Ws1DeviceV2, type Ws1DeviceV3, type Ws1Platform } from '../../src/mdm/workspace-one/ws1.types';

/** A device as the simulator stores it. */
export interface SimDevice {
  id: number;
  uuid: string;
  udid: string;
  serialNumber: string;
  macAddress: string;
  imei: string;
  friendlyName: string;
  platform: string;
  model: string;
  operatingSystem: string;
  userName: string;
  userEmail: string;
  enrollmentStatus: string;
  lastSeen: Date;
}

export type SimDeviceInput = Partial<SimDevice> & { udid: string; platform: string };

export interface GenerateOptions {
  /** Devices per platform, or a count per platform name. */
  perPlatform: number | Partial<Record<string, number>>;
  seed?: number;
  /** Share of devices not `Enrolled` (default 0.05). */
  unenrolledRatio?: number;
  /** LastSeen values fall in the 30 days before this (default: now). */
  now?: Date;
}

const MODELS: Record<Ws1Platform, readonly [string, string][]> = {
  Apple: [
    ['iPhone 15 Pro', '17.5.1'],
    ['iPhone 14', '17.4.1'],
    ['iPad Pro (11-inch)', '17.3'],
    ['iPhone SE', '16.7.8'],
  ],
  AppleOsX: [
    ['MacBook Pro (14-inch, 2023)', '14.5.0'],
    ['MacBook Air (M2, 2022)', '14.4.1'],
    ['iMac (24-inch, M3)', '13.6.7'],
  ],
  Android: [
    ['SM-S911B', '14.0.0'],
    ['Pixel 8', '14.0.0'],
    ['TC52', '11.0.0'],
  ],
  WinRT: [
    ['Surface Pro 9', '10.0.22631'],
    ['Latitude 7440', '10.0.22621'],
    ['ThinkPad T14', '10.0.19045'],
  ],
};
const NOT_ENROLLED = ['Unenrolled', 'EnrollmentInProgress', 'EnterpriseWipePending', 'DeviceWipePending'];
const SERIAL_CHARS = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZ';

/** mulberry32: tiny, fast, deterministic; plenty for fake inventories. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic fleet: same seed, same devices (LastSeen is relative to `now`). */
export function generateInventory(opts: GenerateOptions): SimDevice[] {
  const rnd = prng(opts.seed ?? 1);
  // One PRNG draw per 4 bytes and one native hex encoding per identifier: 100k devices in well under a second.
  const buf = Buffer.alloc(32);
  const hex = (digits: number) => {
    for (let i = 0; i < digits / 2; i += 4) buf.writeUInt32LE((rnd() * 0x100000000) >>> 0, i);
    return buf.toString('hex', 0, digits / 2);
  };
  /** one element of a non-empty list */
  const pick = <T>(xs: readonly T[]): T => {
    const x = xs[(rnd() * xs.length) | 0];
    if (x === undefined) throw new Error('pick from an empty list');
    return x;
  };
  const now = (opts.now ?? new Date()).getTime();
  const ratio = opts.unenrolledRatio ?? 0.05;
  const out: SimDevice[] = [];
  let id = 1000;
  for (const platform of WS1_PLATFORMS) {
    const n = typeof opts.perPlatform === 'number' ? opts.perPlatform : (opts.perPlatform[platform] ?? 0);
    for (let i = 0; i < n; i++) {
      const [model, os] = pick(MODELS[platform]);
      const udid =
        platform === 'Apple'
          ? hex(40)
          : platform === 'Android'
            ? hex(32)
            : platform === 'AppleOsX'
              ? hex(32)
                  .toUpperCase()
                  .replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-')
              : hex(32).toUpperCase(); // WinRT: a GUID without dashes
      let serial = '';
      for (let k = 0; k < (platform === 'Android' ? 11 : 12); k++) serial += SERIAL_CHARS.charAt((rnd() * SERIAL_CHARS.length) | 0);
      const cellular = (platform === 'Apple' || platform === 'Android') && rnd() < 0.6;
      const user = `user${String(id).padStart(6, '0')}`;
      out.push({
        id: id++,
        uuid: hex(32).replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-'),
        udid,
        serialNumber: serial,
        macAddress: hex(12).toUpperCase(),
        imei: cellular ? luhnImei(() => (rnd() * 10) | 0) : '',
        friendlyName: `${user} ${model} ${platform} - ${serial.slice(-4)}`,
        platform,
        model,
        operatingSystem: os,
        userName: user,
        userEmail: `${user}@example.com`,
        enrollmentStatus: rnd() < ratio ? pick(NOT_ENROLLED) : 'Enrolled',
        lastSeen: new Date(now - Math.floor(rnd() * 30 * 86400) * 1000),
      });
    }
  }
  return out;
}

/** 15 digits starting with TAC prefix 35, the last one a Luhn check digit (as real IMEIs). */
function luhnImei(digit: () => number): string {
  let s = '35';
  let sum = 3 + (5 * 2 - 9);
  for (let i = 2; i < 14; i++) {
    const v = digit();
    s += v;
    sum += i % 2 === 1 ? (v * 2 > 9 ? v * 2 - 9 : v * 2) : v;
  }
  return s + ((10 - (sum % 10)) % 10);
}

/** Loads a JSON file in WS1's own shapes: an array of devices, or `{Devices: [...]}` / `{devices: [...]}`. */
export function loadInventoryFile(path: string): SimDeviceInput[] {
  const body = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  const o = body as Record<string, unknown>;
  const list = Array.isArray(body) ? body : Array.isArray(o?.Devices) ? o.Devices : Array.isArray(o?.devices) ? o.devices : undefined;
  if (!list) throw new Error(`${path}: expected an array of devices or {Devices: [...]}`);
  return (list as unknown[]).map((raw, i) => {
    const d = parseDevice(raw);
    if (!d.udid || !d.platform) throw new Error(`${path}: device #${i} lacks Udid or Platform`);
    return {
      id: d.id,
      udid: d.udid,
      platform: d.platform,
      serialNumber: d.serialNumber,
      macAddress: d.macAddress,
      imei: d.imei,
      friendlyName: d.friendlyName,
      model: d.model,
      operatingSystem: d.operatingSystem,
      userName: d.userName,
      userEmail: d.userEmail,
      enrollmentStatus: d.enrollmentStatus,
      lastSeen: d.lastSeen,
    };
  });
}

export function toWireV2(d: SimDevice, version: 1 | 2): Ws1DeviceV2 {
  const w: Ws1DeviceV2 = {
    Id: { Value: d.id },
    Udid: d.udid,
    SerialNumber: d.serialNumber,
    MacAddress: d.macAddress,
    Imei: d.imei,
    DeviceFriendlyName: d.friendlyName,
    Platform: d.platform,
    Model: d.model,
    OperatingSystem: d.operatingSystem,
    UserName: d.userName,
    UserEmailAddress: d.userEmail,
    EnrollmentStatus: d.enrollmentStatus,
    LastSeen: formatWs1Date(d.lastSeen),
  };
  if (version === 2) w.Uuid = d.uuid;
  return w;
}

export function toWireV3(d: SimDevice): Ws1DeviceV3 {
  return {
    id: d.id,
    uuid: d.uuid,
    udid: d.udid,
    serial_number: d.serialNumber,
    mac_address: d.macAddress,
    imei: d.imei,
    device_friendly_name: d.friendlyName,
    platform: d.platform,
    model: d.model,
    operating_system: d.operatingSystem,
    user_name: d.userName,
    user_email_address: d.userEmail,
    enrollment_status: d.enrollmentStatus,
    last_seen: formatWs1Date(d.lastSeen),
  };
}
