import { normalizeIdentifier } from '../mdm/workspace-one/inventory-store.ports';
import { Ws1Client, type Ws1ClientOptions, type Ws1ClientSettings } from '../mdm/workspace-one/ws1-client';
import type { Ws1DeviceFacts } from './readiness';

/** A live WS1 device search (platform Apple), for plan and for explaining at-risk devices. */
export type LiveInventory = (settings: Ws1ClientSettings, onProgress?: (fetched: number, total: number) => void) => Promise<Map<string, Ws1DeviceFacts>>;

/**
 * Every iOS device WS1 knows (platform `Apple`, enrolled or not), by normalized UDID: only the two
 * fields readiness needs are kept, so 100,000 devices stay small.
 */
export function ws1LiveInventory(options: Ws1ClientOptions = {}): LiveInventory {
  return async (settings: Ws1ClientSettings, onProgress) => {
    const client = new Ws1Client(settings, options);
    const devices = new Map<string, Ws1DeviceFacts>();
    let fetched = 0;
    try {
      for await (const page of client.searchDevices('Apple')) {
        for (const d of page.devices) {
          fetched++;
          if (!d.udid) continue;
          devices.set(normalizeIdentifier(d.udid), { enrollmentStatus: d.enrollmentStatus ?? 'Unknown', ...(d.userName ? { userName: d.userName } : {}) });
        }
        onProgress?.(fetched, Math.max(page.total, fetched));
      }
    } finally {
      client.close();
    }
    return devices;
  };
}
