import { Clock } from '../../shared/clock';
import { NotFoundError } from '../../shared/errors';
import { CONFIG_KEY_PATTERN, generateConfigKey, isAppConfigType } from './app-config';
import { appConfigView, AppConfigView } from './app-config.presenter';
import type { InventorySettingsRepository } from '../../db/inventory-settings.repository';
import type { IntegrationLookup } from '../../integrations/integration.ports';

/**
 * The Trusted Endpoints Configuration Key of each App Config integration: made on first need (the
 * first `integration show` or configure), then stable; several processes agree on one key.
 */
export class AppConfigService {
  constructor(
    private readonly integrations: IntegrationLookup,
    private readonly keys: InventorySettingsRepository,
    private readonly clock: Clock,
  ) {}

  /** What to paste into WS1's Application Configuration; undefined for types without App Config. */
  async forIntegration(id: string): Promise<AppConfigView | undefined> {
    const i = await this.integrations.findIntegration(id);
    if (!i || i.deletedAt) throw new NotFoundError(`no integration ${id}`);
    if (!isAppConfigType(i.type)) return undefined;
    return appConfigView(await this.keys.getOrCreate(id, generateConfigKey(), this.clock.now()));
  }

  /** The integration a device's app reported the key of (identifier-based trust at login). */
  async integrationForKey(configKey: string): Promise<string | undefined> {
    const key = configKey.trim().toUpperCase();
    return CONFIG_KEY_PATTERN.test(key) ? this.keys.findIntegrationId(key) : undefined;
  }
}
