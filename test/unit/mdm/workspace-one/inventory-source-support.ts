import type { Ws1DeviceSource } from '../../../../src/mdm/workspace-one/device-sync';
import type { Ws1Device, Ws1DevicePage } from '../../../../src/mdm/workspace-one/ws1.types';

/** An enrolled Apple device as the WS1 client hands it out. */
export const ws1Device = (i: number): Ws1Device => ({
  id: i,
  udid: `WALK-UDID-${String(i).padStart(6, '0')}`,
  serialNumber: `WSER${i}`,
  macAddress: `A0B0C0${String(i).padStart(6, '0')}`,
  platform: 'Apple',
  enrollmentStatus: 'Enrolled',
  userName: `walker${i}`,
});

/**
 * A WS1 device source that serves `devices` in pages of `pageSize` and calls `before(page)` (0-based)
 * before each page: a test pauses the walk there, or fails it by throwing.
 */
export function pagedSource(devices: readonly Ws1Device[], pageSize: number, before?: (page: number) => Promise<void> | void): Ws1DeviceSource {
  return {
    async *searchDevices(): AsyncGenerator<Ws1DevicePage> {
      for (let page = 0; page * pageSize < devices.length; page++) {
        await before?.(page);
        yield { page, pageSize, total: devices.length, devices: devices.slice(page * pageSize, (page + 1) * pageSize) };
      }
    },
  };
}
