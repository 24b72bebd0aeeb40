import type { CaModule } from '../ca/ca.module';
import { AuthLogRepository } from '../db/auth-log.repository';
import type { IntegrationRepository } from '../db/integration.repository';
import { TrustRepository } from '../db/trust.repository';
import type { AppConfigService } from '../mdm/workspace-one/app-config.service';
import type { InventoryLookup } from '../mdm/workspace-one/inventory-store.ports';
import { AuthLogService } from './auth-log.service';
import { AuthLogWriter } from './auth-log-writer';
import { CertificateCheck } from './certificate-check';
import { DeviceTrustService } from './device-trust.service';
import { LastSeenTracker } from './last-seen-tracker';
import { TrustPolicyService } from './policy.service';
import { TrustEvaluator } from './trust-evaluator';
import type { IntegrationDirectory, RevocationCheck } from './trust.ports';
import { TrustSnapshot } from './trust-snapshot';
import type { BuildContext } from '../shared/build-context';

/** What the login-time check reads from other modules (server only). */
export interface LoginCheckDeps extends BuildContext {
  ca: Pick<CaModule, 'authority' | 'revocationView'>;
  integrationLookup: IntegrationRepository;
  appConfig: AppConfigService;
  inventory: InventoryLookup;
}

/**
 * Device trust: the policy and the authentication log (server and CLI), and `loginCheck`, which
 * builds the server's login-time check: in-memory state and batched writers.
 */
export function buildTrustModule({ db, clock }: BuildContext) {
  const repo = new TrustRepository(db);
  const authLogStore = new AuthLogRepository(db);
  return {
    trustPolicy: new TrustPolicyService(repo, clock),
    authLog: new AuthLogService(authLogStore, repo, clock),
    loginCheck: async ({ config, logger, ca, integrationLookup, appConfig, inventory }: LoginCheckDeps) => {
      const logError = (what: string) => (err: unknown) => logger.error({ err }, what);
      const directory: IntegrationDirectory = {
        listIntegrations: async () =>
          (await integrationLookup.listIntegrations()).map((i) => ({
            id: i.id,
            type: i.type,
            status: i.status,
            groupName: i.groupName,
            deleted: i.deletedAt !== null,
          })),
        isMember: (group, user) => integrationLookup.isMember(group, user),
        integrationForConfigurationKey: (key) => appConfig.integrationForKey(key),
      };
      // the view keeps every revoked serial in memory and polls the database every 500 ms
      const revocation: RevocationCheck = {
        revocationOf: async (serial) => {
          const { status } = await ca.revocationView.status(serial);
          return typeof status === 'object' ? status : null;
        },
      };
      const snapshot = new TrustSnapshot(directory, repo, clock, {
        pollMs: config.trust.pollMs,
        onError: logError('device trust: reloading integrations and policies'),
      });
      const evaluator = new TrustEvaluator(
        new CertificateCheck(() => ca.authority.all.map((g) => g.material.ca.certificate.der)),
        repo,
        revocation,
        snapshot,
        inventory,
        directory,
      );
      const authLog = new AuthLogWriter(authLogStore, {
        flushMs: 100,
        maxBatch: 500,
        maxBuffered: 100_000,
        onError: (err, dropped) => logger.error({ err, dropped }, 'authentication log'),
      });
      const lastSeen = new LastSeenTracker(repo, 1000, logError('certificate last seen'));
      const service = new DeviceTrustService(evaluator, snapshot, authLog, lastSeen, clock);
      return {
        service,
        start: () => snapshot.start(),
        flush: () => Promise.all([authLog.flush(), lastSeen.flush()]),
        // integrations and revocations are polled separately: refresh both so a deletion and its revocations appear together
        refresh: () => Promise.all([snapshot.refresh(), ca.revocationView.sync()]).then(() => undefined),
        stop: async () => {
          snapshot.stop();
          await Promise.all([authLog.close(), lastSeen.flush()]);
        },
      };
    },
  };
}

export type TrustModule = ReturnType<typeof buildTrustModule>;
