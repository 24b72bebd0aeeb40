import { X509Certificate } from 'node:crypto';
import type { Actor } from '../../admin/audit.types';
import { Clock } from '../../shared/clock';
import { AppError, BadRequestError, NotFoundError } from '../../shared/errors';
import type { SecretBox } from '../../shared/secret-box';
import { testConfiguration, TestConfigurationResult } from './test-configuration';
import type { Ws1ClientSettings } from './ws1-client';
import type { StoredWs1Settings, Ws1SettingsStore } from './ws1-integration-ports';
import { normalizeBaseUrl } from './ws1-settings';
import type { Ws1Platform } from './ws1-types';

/** The integration types whose trust comes from the WS1 inventory, and the WS1 platform each syncs. */
export const WS1_PLATFORM_BY_TYPE: Readonly<Record<string, Ws1Platform>> = { windows: 'WinRT', macos: 'AppleOsX', android: 'Android', ios: 'Apple' };

/** The little we need to know about an integration (issue 3's IntegrationStore satisfies it). */
export interface IntegrationFinder {
  findIntegration(id: string): Promise<{ id: string; type: string; deletedAt: Date | null } | undefined>;
}

export interface Ws1Integration {
  id: string;
  type: string;
  platform: Ws1Platform;
}

/** What an admin may set; omitted fields keep their stored value (all four are needed the first time). */
export interface Ws1SettingsInput {
  baseUrl?: string;
  username?: string;
  password?: string;
  apiKey?: string;
  /** PEM of an extra trust anchor; null removes it */
  caPem?: string | null;
}

/** Settings as shown: never the password or the API key, only that they are set. */
export interface Ws1SettingsView {
  integrationId: string;
  platform: Ws1Platform;
  baseUrl: string;
  username: string;
  password: 'set';
  apiKey: 'set';
  extraCa: boolean;
  updatedAt: string;
}

export class Ws1NotConfiguredError extends AppError {
  constructor(id: string) {
    super(`integration ${id} has no Workspace ONE API settings yet (scepter integration configure ${id} --ws1-url ...)`, { status: 409, code: 'ws1_not_configured' });
  }
}

/**
 * WS1 API settings per integration. Password and API key are encrypted before they reach the
 * store, each bound to its integration and field, and decrypted only to build a client.
 */
export class Ws1SettingsService {
  constructor(
    private readonly integrations: IntegrationFinder,
    private readonly store: Ws1SettingsStore,
    /** lazy: the key file is created on first use, not by every CLI command */
    private readonly secretBox: () => SecretBox,
    private readonly clock: Clock,
    /** deadline of each WS1 call */
    private readonly timeoutMs?: number,
  ) {}

  async ws1Integration(id: string): Promise<Ws1Integration> {
    const i = await this.integrations.findIntegration(id);
    if (!i || i.deletedAt) throw new NotFoundError(`no integration ${id}`);
    const platform = WS1_PLATFORM_BY_TYPE[i.type];
    if (!platform) throw new BadRequestError(`integration ${id} is of type ${i.type}, which takes no Workspace ONE API settings (only ${Object.keys(WS1_PLATFORM_BY_TYPE).join(', ')})`);
    return { id: i.id, type: i.type, platform };
  }

  async configure(id: string, input: Ws1SettingsInput, actor: Actor): Promise<Ws1SettingsView> {
    const integration = await this.ws1Integration(id);
    const old = await this.store.find(id);
    const missing = (['baseUrl', 'username', 'password', 'apiKey'] as const).filter((k) => input[k] === undefined);
    if (!old && missing.length) throw new BadRequestError(`the first configuration needs ${missing.map(fieldName).join(', ')}`);
    const box = this.secretBox();
    const now = this.clock.now();
    const row: StoredWs1Settings = {
      integrationId: id,
      baseUrl: input.baseUrl === undefined ? old!.baseUrl : checkedBaseUrl(input.baseUrl),
      username: input.username === undefined ? old!.username : checked('username', input.username, 256),
      passwordEnc: input.password === undefined ? old!.passwordEnc : box.encrypt(checked('password', input.password, 1024), context(id, 'password')),
      apiKeyEnc: input.apiKey === undefined ? old!.apiKeyEnc : box.encrypt(checked('API key', input.apiKey, 512), context(id, 'api-key')),
      caPem: input.caPem === undefined ? (old?.caPem ?? null) : input.caPem === null ? null : checkedCa(input.caPem),
      createdAt: old?.createdAt ?? now,
      updatedAt: now,
    };
    const changed = (['baseUrl', 'username', 'password', 'apiKey', 'caPem'] as const).filter((k) => input[k] !== undefined);
    // names of what changed, never the values of secrets
    await this.store.save(row, { actor, action: 'integration.ws1.configure', target: id, details: { baseUrl: row.baseUrl, username: row.username, changed }, at: now });
    return view(row, integration.platform);
  }

