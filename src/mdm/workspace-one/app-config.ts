import { randomInt } from 'node:crypto';

/**
 * The App Config ("identifier-based") integrations: WS1 pushes a managed app configuration to the
 * authenticator app with the integration's configuration key and the device's UDID (WS1 fills in
 * the `{DeviceUid}` lookup value per device); at login the app reports both and we check the UDID
 * against the synced inventory.
 */
export const APP_CONFIG_TYPES = ['ios', 'android'] as const;
export type AppConfigType = (typeof APP_CONFIG_TYPES)[number];

export function isAppConfigType(type: string): type is AppConfigType {
  return (APP_CONFIG_TYPES as readonly string[]).includes(type);
}

/** Managed app configuration keys, as the authenticator app reads them. */
export const APP_CONFIG_KEYS = {
  configurationKey: 'trustedEndpointConfigurationKey',
  identifier: 'trustedEndpointIdentifier',
} as const;

export const DEVICE_UID_LOOKUP = '{DeviceUid}';

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
export const CONFIG_KEY_PATTERN = /^[A-Z0-9]{20}$/;

/** A Trusted Endpoints Configuration Key: 20 uppercase letters and digits (about 103 bits). */
export function generateConfigKey(): string {
  let key = '';
  for (let i = 0; i < 20; i++) key += KEY_ALPHABET[randomInt(KEY_ALPHABET.length)];
  return key;
}
