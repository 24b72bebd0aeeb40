import { X509Certificate } from 'node:crypto';
import type { Actor } from '../../admin/audit.types';
import type { IntegrationLookup } from '../../integrations/integration.ports';
import { Clock } from '../../shared/clock';
import { AppError, BadRequestError, ConflictError, NotFoundError } from '../../shared/errors';
import { SecretBoxError, type SecretBox } from '../../shared/secret-box';
import { testConfiguration, TestConfigurationResult } from './test-configuration';
import type { Ws1ClientSettings } from './ws1-client';
import type { InventorySettingsRepository } from '../../db/inventory-settings.repository';
import type { StoredWs1Settings } from './ws1-integration.types';
import { normalizeBaseUrl } from './ws1-settings';
import type { Ws1Platform } from './ws1.types';

/** The integration types whose trust comes from the WS1 inventory, and the WS1 platform each syncs. */
export const WS1_PLATFORM_BY_TYPE: Readonly<Record<string, Ws1Platform>> = { windows: 'WinRT', macos: 'AppleOsX', android: 'Android', ios: 'Apple' };

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
    super(`integration ${id} has no Workspace ONE API settings yet (scepter integration configure ${id} --ws1-url ...)`, {
      status: 409,
      code: 'ws1_not_configured',
    });
  }
}

/**
 * WS1 API settings per integration. Password and API key are encrypted before they reach the
 * store, each bound to its integration and field, and decrypted only to build a client.
 */
export class Ws1SettingsService {
  constructor(
    private readonly integrations: IntegrationLookup,
    private readonly store: InventorySettingsRepository,
    /** lazy: the key file is created on first use, not by every CLI command */
    private readonly secretBox: () => SecretBox,
    private readonly clock: Clock,
    /** deadline of each WS1 call */
    private readonly timeoutMs?: number,
    /** http:// WS1 URLs (SCEPTER_WS1_ALLOW_HTTP): only for a local test server, the password would travel in clear */
    private readonly options: { allowHttp?: boolean } = {},
  ) {}

  async ws1Integration(id: string): Promise<Ws1Integration> {
    const i = await this.integrations.findIntegration(id);
    if (!i || i.deletedAt) throw new NotFoundError(`no integration ${id}`);
    const platform = WS1_PLATFORM_BY_TYPE[i.type];
    if (!platform)
      throw new BadRequestError(
        `integration ${id} is of type ${i.type}, which takes no Workspace ONE API settings (only ${Object.keys(WS1_PLATFORM_BY_TYPE).join(', ')})`,
      );
    return { id: i.id, type: i.type, platform };
  }

  async configure(id: string, input: Ws1SettingsInput, actor: Actor): Promise<Ws1SettingsView> {
    const integration = await this.ws1Integration(id);
    const old = await this.store.find(id);
    const missing = (['baseUrl', 'username', 'password', 'apiKey'] as const).filter((k) => input[k] === undefined);
    if (!old && missing.length) throw new BadRequestError(`the first configuration needs ${missing.map(fieldName).join(', ')}`);
    const baseUrl = input.baseUrl === undefined ? old!.baseUrl : this.checkedBaseUrl(input.baseUrl);
    const username = input.username === undefined ? old!.username : checked('username', input.username, 256);
    // the stored secrets were entered for one destination: a new URL or account needs them again,
    // and so does a new extra trust anchor (a CA of one's own would let its holder stand in for WS1)
    const newTrustAnchor = typeof input.caPem === 'string' && input.caPem.trim() !== (old?.caPem ?? '').trim();
    if (old && (baseUrl !== old.baseUrl || username !== old.username || newTrustAnchor)) {
      const secretsMissing = (['password', 'apiKey'] as const).filter((k) => input[k] === undefined);
      if (secretsMissing.length)
        throw new BadRequestError(
          `changing the WS1 URL, username or extra CA needs the password and the API key again in the same change; missing: ${secretsMissing.map(fieldName).join(', ')}`,
        );
    }
    const box = this.secretBox();
    const now = this.clock.now();
    const bound = { baseUrl, username };
    const row: StoredWs1Settings = {
      integrationId: id,
      baseUrl,
      username,
      passwordEnc: input.password === undefined ? old!.passwordEnc : box.encrypt(checked('password', input.password, 1024), context(id, 'password', bound)),
      apiKeyEnc: input.apiKey === undefined ? old!.apiKeyEnc : box.encrypt(checked('API key', input.apiKey, 512), context(id, 'api-key', bound)),
      caPem: input.caPem === undefined ? (old?.caPem ?? null) : input.caPem === null ? null : checkedCa(input.caPem),
      createdAt: old?.createdAt ?? now,
      updatedAt: now,
    };
    const changed = (['baseUrl', 'username', 'password', 'apiKey', 'caPem'] as const).filter((k) => input[k] !== undefined);
    // names of what changed, never the values of secrets
    await this.store.save(row, {
      actor,
      action: 'integration.ws1.configure',
      target: id,
      details: { baseUrl: row.baseUrl, username: row.username, changed },
      at: now,
    });
    return view(row, integration.platform);
  }

