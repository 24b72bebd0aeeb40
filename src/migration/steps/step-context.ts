import type { Actor, AuditRecord } from '../../admin/audit.types';
import type { IntegrationLookup } from '../../integrations/integration.ports';
import type { Integration } from '../../integrations/integration.types';
import type { AppConfigView } from '../../mdm/workspace-one/app-config.presenter';
import type { TestConfigurationResult } from '../../mdm/workspace-one/test-configuration';
import type { Ws1ClientSettings } from '../../mdm/workspace-one/ws1-client';
import type { StoredWs1Settings } from '../../mdm/workspace-one/ws1-integration.types';
import type { SyncOutcome } from '../../mdm/workspace-one/ws1-sync.service';
import type { SyncProgress } from '../../mdm/workspace-one/device-sync';
import type { Clock } from '../../shared/clock';
import { BadRequestError, NotFoundError } from '../../shared/errors';
import type { MigrationRepository } from '../../db/migration.repository';
import type { LiveInventory } from '../ws1-live-inventory';
import type { MigrationRecord, MigrationState, MigrationStep, ReadinessReport } from '../migration.types';
import { decide, type StepDecision } from '../state-machine';
import { count } from '../../shared/plural';

/** What the steps need from the rest of the service (migration.module.ts wires the concrete classes). */
export interface MigrationDeps {
  store: MigrationRepository;
  clock: Clock;
  integrations: IntegrationLookup;
  ws1: {
    /** decrypted settings of a WS1 integration; throws when it has none */
    clientSettings(integrationId: string): Promise<Ws1ClientSettings>;
    hasSettings(integrationId: string): Promise<boolean>;
    seal(integrationId: string, input: CompleteWs1Settings, now: Date): StoredWs1Settings;
    test(integrationId: string): Promise<TestConfigurationResult>;
    sync(integrationId: string, onProgress: ((p: SyncProgress) => void) | undefined, actor: Actor): Promise<SyncOutcome>;
  };
  appConfig(integrationId: string): Promise<AppConfigView>;
  live: LiveInventory;
  /** is any device-trust policy require-trusted? */
  deviceTrustRequired(): Promise<boolean>;
  /** republish the CRL now (running servers also do within a second) */
  republish(): Promise<void>;
  /** fault injection for crash tests: called with `<step>:before-commit` inside each step's transaction */
  crashPoint(label: string): void;
}

export interface CompleteWs1Settings {
  baseUrl: string;
  username: string;
  password: string;
  apiKey: string;
  caPem?: string | null;
}

/** Where plan and apply take WS1 settings from: an existing WS1 integration, or entered ones. */
export type Ws1Source = { fromIntegration: string } | { settings: CompleteWs1Settings };

export type StepOutcome = 'done' | 'already' | 'report-only' | 'dry-run';

/** What a step did (or would do): printed, written to the report folder, and returned as JSON. */
export interface StepResult {
  step: MigrationStep;
  legacyId: string;
  legacyName: string;
  appConfigId: string | null;
  outcome: StepOutcome;
  stateBefore: MigrationState | null;
  state: MigrationState | null;
  at: Date;
  actions: string[];
  warnings: string[];
  readiness?: ReadinessReport;
  appConfig?: AppConfigView;
  testConfiguration?: TestConfigurationResult;
  sync?: SyncOutcome;
  revoked?: number;
  /** finalize: how many would be / were revoked */
  certificates?: number;
}

/** A step checked and ready to run: `execute` is called after confirmation, never for a dry run. */
export interface PreparedStep {
  decision: StepDecision;
  /** shown before confirmation and in a dry run */
  preview: StepResult;
  /** whether running it needs --yes or a confirmation */
  mutating: boolean;
  execute(progress?: ProgressSink): Promise<StepResult>;
}

export interface ProgressSink {
  start(label: string, total: number): void;
  update(value: number, total?: number): void;
  stop(): void;
}

export interface StepOptions {
  actor: Actor;
  ws1?: Ws1Source;
}

/** The legacy integration, or the one-line error the issue asks for. */
export async function legacyIntegration(deps: MigrationDeps, id: string, opts: { allowDeleted?: boolean } = {}): Promise<Integration> {
  const i = /^[A-Za-z0-9_-]{1,64}$/.test(id) ? await deps.integrations.findIntegration(id) : undefined;
  if (!i || (i.deletedAt && !opts.allowDeleted)) throw new NotFoundError(`no integration ${id.slice(0, 64)}`);
  if (i.type !== 'ios-certs')
    throw new BadRequestError(`integration ${i.id} is of type ${i.type}, not ios-certs: only legacy certificate integrations are migrated`);
  return i;
}

export function auditRecord(actor: Actor, action: string, target: string, details: Record<string, unknown>, at: Date): AuditRecord {
  return { actor, action, target, details, at };
}

export function scope(status: string, group: string | null): string {
  return status === 'test-group' ? `test-group (group ${group})` : status;
}

export function readinessLine(r: ReadinessReport): string {
  const reasons = Object.entries(r.byReason)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  return `${r.ready} of ${count(r.total, 'device')} ready (${r.percentReady}%)${r.atRisk ? `, ${r.atRisk} at risk (${reasons})` : ''}`;
}

export function baseResult(step: MigrationStep, legacy: Integration, record: MigrationRecord | undefined, at: Date): StepResult {
  return {
    step,
    legacyId: legacy.id,
    legacyName: legacy.name,
    appConfigId: record?.appConfigId ?? null,
    outcome: 'dry-run',
    stateBefore: record?.state ?? null,
    state: record?.state ?? null,
    at,
    actions: [],
    warnings: [],
  };
}

/** A step that has nothing to do: the migration is already at or past its state. */
export function alreadyDone(step: MigrationStep, legacy: Integration, record: MigrationRecord, at: Date, extra: Partial<StepResult> = {}): PreparedStep {
  const result: StepResult = {
    ...baseResult(step, legacy, record, at),
    outcome: 'already',
    actions: [`nothing to do: the migration is already ${record.state}`],
    ...extra,
  };
  return { decision: { kind: 'done' }, preview: result, mutating: false, execute: async () => result };
}

/**
 * The legacy integration, its migration and what the step does in that state. A finalized
 * migration answers "already finalized" even though its integration is deleted by then.
 */
export async function loadForStep(
  deps: MigrationDeps,
  step: MigrationStep,
  legacyId: string,
): Promise<{ legacy: Integration; record: MigrationRecord | undefined; decision: StepDecision }> {
  const legacy = await legacyIntegration(deps, legacyId, { allowDeleted: true });
  const record = await deps.store.find(legacy.id);
  if (legacy.deletedAt && record?.state !== 'finalized') throw new NotFoundError(`no integration ${legacy.id}`);
  return { legacy, record, decision: decide(step, record?.state ?? null, legacy.id) };
}