  async view(id: string): Promise<Ws1SettingsView | undefined> {
    const integration = await this.ws1Integration(id);
    const row = await this.store.find(id);
    return row && view(row, integration.platform);
  }

  /** Decrypted settings for a client; throws Ws1NotConfiguredError before the first configure. */
  async clientSettings(id: string): Promise<Ws1ClientSettings> {
    const row = await this.store.find(id);
    if (!row) throw new Ws1NotConfiguredError(id);
    const box = this.secretBox();
    return {
      baseUrl: row.baseUrl,
      username: row.username,
      password: box.decrypt(row.passwordEnc, context(id, 'password')),
      apiKey: box.decrypt(row.apiKeyEnc, context(id, 'api-key')),
      ...(row.caPem ? { ca: row.caPem } : {}),
      ...(this.timeoutMs ? { timeoutMs: this.timeoutMs } : {}),
    };
  }

  /** The "Test Configuration" button: one device request with the stored settings. */
  async test(id: string): Promise<TestConfigurationResult> {
    const integration = await this.ws1Integration(id);
    return testConfiguration(await this.clientSettings(id), { platform: integration.platform });
  }

  listConfigured(): Promise<string[]> {
    return this.store.listIntegrationIds();
  }

  /**
   * Issue 7 (migration): complete settings checked and encrypted exactly as configure() does, for an
   * integration the caller creates and stores in its own transaction; nothing is saved here.
   */
  seal(integrationId: string, input: Required<Omit<Ws1SettingsInput, 'caPem'>> & { caPem?: string | null }, now: Date): StoredWs1Settings {
    const box = this.secretBox();
    return {
      integrationId,
      baseUrl: checkedBaseUrl(input.baseUrl),
      username: checked('username', input.username, 256),
      passwordEnc: box.encrypt(checked('password', input.password, 1024), context(integrationId, 'password')),
      apiKeyEnc: box.encrypt(checked('API key', input.apiKey, 512), context(integrationId, 'api-key')),
      caPem: input.caPem ? checkedCa(input.caPem) : null,
      createdAt: now,
      updatedAt: now,
    };
  }
}

function context(id: string, field: string): string {
  return `ws1:${id}:${field}`;
}

function fieldName(k: string): string {
  return ({ baseUrl: 'the WS1 URL', username: 'the username', password: 'the password', apiKey: 'the API key' } as Record<string, string>)[k] ?? k;
}

function checked(what: string, value: string, max: number): string {
  if (value.length === 0) throw new BadRequestError(`the ${what} is empty`);
  if (value.length > max) throw new BadRequestError(`the ${what} is longer than ${max} characters`);
  // a secret read from a file keeps no line break; any other control character is a paste error
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new BadRequestError(`the ${what} contains a control character (line break?)`);
  return value;
}

function checkedBaseUrl(input: string): string {
  const url = normalizeBaseUrl(checked('WS1 URL', input, 2048));
  return url.href.replace(/\/$/, '');
}

function checkedCa(pem: string): string {
  try {
    new X509Certificate(pem);
  } catch {
    throw new BadRequestError('the extra CA is not a PEM certificate');
  }
  return pem;
}

function view(row: StoredWs1Settings, platform: Ws1Platform): Ws1SettingsView {
  return { integrationId: row.integrationId, platform, baseUrl: row.baseUrl, username: row.username, password: 'set', apiKey: 'set', extraCa: Boolean(row.caPem), updatedAt: row.updatedAt.toISOString() };
}
