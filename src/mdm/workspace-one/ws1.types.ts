/**
 * Workspace ONE UEM REST types: the wire shapes of `GET /API/mdm/devices/search` (v1/v2 PascalCase,
 * v3 snake_case), the version-neutral device the client hands out, and the compact `ManagedDevice`
 * the sync keeps.
 */

/** WS1 platform names as the search endpoint takes and returns them. */
export const WS1_PLATFORMS = ['Apple', 'AppleOsX', 'Android', 'WinRT'] as const;
export type Ws1Platform = (typeof WS1_PLATFORMS)[number];

export function isWs1Platform(value: string): value is Ws1Platform {
  return (WS1_PLATFORMS as readonly string[]).includes(value);
}

/** WS1's largest accepted page size; larger requests are silently capped by the server. */
export const WS1_MAX_PAGE_SIZE = 500;

export type Ws1ApiVersion = 1 | 2 | 3;

/** The error body WS1 answers with on 4xx/5xx. */
export interface Ws1ErrorBody {
  errorCode: number;
  message: string;
  activityId: string;
}

/** A device as v1/v2 return it. `LastSeen` is ISO 8601 without a zone (UTC). */
export interface Ws1DeviceV2 {
  Id: { Value: number };
  Uuid?: string; // v2 only
  Udid: string;
  SerialNumber: string;
  MacAddress: string;
  Imei: string;
  DeviceFriendlyName: string;
  Platform: string;
  Model: string;
  OperatingSystem: string;
  UserName: string;
  UserEmailAddress: string;
  EnrollmentStatus: string;
  LastSeen: string;
}

export interface Ws1SearchEnvelopeV2 {
  Devices: Ws1DeviceV2[];
  Page: number;
  PageSize: number;
  Total: number;
}

/** A device as v3 returns it. */
export interface Ws1DeviceV3 {
  id: number;
  uuid: string;
  udid: string;
  serial_number: string;
  mac_address: string;
  imei: string;
  device_friendly_name: string;
  platform: string;
  model: string;
  operating_system: string;
  user_name: string;
  user_email_address: string;
  enrollment_status: string;
  last_seen: string;
}

export interface Ws1SearchEnvelopeV3 {
  devices: Ws1DeviceV3[];
  page: number;
  page_size: number;
  total: number;
}

/** Version-neutral device as the client yields it. Empty strings from WS1 become undefined. */
export interface Ws1Device {
  id?: number;
  udid?: string;
  serialNumber?: string;
  macAddress?: string;
  imei?: string;
  friendlyName?: string;
  platform?: string;
  model?: string;
  operatingSystem?: string;
  userName?: string;
  userEmail?: string;
  enrollmentStatus?: string;
  lastSeen?: Date;
}

/** One page of a device search. A 204 answer is a page with no devices and `total` 0. */
export interface Ws1DevicePage {
  page: number;
  pageSize: number;
  total: number;
  devices: Ws1Device[];
}

/** The compact record the sync keeps per managed (enrolled) device. */
export interface ManagedDevice {
  udid: string;
  serialNumber: string;
  macAddress?: string;
  imei?: string;
  platform: string; // a Ws1Platform, or a platform name this version does not know
  enrollmentStatus: string;
  lastSeen?: Date;
  userName?: string;
}

export const ENROLLED = 'Enrolled';
