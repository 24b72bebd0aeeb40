import { readFileSync } from 'node:fs';
import { Ws1SettingsError } from './ws1.errors';
import type { Ws1ApiVersion } from './ws1.types';

/** What an admin enters for a WS1 integration. */
export interface Ws1ClientSettings {
  /** `as1234.awmdm.com` (https assumed), `host:port`, or a full `http(s)://` URL; a trailing `/API` is dropped. */
  baseUrl: string;
  username: string;
  password: string;
  /** The REST API key, sent as `aw-tenant-code`. */
  apiKey: string;
  /** Extra trust anchor (PEM) for a WS1 on-premises host with a private CA. */
  ca?: Buffer | string;
  /** Same, read from a file once when the client is built. */
  caFile?: string;
  /** Deadline for each HTTP call (connect, headers and body). Default 30 s. */
  timeoutMs?: number;
  /** `Accept: application/json;version=N`. Default 2. */
  apiVersion?: Ws1ApiVersion;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

export function normalizeBaseUrl(input: string): URL {
  const trimmed = input.trim();
  if (trimmed === '') throw new Ws1SettingsError('Workspace ONE host is empty');
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch (err) {
    throw new Ws1SettingsError('Workspace ONE host is not a valid host name or URL', err);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Ws1SettingsError('Workspace ONE URL must use https (or http for a local test server)');
  if (url.username || url.password) throw new Ws1SettingsError('put the credentials in the username/password fields, not in the URL');
  url.search = '';
  url.hash = '';
  // Admins often paste the API base (…/API) from the WS1 console; our paths already start with /API.
  url.pathname = url.pathname.replace(/\/+$/, '').replace(/\/api$/i, '') || '/';
  return url;
}

export function loadCa(settings: Pick<Ws1ClientSettings, 'ca' | 'caFile'>): Buffer | string | undefined {
  if (settings.ca !== undefined) return settings.ca;
  if (settings.caFile === undefined) return undefined;
  try {
    return readFileSync(settings.caFile);
  } catch (err) {
    throw new Ws1SettingsError(`cannot read the CA file ${settings.caFile}`, err);
  }
}
