import { AppError } from '../../shared/errors';
import { readinessFromSync } from '../readiness';
import { alreadyDone, auditRecord, baseResult, loadForStep, MigrationDeps, PreparedStep, readinessLine, StepOptions } from './step-context';
import { count } from '../../shared/plural';

/** Test Configuration or the sync failed: the migration stays where it was. */
export class VerifyFailedError extends AppError {
  constructor(message: string) {
    super(message, { status: 502, code: 'migration_verify_failed', expose: true });
  }
}

/**
 * verify: Test Configuration and a device sync of the App Config integration, then readiness
 * against the synced inventory (what the identifier check will consult). Devices missing from it
 * are explained with a live WS1 search. May be repeated until cutover.
 */
export async function prepareVerify(deps: MigrationDeps, legacyId: string, opts: StepOptions): Promise<PreparedStep> {
  const { legacy, record, decision } = await loadForStep(deps, 'verify', legacyId);
  const now = deps.clock.now();
  if (decision.kind === 'done') return alreadyDone('verify', legacy, record!, now);
  const appConfigId = record!.appConfigId!;
  const preview = baseResult('verify', legacy, record, now);
  preview.actions = [
    `run Test Configuration of the App Config integration ${appConfigId}`,
    `sync its managed iOS devices from WS1 (the previous inventory stays if the sync fails)`,
    `match the ${legacy.id} devices holding valid certificates against the synced inventory`,
  ];
  return {
    decision,
    preview,
    mutating: false,
    execute: async (progress) => {
      const test = await deps.ws1.test(appConfigId);
      if (!test.ok) throw new VerifyFailedError(`Test Configuration of ${appConfigId} failed: ${test.message}`);
      progress?.start('WS1 sync', 0);
      let sync;
      try {
        sync = await deps.ws1.sync(appConfigId, (p) => progress?.update(p.fetched, Math.max(p.total, p.fetched)), opts.actor);
      } finally {
        progress?.stop();
      }
      if (!sync.ok) throw new VerifyFailedError(sync.message);
      const at = deps.clock.now();
      const certs = await deps.store.validCertificates(legacy.id, at);
      const synced = await deps.store.syncedUdids(appConfigId);
      let readiness = readinessFromSync(certs, synced, at);
      // explain the missing ones (not in WS1 / not enrolled) with one live search
      if (readiness.atRisk) readiness = readinessFromSync(certs, synced, at, await deps.live(await deps.ws1.clientSettings(appConfigId)));
      const audit = auditRecord(
        opts.actor,
        'migration.verify',
        legacy.id,
        { from: decision.kind === 'run' ? decision.from : null, appConfigId, total: readiness.total, ready: readiness.ready, synced: sync.managed },
        at,
      );
      const saved = await deps.store.verify({
        legacyId: legacy.id,
        from: record!.state,
        now: at,
        audit: [audit],
        readiness,
        beforeCommit: () => deps.crashPoint('verify:before-commit'),
      });
      return {
        ...preview,
        at,
        outcome: 'done',
        state: saved.state,
        testConfiguration: test,
        sync,
        readiness,
        actions: [test.message, `synced ${count(sync.managed, 'managed device')}`, readinessLine(readiness)],
      };
    },
  };
}
