import type { AuditLogService } from '../admin/audit-log.service';
import type { CaModule } from '../ca/ca.module';
import { IntegrationDeletion } from '../ca/integration-deletion.service';
import type { ChallengeModule } from '../challenge/challenge.module';
import { IntegrationRepository } from '../db/integration.repository';
import { IntegrationService } from './integration.service';
import { IosProfileService } from './ios-profile.service';
import { UserGroupService } from './user-groups.service';
import type { BuildContext } from '../shared/build-context';

export interface IntegrationsModuleDeps extends BuildContext {
  ca: Pick<CaModule, 'authority' | 'revocation' | 'revocationView'>;
  challenge: ChallengeModule;
  audit: AuditLogService;
  /** asked before deleting an active integration: does a device-trust policy require trusted devices? */
  deviceTrustRequired: () => Promise<boolean>;
}

/**
 * Integrations, user groups, iOS profiles, and deletion (which revokes the integration's
 * certificates in its transaction). `integrationLookup` is the one read other modules use.
 */
export function buildIntegrationsModule({ config, db, clock, ca, challenge, audit, deviceTrustRequired }: IntegrationsModuleDeps) {
  const integrationLookup = new IntegrationRepository(db);
  const integrations = new IntegrationService(integrationLookup, clock, config.http.publicUrl);
  const profiles = new IosProfileService({
    integrations,
    mintChallenge: (id, deviceId) => challenge.challenges.mint(id, deviceId),
    deviceIds: challenge.deviceIds,
    // the CA devices enroll with now: after a rollover's activation, the new one
    caFingerprintSha1: () => ca.authority.caCertificate.fingerprintSha1,
    publicUrl: config.http.publicUrl,
    audit: (actor, action, target, details) => audit.record(actor, action, target, details),
  });
  // deleting an integration revokes its certificates (asks the trust policy first)
  const integrationDeletion = new IntegrationDeletion(
    integrations,
    ca.revocation,
    deviceTrustRequired,
    () => ca.revocationView.sync().then(() => ca.revocationView.publisher.current),
    clock,
  );
  return { integrationLookup, integrations, groups: new UserGroupService(integrationLookup, clock), profiles, integrationDeletion };
}

export type IntegrationsModule = ReturnType<typeof buildIntegrationsModule>;
