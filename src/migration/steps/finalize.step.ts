import { BadRequestError, ConflictError } from '../../shared/errors';
import { DEFAULT_GRACE_DAYS } from '../migration.types';
import { auditRecord, baseResult, loadForStep, MigrationDeps, PreparedStep, scope, StepOptions } from './step-context';
import { count } from '../../shared/plural';

const DAY_MS = 86_400_000;

/** The grace period after cutover is not over yet. */
export class GracePeriodError extends ConflictError {}

/**
 * finalize: after the grace period, deletes the legacy integration, which revokes every unexpired
 * certificate it issued (cessationOfOperation): the deletion, the revocations, the migration row
 * and the audit entries are one transaction. Then the CRL is republished.
 */
export async function prepareFinalize(
  deps: MigrationDeps,
  legacyId: string,
  opts: StepOptions & { graceDays?: number; force?: boolean },
): Promise<PreparedStep> {
  const { legacy, record, decision } = await loadForStep(deps, 'finalize', legacyId);
  const grace = opts.graceDays ?? DEFAULT_GRACE_DAYS;
  if (!(Number.isInteger(grace) && grace >= 0 && grace <= 3650)) throw new BadRequestError('--grace must be a whole number of days from 0 to 3650');
  const now = deps.clock.now();
  const endsAt = new Date(record!.cutoverAt!.getTime() + grace * DAY_MS);
  if (now < endsAt)
    throw new GracePeriodError(
      `the grace period of ${legacy.id} ends ${endsAt.toISOString()} (${grace} days after cutover): finalize then, or now with --grace 0`,
    );
  // re-activated after cutover: deleting it now could lock its users out (as integration delete refuses)
  if (legacy.status !== 'disabled' && !opts.force && (await deps.deviceTrustRequired())) {
    throw new ConflictError(
      `${legacy.id} is active again (${scope(legacy.status, legacy.groupName)}) and a policy requires trusted devices: deleting it would lock its users out; disable it first, or pass --force`,
    );
  }
  const counts = await deps.store.certificateCounts(legacy.id, now, now);
  const preview = { ...baseResult('finalize', legacy, record, now), certificates: counts.valid };
  preview.actions = [
    `delete the legacy integration ${legacy.id} "${legacy.name}" (its SCEP and challenge URLs then answer 404)`,
    `revoke its ${count(counts.valid, 'valid certificate')} on ${count(counts.devices, 'device')} (reason cessationOfOperation)`,
    'republish the CRL (running servers also do within a second)',
  ];
  return {
    decision,
    preview,
    mutating: true,
    execute: async () => {
      const at = deps.clock.now();
      const audit = (revoked: number) => [
        auditRecord(opts.actor, 'integration.delete', legacy.id, { revoked, reason: 'cessationOfOperation', migration: legacy.id }, at),
        auditRecord(opts.actor, 'migration.finalize', legacy.id, { appConfigId: record!.appConfigId, revoked, graceDays: grace }, at),
      ];
      const { record: saved, revoked } = await deps.store.finalize({
        legacyId: legacy.id,
        from: 'cut-over',
        now: at,
        audit,
        beforeCommit: () => deps.crashPoint('finalize:before-commit'),
      });
      const result = {
        ...preview,
        at,
        outcome: 'done' as const,
        state: saved.state,
        revoked,
        actions: [...preview.actions.slice(0, 1), `revoked ${count(revoked, 'certificate')}`, preview.actions[2]!],
      };
      await deps
        .republish()
        .catch(() => result.warnings.push('could not republish the CRL now; running servers republish it within a second, others at start'));
      return result;
    },
  };
}
