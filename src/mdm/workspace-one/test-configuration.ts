import { Ws1Client, Ws1ClientSettings } from './ws1-client';
import {
  Ws1AuthenticationError,
  Ws1Error,
  Ws1HostNotFoundError,
  Ws1PermissionError,
  Ws1SettingsError,
  Ws1TenantCodeError,
  Ws1TimeoutError,
  Ws1TlsError,
} from './ws1.errors';

export type TestConfigurationReason = 'bad-credentials' | 'bad-tenant-code' | 'no-permission' | 'host-not-found' | 'tls' | 'timeout' | 'unexpected';

export interface TestConfigurationResult {
  ok: boolean;
  message: string;
  reason?: TestConfigurationReason;
}

export const CONFIGURATION_SUCCESSFUL = 'Configuration Successful!';

/**
 * The admin's "Test Configuration" button. It asks for one device (`pagesize=1`) rather than calling
 * `/API/system/info`, because only the device endpoints check the API key (aw-tenant-code): a wrong
 * key would otherwise pass. One attempt, no retries: the admin is waiting for the answer.
 */
export async function testConfiguration(settings: Ws1ClientSettings, opts: { platform?: string } = {}): Promise<TestConfigurationResult> {
  let client: Ws1Client | undefined;
  try {
    client = new Ws1Client(settings, { maxAttempts: 1, retryTimeouts: false, maxRateLimitWaitMs: 5_000 });
    await client.searchPage(opts.platform ?? 'Apple', 0, 1);
    return { ok: true, message: CONFIGURATION_SUCCESSFUL };
  } catch (err) {
    return describeFailure(err, client);
  } finally {
    client?.close();
  }
}

function describeFailure(err: unknown, client: Ws1Client | undefined): TestConfigurationResult {
  const host = client?.baseUrl.host ?? 'the host';
  const ref = err instanceof Ws1Error ? suffix(err) : '';
  if (err instanceof Ws1AuthenticationError) {
    return { ok: false, reason: 'bad-credentials', message: `Workspace ONE rejected the username or password${ref}.` };
  }
  if (err instanceof Ws1TenantCodeError) {
    return { ok: false, reason: 'bad-tenant-code', message: `Workspace ONE does not recognise the API key (tenant code)${ref}.` };
  }
  if (err instanceof Ws1PermissionError) {
    return { ok: false, reason: 'no-permission', message: `The account signed in, but its admin role lacks REST API read access to devices${ref}.` };
  }
  if (err instanceof Ws1HostNotFoundError) {
    return { ok: false, reason: 'host-not-found', message: `Host ${err.host} was not found (DNS lookup failed). Check the Workspace ONE API server name.` };
  }
  if (err instanceof Ws1TlsError) {
    return { ok: false, reason: 'tls', message: `The TLS connection to ${host} failed certificate verification or the handshake (${err.tlsCode}).` };
  }
  if (err instanceof Ws1TimeoutError) {
    return { ok: false, reason: 'timeout', message: `${host} did not answer within ${Math.round(err.timeoutMs / 100) / 10} s.` };
  }
  if (err instanceof Ws1SettingsError || err instanceof Ws1Error) {
    return { ok: false, reason: 'unexpected', message: `${err.message}${err instanceof Ws1SettingsError ? '' : ref}.` };
  }
  // Not one of ours: do not echo raw error text (it may come from deep inside a library).
  return { ok: false, reason: 'unexpected', message: 'Unexpected failure while testing the configuration.' };
}

function suffix(err: Ws1Error): string {
  const parts: string[] = [];
  if (err.errorCode !== undefined) parts.push(`error ${err.errorCode}`);
  if (err.activityId) parts.push(`activity ${err.activityId}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}