  async view(id: string): Promise<Ws1SettingsView | undefined> {
    const integration = await this.ws1Integration(id);
    const row = await this.store.find(id);
    return row && view(row, integration.platform);
  }

  /**
   * Decrypted settings for a client; throws Ws1NotConfiguredError before the first configure.
   * The secrets only decrypt for the URL and username they were entered with (both are bound into
   * the ciphertext), so a destination changed behind our back (e.g. in the database) gets nothing.
   */
  async clientSettings(id: string): Promise<Ws1ClientSettings> {
    const row = await this.store.find(id);
    if (!row) throw new Ws1NotConfiguredError(id);
    if (!this.options.allowHttp && /^http:/i.test(row.baseUrl))
      throw new BadRequestError(
        `the stored WS1 URL of ${id} uses http://, which would send the password unencrypted; configure an https URL (SCEPTER_WS1_ALLOW_HTTP=on allows http for a local test server)`,
      );
    const box = this.secretBox();
    const bound = { baseUrl: row.baseUrl, username: row.username };
    return {
      baseUrl: row.baseUrl,
      username: row.username,
      password: openSecret(box, row.passwordEnc, id, 'password', bound),
      apiKey: openSecret(box, row.apiKeyEnc, id, 'api-key', bound),
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
   * For the migration: complete settings checked and encrypted exactly as configure() does, for an
   * integration the caller creates and stores in its own transaction; nothing is saved here.
   */
  seal(integrationId: string, input: Required<Omit<Ws1SettingsInput, 'caPem'>> & { caPem?: string | null }, now: Date): StoredWs1Settings {
    const box = this.secretBox();
    const bound = { baseUrl: this.checkedBaseUrl(input.baseUrl), username: checked('username', input.username, 256) };
    return {
      integrationId,
      ...bound,
      passwordEnc: box.encrypt(checked('password', input.password, 1024), context(integrationId, 'password', bound)),
      apiKeyEnc: box.encrypt(checked('API key', input.apiKey, 512), context(integrationId, 'api-key', bound)),
      caPem: input.caPem ? checkedCa(input.caPem) : null,
      createdAt: now,
      updatedAt: now,
    };
  }

  private checkedBaseUrl(input: string): string {
    const url = checkedBaseUrl(input);
    if (!this.options.allowHttp && url.startsWith('http:'))
      throw new BadRequestError(
        'the WS1 URL must use https:// (http:// would send the password unencrypted; SCEPTER_WS1_ALLOW_HTTP=on allows it for a local test server)',
      );
    return url;
  }
}

/** Additional data of a secret: its integration, field and the destination it was entered for. */
function context(id: string, field: string, bound?: { baseUrl: string; username: string }): string {
  return bound ? `ws1:${id}:${field}:${JSON.stringify([bound.baseUrl, bound.username])}` : `ws1:${id}:${field}`;
}

/**
 * Secrets stored before they were bound to their destination carry only integration and field;
 * configure() re-binds them whenever they are entered again.
 */
function openSecret(box: SecretBox, stored: string, id: string, field: string, bound: { baseUrl: string; username: string }): string {
  try {
    return box.decrypt(stored, context(id, field, bound));
  } catch (err) {
    try {
      return box.decrypt(stored, context(id, field));
    } catch {
      if (!(err instanceof SecretBoxError) || !/failed authentication/.test(err.message)) throw err;
      throw new ConflictError(
        `the stored WS1 ${field === 'password' ? 'password' : 'API key'} of ${id} was not entered for this URL and username (or was altered); enter the password and the API key again`,
      );
    }
  }
}

function fieldName(k: string): string {
  return (
    (
      {
        baseUrl: 'the WS1 URL (url, --ws1-url)',
        username: 'the username (username, --ws1-username)',
        password: 'the password (password, --ws1-password-file)',
        apiKey: 'the API key (apiKey, --ws1-api-key-file)',
      } as Record<string, string>
    )[k] ?? k
  );
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
  return {
    integrationId: row.integrationId,
    platform,
    baseUrl: row.baseUrl,
    username: row.username,
    password: 'set',
    apiKey: 'set',
    extraCa: Boolean(row.caPem),
    updatedAt: row.updatedAt.toISOString(),
  };
}
