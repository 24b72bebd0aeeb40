import type { CaModule } from '../ca/ca.module';
import type { IntegrationLookup } from '../integrations/integration.ports';
import { MigrationRepository } from '../db/migration.repository';
import type { MdmModule } from '../mdm/mdm.module';
import type { TrustPolicyService } from '../trust/policy.service';
import { crashPoint } from './crash-point';
import { MigrationService } from './migration.service';
import { ws1LiveInventory } from './ws1-live-inventory';
import type { BuildContext } from '../shared/build-context';

export interface MigrationModuleDeps extends BuildContext {
  integrationLookup: IntegrationLookup;
  mdm: Pick<MdmModule, 'ws1Settings' | 'ws1Sync' | 'appConfig' | 'hasWs1Settings'>;
  trustPolicy: TrustPolicyService;
  ca: Pick<CaModule, 'revocationView'>;
}

/** The legacy iOS certificate -> App Config migration (CLI, admin API, console): a service per use. */
export function buildMigrationModule({ config, db, clock, integrationLookup, mdm, trustPolicy, ca }: MigrationModuleDeps) {
  const store = new MigrationRepository(db);
  return {
    migration: (): MigrationService =>
      new MigrationService({
        store,
        clock,
        integrations: integrationLookup,
        ws1: {
          clientSettings: (id) => mdm.ws1Settings.clientSettings(id),
          hasSettings: mdm.hasWs1Settings,
          seal: (id, input, now) => mdm.ws1Settings.seal(id, input, now),
          test: (id) => mdm.ws1Settings.test(id),
          // without a nightly slot the sync answers or throws (busy), never undefined
          sync: async (id, onProgress, actor) => (await mdm.ws1Sync.sync(id, { onProgress, actor }))!,
        },
        appConfig: async (id) => (await mdm.appConfig.forIntegration(id))!,
        live: ws1LiveInventory(),
        deviceTrustRequired: () => trustPolicy.isDeviceTrustRequired(),
        republish: () => ca.revocationView.sync(),
        crashPoint: crashPoint(config.migrationCrashAt),
      }),
  };
}

export type MigrationModule = ReturnType<typeof buildMigrationModule>;
