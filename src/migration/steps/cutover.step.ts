import { BadRequestError, ConflictError } from '../../shared/errors';
import { DEFAULT_MIN_READY_PERCENT } from '../migration.types';
import { readinessFromSync } from '../readiness';
import { alreadyDone, auditRecord, baseResult, loadForStep, MigrationDeps, PreparedStep, readinessLine, scope, StepOptions } from './step-context';
import { count } from '../../shared/plural';

/** Too few devices are ready: cutting over would lock the others out. */
export class NotReadyError extends ConflictError {}

/**
 * cutover: the App Config integration takes the legacy scope (same test group, or all users) and
 * the legacy integration becomes disabled: both statuses, the migration row and the audit entries
 * in one transaction. Readiness is recomputed from the synced inventory (no WS1 call).
 */
export async function prepareCutover(deps: MigrationDeps, legacyId: string, opts: StepOptions & { minReady?: number; force?: boolean }): Promise<PreparedStep> {
  const { legacy, record, decision } = await loadForStep(deps, 'cutover', legacyId);
  const now = deps.clock.now();
  if (decision.kind === 'done') return alreadyDone('cutover', legacy, record!, now);
  const appConfigId = record!.appConfigId!;
  const appConfig = await deps.integrations.findIntegration(appConfigId);
  if (!appConfig || appConfig.deletedAt)
    throw new ConflictError(`the App Config integration ${appConfigId} was deleted: roll back (scepter migrate rollback ${legacy.id}) and plan again`);
  if (legacy.status === 'disabled')
    throw new BadRequestError(`${legacy.id} is disabled: it has no users to cut over (its previous scope is unknown); set its status or roll back`);
  const minReady = opts.minReady ?? DEFAULT_MIN_READY_PERCENT;
  if (!(minReady >= 0 && minReady <= 100)) throw new BadRequestError('--min-ready must be a percentage from 0 to 100');
  const certs = await deps.store.validCertificates(legacy.id, now);
  const synced = await deps.store.syncedUdids(appConfigId);
  let readiness = readinessFromSync(certs, synced, now);
  // name the missing ones as verify does (not in WS1 / not enrolled) with one live search; if WS1
  // cannot be reached the figures stand and the devices stay plain not-synced
  if (readiness.atRisk) {
    const live = await deps.ws1
      .clientSettings(appConfigId)
      .then((settings) => deps.live(settings))
      .catch(() => undefined);
    if (live) readiness = readinessFromSync(certs, synced, now, live);
  }
  const enough = readiness.ready * 100 >= minReady * readiness.total;
  if (!enough && !opts.force) {
    throw new NotReadyError(
      `only ${readiness.ready} of ${count(readiness.total, 'device')} of ${legacy.id} are ready (${readiness.percentReady}%, at least ${minReady}% needed); fix them in WS1 and run migrate verify again, or pass --force (or a lower --min-ready)`,
    );
  }
  const preview = { ...baseResult('cutover', legacy, record, now), readiness };
  preview.actions = [
    readinessLine(readiness),
    `set the App Config integration ${appConfigId} to ${scope(legacy.status, legacy.groupName)}`,
    `set the legacy integration ${legacy.id} to disabled (was ${scope(legacy.status, legacy.groupName)}; rollback restores it)`,
  ];
  if (!enough)
    preview.warnings.push(`--force: ${count(readiness.atRisk, 'device')} ${readiness.atRisk === 1 ? 'is' : 'are'} not ready and will lose device trust`);
  return {
    decision,
    preview,
    mutating: true,
    execute: async () => {
      const at = deps.clock.now();
      const audit = [
        auditRecord(opts.actor, 'integration.status', appConfigId, { status: legacy.status, group: legacy.groupName, migration: legacy.id }, at),
        auditRecord(opts.actor, 'integration.status', legacy.id, { status: 'disabled', group: null, migration: legacy.id }, at),
        auditRecord(
          opts.actor,
          'migration.cutover',
          legacy.id,
          { appConfigId, scope: legacy.status, group: legacy.groupName, total: readiness.total, ready: readiness.ready, minReady, forced: !enough },
          at,
        ),
      ];
      const saved = await deps.store.cutover({
        legacyId: legacy.id,
        from: 'verified',
        now: at,
        audit,
        appConfigId,
        legacyStatus: legacy.status,
        legacyGroup: legacy.groupName,
        readiness,
        beforeCommit: () => deps.crashPoint('cutover:before-commit'),
      });
      return { ...preview, at, outcome: 'done', state: saved.state };
    },
  };
}
