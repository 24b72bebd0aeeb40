import { randomUUID } from 'node:crypto';
import type { SimDevice, SimDeviceInput } from './ws1-sim-inventory';

export type SimSearchBy = 'udid' | 'serialnumber' | 'macaddress' | 'imeinumber' | 'deviceid';

/**
 * The simulator's device table, pre-indexed per platform so that a page is an array slice even with
 * 100,000 devices. Filtered views (seensince) are cached until the next change.
 */
export class SimDeviceIndex {
  private readonly byPlatform = new Map<string, SimDevice[]>();
  private readonly byUdid = new Map<string, SimDevice>();
  private version = 0;
  private nextId = 1;
  private cache?: { key: string; devices: readonly SimDevice[] };

  constructor(devices: readonly SimDeviceInput[] = []) {
    this.add(devices);
  }

  get size(): number {
    return this.byUdid.size;
  }

  /** Adds devices (a known UDID is replaced in place). Returns the stored records. */
  add(devices: readonly SimDeviceInput[]): SimDevice[] {
    const stored: SimDevice[] = [];
    for (const input of devices) {
      const d = complete(input, this.nextId);
      this.nextId = Math.max(this.nextId, d.id + 1);
      const key = d.udid.toLowerCase();
      const old = this.byUdid.get(key);
      if (old) this.remove([old.udid]);
      this.byUdid.set(key, d);
      const list = this.byPlatform.get(d.platform.toLowerCase()) ?? [];
      list.push(d);
      this.byPlatform.set(d.platform.toLowerCase(), list);
      stored.push(d);
    }
    this.version++;
    return stored;
  }

  /** Removes devices by UDID; returns how many were there. */
  remove(udids: readonly string[]): number {
    let removed = 0;
    for (const udid of udids) {
      const d = this.byUdid.get(udid.toLowerCase());
      if (!d) continue;
      this.byUdid.delete(udid.toLowerCase());
      const list = this.byPlatform.get(d.platform.toLowerCase())!;
      list.splice(list.indexOf(d), 1);
      removed++;
    }
    this.version++;
    return removed;
  }

  clear(): void {
    this.byPlatform.clear();
    this.byUdid.clear();
    this.version++;
  }

  /** Mutate a stored device (e.g. its enrollment status); returns false when unknown. */
  update(udid: string, patch: Partial<Omit<SimDevice, 'udid' | 'platform' | 'id'>>): boolean {
    const d = this.byUdid.get(udid.toLowerCase());
    if (!d) return false;
    Object.assign(d, patch);
    this.version++;
    return true;
  }

  /** Devices of a platform (all platforms when undefined), optionally seen on/after `seenSince`, ordered by Id. */
  search(platform: string | undefined, seenSince?: Date): readonly SimDevice[] {
    const base = platform === undefined ? this.all() : (this.byPlatform.get(platform.toLowerCase()) ?? []);
    if (!seenSince) return base;
    const key = `${this.version}|${platform}|${seenSince.getTime()}`;
    if (this.cache?.key !== key) {
      const t = seenSince.getTime();
      this.cache = { key, devices: base.filter((d) => d.lastSeen.getTime() >= t) };
    }
    return this.cache.devices;
  }

  find(by: SimSearchBy, id: string): SimDevice | undefined {
    if (by === 'udid') return this.byUdid.get(id.toLowerCase());
    const needle = id.toLowerCase();
    for (const d of this.byUdid.values()) {
      const v = by === 'serialnumber' ? d.serialNumber : by === 'macaddress' ? d.macAddress : by === 'imeinumber' ? d.imei : String(d.id);
      if (v.toLowerCase() === needle) return d;
    }
    return undefined;
  }

  private all(): readonly SimDevice[] {
    const key = `${this.version}|*`;
    if (this.cache?.key !== key) {
      const devices = [...this.byPlatform.values()].flat().sort((a, b) => a.id - b.id);
      this.cache = { key, devices };
    }
    return this.cache.devices;
  }
}

function complete(d: SimDeviceInput, nextId: number): SimDevice {
  return {
    id: d.id ?? nextId,
    uuid: d.uuid ?? randomUUID(),
    udid: d.udid,
    serialNumber: d.serialNumber ?? '',
    macAddress: d.macAddress ?? '',
    imei: d.imei ?? '',
    friendlyName: d.friendlyName ?? d.udid,
    platform: d.platform,
    model: d.model ?? '',
    operatingSystem: d.operatingSystem ?? '',
    userName: d.userName ?? '',
    userEmail: d.userEmail ?? '',
    enrollmentStatus: d.enrollmentStatus ?? 'Enrolled',
    lastSeen: d.lastSeen ?? new Date(),
  };
}
