import { randomBytes } from 'node:crypto';
import type { CaModule } from '../ca/ca.module';
import type { ChallengeModule } from '../challenge/challenge.module';
import { DynamicChallengeVerifier } from '../challenge/dynamic-challenge.verifier';
import { StaticChallengeVerifier } from '../challenge/static-challenge.verifier';
import { ScepStoreRepository } from '../db/scep-store.repository';
import type { IntegrationService } from '../integrations/integration.service';
import { IosCertsEnrollmentPolicy } from '../integrations/ios-certs-enrollment.policy';
import { SubjectTemplate } from '../integrations/subject-template';
import { RsaKeyTransport } from '../pki/rsa-key-transport';
import { DefaultEnrollmentPolicy } from './default-enrollment.policy';
import type { ScepEndpoint } from './scep.ports';
import { ScepService } from './scep.service';
import { templateSubjectRules } from './subject-policy';
import type { BuildContext } from '../shared/build-context';

export interface ScepModuleDeps extends BuildContext {
  ca: Pick<CaModule, 'authority' | 'revocationView'>;
  challenge: ChallengeModule;
  integrations: IntegrationService;
}

/**
 * The SCEP service and its endpoints: the default `/scep` (static challenge, when configured) and
 * one per ios-certs integration (dynamic challenges, the integration's subject template).
 */
export function buildScepModule({ config, db, clock, ca, challenge, integrations }: ScepModuleDeps) {
  const { authority, revocationView } = ca;
  const scep = new ScepService(
    authority,
    new ScepStoreRepository(db),
    new RsaKeyTransport(randomBytes(32)),
    clock,
    async (issuerDer) => (await revocationView.crl(authority.byIssuer(issuerDer)?.generation ?? authority.current().generation)).der,
  );
  const defaultEndpoint: ScepEndpoint | undefined = config.staticChallenge
    ? {
        id: 'default',
        verifier: new StaticChallengeVerifier(config.staticChallenge),
        policy: new DefaultEnrollmentPolicy(config.certValidityDays, config.renewalWindowDays),
      }
    : undefined;
  // per-integration SCEP endpoints (ios-certs): whatever the status; deleted or unknown -> 404
  const endpointById = async (id: string): Promise<ScepEndpoint | undefined> => {
    const i = await integrations.findEnrollmentTarget(id);
    if (!i) return undefined;
    const template = SubjectTemplate.parse(i.subjectTemplate);
    const policy = new IosCertsEnrollmentPolicy(template, config.certValidityDays);
    const subjectRules = templateSubjectRules(
      template.attributes.map((a) => a.type),
      template.text,
    );
    return { id: i.id, integrationId: i.id, verifier: new DynamicChallengeVerifier(i.id, challenge.challengeStore, clock), policy, subjectRules };
  };
  return { scep, scepEndpoints: { defaultEndpoint, endpointById } };
}

export type ScepModule = ReturnType<typeof buildScepModule>;
