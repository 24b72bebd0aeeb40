import { alreadyDone, auditRecord, baseResult, loadForStep, MigrationDeps, PreparedStep, scope, StepOptions } from './step-context';

/**
 * rollback (before finalize): the legacy integration gets back the status and group it had before
 * cutover, and the App Config integration is disabled, in one transaction. The App Config
 * integration itself is kept, with its key and settings, for a later attempt (plan again).
 */
export async function prepareRollback(deps: MigrationDeps, legacyId: string, opts: StepOptions): Promise<PreparedStep> {
  const { legacy, record, decision } = await loadForStep(deps, 'rollback', legacyId);
  const now = deps.clock.now();
  if (decision.kind === 'done') return alreadyDone('rollback', legacy, record!, now);
  const restore = record!.state === 'cut-over' && record!.previousStatus ? { status: record!.previousStatus, group: record!.previousGroup } : null;
  const appConfigId = record!.appConfigId;
  const preview = baseResult('rollback', legacy, record, now);
  preview.actions = [
    restore
      ? `restore the legacy integration ${legacy.id} to ${scope(restore.status, restore.group)} (now ${scope(legacy.status, legacy.groupName)})`
      : `leave the legacy integration ${legacy.id} as it is (${scope(legacy.status, legacy.groupName)}): cutover never happened`,
    appConfigId ? `set the App Config integration ${appConfigId} to disabled (kept for a later attempt)` : 'no App Config integration to disable',
  ];
  return {
    decision,
    preview,
    mutating: true,
    execute: async () => {
      const at = deps.clock.now();
      const audit = [
        ...(restore
          ? [auditRecord(opts.actor, 'integration.status', legacy.id, { status: restore.status, group: restore.group, migration: legacy.id }, at)]
          : []),
        ...(appConfigId ? [auditRecord(opts.actor, 'integration.status', appConfigId, { status: 'disabled', group: null, migration: legacy.id }, at)] : []),
        auditRecord(opts.actor, 'migration.rollback', legacy.id, { from: record!.state, appConfigId, restored: restore }, at),
      ];
      const saved = await deps.store.rollback({
        legacyId: legacy.id,
        from: record!.state,
        now: at,
        audit,
        appConfigId,
        restore,
        beforeCommit: () => deps.crashPoint('rollback:before-commit'),
      });
      return { ...preview, at, outcome: 'done', state: saved.state };
    },
  };
}
