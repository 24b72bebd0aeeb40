import type { IntegrationStatus } from '../integrations/integration.types';
import { IOS_CERTS_EOL_NOTICE } from '../integrations/integration.types';
import type { MigrationRecord } from './migration.types';
import { CERTIFICATE_TRUST_END, CertificateCounts, EXPIRING_WITHIN_DAYS } from './migration.types';
import { prepareApply } from './steps/apply.step';
import { prepareCutover } from './steps/cutover.step';
import { prepareFinalize } from './steps/finalize.step';
import { preparePlan } from './steps/plan.step';
import { prepareRollback } from './steps/rollback.step';
import type { MigrationDeps, PreparedStep, StepOptions } from './steps/step-context';
import { prepareVerify } from './steps/verify.step';

const DAY_MS = 86_400_000;

export interface LegacyIntegrationStatus {
  id: string;
  name: string;
  status: IntegrationStatus;
  group: string | null;
  deleted: boolean;
  certificates: CertificateCounts;
  migration: MigrationRecord | null;
}

export interface MigrationStatusView {
  notice: string;
  certificateTrustEnded: string;
  daysSinceEndOfLife: number;
  integrations: LegacyIntegrationStatus[];
}

/**
 * Legacy iOS certificate integration -> App Config, one persisted state machine per legacy
 * integration. Each step is prepared (checked, with a preview of what it will do) and then
 * executed after confirmation; see steps/ and state-machine.ts for the rules.
 */
export class MigrationService {
  constructor(private readonly deps: MigrationDeps) {}

  async status(): Promise<MigrationStatusView> {
    const now = this.deps.clock.now();
    const soon = new Date(now.getTime() + EXPIRING_WITHIN_DAYS * DAY_MS);
    const records = new Map((await this.deps.store.list()).map((r) => [r.legacyId, r]));
    const legacy = (await this.deps.integrations.listIntegrations()).filter((i) => i.type === 'ios-certs' && (!i.deletedAt || records.has(i.id)));
    const integrations: LegacyIntegrationStatus[] = [];
    for (const i of legacy) {
      integrations.push({
        id: i.id,
        name: i.name,
        status: i.status,
        group: i.groupName,
        deleted: Boolean(i.deletedAt),
        certificates: await this.deps.store.certificateCounts(i.id, now, soon),
        migration: records.get(i.id) ?? null,
      });
    }
    return {
      notice: IOS_CERTS_EOL_NOTICE.split(' Pass --allow-legacy')[0]!,
      certificateTrustEnded: CERTIFICATE_TRUST_END.toISOString().slice(0, 10),
      daysSinceEndOfLife: Math.floor((now.getTime() - CERTIFICATE_TRUST_END.getTime()) / DAY_MS),
      integrations,
    };
  }

  /** Live (not deleted) legacy integrations, oldest first: the order migrate-all takes them in. */
  async legacyIds(): Promise<string[]> {
    return (await this.deps.integrations.listIntegrations()).filter((i) => i.type === 'ios-certs' && !i.deletedAt).map((i) => i.id);
  }

  find(legacyId: string): Promise<MigrationRecord | undefined> {
    return this.deps.store.find(legacyId);
  }

  plan(legacyId: string, opts: StepOptions & { persist?: boolean }): Promise<PreparedStep> {
    return preparePlan(this.deps, legacyId, opts);
  }

  apply(legacyId: string, opts: StepOptions & { name?: string }): Promise<PreparedStep> {
    return prepareApply(this.deps, legacyId, opts);
  }

  verify(legacyId: string, opts: StepOptions): Promise<PreparedStep> {
    return prepareVerify(this.deps, legacyId, opts);
  }

  cutover(legacyId: string, opts: StepOptions & { minReady?: number; force?: boolean }): Promise<PreparedStep> {
    return prepareCutover(this.deps, legacyId, opts);
  }

  finalize(legacyId: string, opts: StepOptions & { graceDays?: number; force?: boolean }): Promise<PreparedStep> {
    return prepareFinalize(this.deps, legacyId, opts);
  }

  rollback(legacyId: string, opts: StepOptions): Promise<PreparedStep> {
    return prepareRollback(this.deps, legacyId, opts);
  }
}
