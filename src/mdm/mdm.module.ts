import type { AuditLogService } from '../admin/audit-log.service';
import type { IntegrationLookup } from '../integrations/integration.ports';
import { InventoryLeaseRepository } from '../db/inventory-lease.repository';
import { InventoryRepository } from '../db/inventory.repository';
import { InventorySettingsRepository } from '../db/inventory-settings.repository';
import type { SecretBox } from '../shared/secret-box';
import { AppConfigService } from './workspace-one/app-config.service';
import { Ws1SettingsService } from './workspace-one/ws1-settings.service';
import { Ws1SyncService } from './workspace-one/ws1-sync.service';
import type { BuildContext } from '../shared/build-context';

export interface MdmModuleDeps extends BuildContext {
  integrationLookup: IntegrationLookup;
  audit: AuditLogService;
  secretBox: () => SecretBox;
}

/** Workspace ONE: API settings (secrets under SecretBox), device sync and inventory, App Config keys. */
export function buildMdmModule({ config, db, clock, logger, integrationLookup, audit, metrics, secretBox }: MdmModuleDeps) {
  const inventory = new InventoryRepository(db);
  const settingsStore = new InventorySettingsRepository(db);
  const ws1Settings = new Ws1SettingsService(integrationLookup, settingsStore, secretBox, clock, config.ws1.timeoutMs, { allowHttp: config.ws1.allowHttp });
  const ws1Sync = new Ws1SyncService({
    settings: ws1Settings,
    leases: new InventoryLeaseRepository(db, inventory),
    inventory,
    clock,
    logger,
    audit: (actor, action, target, details) => audit.record(actor, action, target, details),
    onOutcome: (o) => metrics.recordWs1Sync(o),
  });
  return {
    ws1Settings,
    ws1Sync,
    appConfig: new AppConfigService(integrationLookup, settingsStore, clock),
    inventory,
    /** does the integration have WS1 settings stored (the migration asks) */
    hasWs1Settings: async (id: string) => Boolean(await settingsStore.find(id)),
  };
}

export type MdmModule = ReturnType<typeof buildMdmModule>;
