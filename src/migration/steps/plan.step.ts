import { DEFAULT_GRACE_DAYS, DEFAULT_MIN_READY_PERCENT } from '../migration.types';
import { readinessFromLive } from '../readiness';
import { resolveWs1 } from './ws1-source';
import { auditRecord, baseResult, loadForStep, MigrationDeps, PreparedStep, readinessLine, scope, StepOptions, StepResult } from './step-context';

/**
 * plan: changes nothing in the deployment. Fetches the WS1 inventory of iOS devices live, matches
 * every device holding a valid legacy certificate against it, and records the migration as
 * planned (or, once applied, only reports). `persist: false` (migrate-all --dry-run) records nothing.
 */
export async function preparePlan(deps: MigrationDeps, legacyId: string, opts: StepOptions & { persist?: boolean }): Promise<PreparedStep> {
  const { legacy, record, decision } = await loadForStep(deps, 'plan', legacyId);
  const ws1 = await resolveWs1(deps, opts.ws1, record);
  const preview = baseResult('plan', legacy, record, deps.clock.now());
  const reuse = record?.appConfigId;
  preview.actions = [
    `apply: ${reuse ? `reuse the App Config (ios) integration ${reuse}` : `create an App Config (ios) integration "${legacy.name} (App Config)"`} with status disabled, WS1 settings ${ws1.description}, a Trusted Endpoints Configuration Key and the Identifier {DeviceUid}`,
    'verify: run Test Configuration and a device sync of the App Config integration, then readiness against its synced inventory',
    `cutover: give the App Config integration the legacy scope (now ${scope(legacy.status, legacy.groupName)}) and set ${legacy.id} to disabled; refused below ${DEFAULT_MIN_READY_PERCENT}% ready (--min-ready) unless --force`,
    `finalize: ${DEFAULT_GRACE_DAYS} days after cutover (--grace), delete ${legacy.id}, revoking its valid certificates (cessationOfOperation), and republish the CRL`,
    'rollback (any time before finalize): restore the legacy status and group, disable the App Config integration',
  ];
  return {
    decision,
    preview,
    mutating: false,
    execute: async (progress) => {
      progress?.start('WS1 iOS devices', 0);
      let inventory;
      try {
        inventory = await deps.live(ws1.client, (fetched, total) => progress?.update(fetched, total));
      } finally {
        progress?.stop();
      }
      const now = deps.clock.now();
      const readiness = readinessFromLive(await deps.store.validCertificates(legacy.id, now), inventory, now);
      const result: StepResult = { ...preview, at: now, readiness, outcome: decision.kind === 'run' ? 'done' : 'report-only' };
      const audit = auditRecord(
        opts.actor,
        'migration.plan',
        legacy.id,
        { state: record?.state ?? null, reportOnly: decision.kind !== 'run', total: readiness.total, ready: readiness.ready, ws1: ws1.sourceId ?? 'entered' },
        now,
      );
      if (opts.persist === false) return { ...result, outcome: 'dry-run' };
      if (decision.kind === 'run') {
        const saved = await deps.store.savePlan({
          legacyId: legacy.id,
          from: decision.from,
          now,
          audit: [audit],
          ws1SourceId: ws1.sourceId,
          readiness,
          beforeCommit: () => deps.crashPoint('plan:before-commit'),
        });
        result.state = saved.state;
        result.appConfigId = saved.appConfigId;
      } else await deps.store.appendAudit(audit);
      result.actions = [readinessLine(readiness), ...preview.actions];
      return result;
    },
  };
}
