import type { MigrationService } from './migration.service';
import type { MigrationState, ReadinessReport } from './migration.types';
import { NotReadyError } from './steps/cutover.step';
import { GracePeriodError } from './steps/finalize.step';
import type { PreparedStep, ProgressSink, StepOptions, StepResult } from './steps/step-context';
import { count } from '../shared/plural';

export interface MigrateAllOptions extends StepOptions {
  minReady: number;
  /** also finalize the cut-over ones whose grace period is over */
  finalize: boolean;
  graceDays?: number;
  dryRun: boolean;
}

export interface MigrateAllEntry {
  legacyId: string;
  state: MigrationState | null;
  outcome: 'migrated' | 'finalized' | 'skipped' | 'not-ready' | 'would-migrate' | 'waiting';
  note: string;
}

export interface MigrateAllSummary {
  entries: MigrateAllEntry[];
  /** the legacy integration migrate-all stopped at (not ready), if any */
  stoppedAt: string | null;
}

const ready = (r: ReadinessReport | undefined, minReady: number) => !r || r.ready * 100 >= minReady * r.total;

/**
 * Every live legacy integration in turn, oldest first, each taken from wherever it is up to
 * cutover (finalize only with `finalize`), stopping at the first one that is not ready. Resumable:
 * a rerun continues each migration from its persisted state.
 */
export async function migrateAll(
  svc: MigrationService,
  opts: MigrateAllOptions,
  hooks: { onResult(r: StepResult): Promise<void> | void; progress?: ProgressSink },
): Promise<MigrateAllSummary> {
  const entries: MigrateAllEntry[] = [];
  const run = async (p: PreparedStep) => {
    const r = opts.dryRun ? p.preview : await p.execute(hooks.progress);
    await hooks.onResult(r);
    return r;
  };
  for (const id of await svc.legacyIds()) {
    let state = (await svc.find(id))?.state ?? null;
    const entry = (outcome: MigrateAllEntry['outcome'], note: string) => entries.push({ legacyId: id, state, outcome, note });
    const notReady = (r: ReadinessReport | undefined) => {
      entry('not-ready', r ? `${r.ready} of ${count(r.total, 'device')} ready (${r.percentReady}%), at least ${opts.minReady}% needed` : 'not ready');
      return { entries, stoppedAt: id };
    };
    if (state === 'finalized') continue;
    if (state === null || state === 'planned' || state === 'rolled-back') {
      const plan = await (await svc.plan(id, { ...opts, persist: !opts.dryRun })).execute(hooks.progress);
      await hooks.onResult(plan);
      if (!ready(plan.readiness, opts.minReady)) return notReady(plan.readiness);
      if (opts.dryRun) {
        entry('would-migrate', 'would apply, verify and cut over');
        continue;
      }
      state = 'planned';
    }
    if (opts.dryRun) {
      entry('skipped', `dry run: the migration is ${state}; run the single steps with --dry-run to see more`);
      continue;
    }
    if (state === 'planned') state = (await run(await svc.apply(id, opts))).state;
    if (state === 'applied') {
      const v = await run(await svc.verify(id, opts));
      state = v.state;
      if (!ready(v.readiness, opts.minReady)) return notReady(v.readiness);
    }
    if (state === 'verified') {
      try {
        state = (await run(await svc.cutover(id, { ...opts, minReady: opts.minReady }))).state;
      } catch (err) {
        if (err instanceof NotReadyError) {
          entry('not-ready', err.message);
          return { entries, stoppedAt: id };
        }
        throw err;
      }
    }
    if (state === 'cut-over' && opts.finalize) {
      let prepared: PreparedStep;
      try {
        prepared = await svc.finalize(id, { ...opts, graceDays: opts.graceDays });
      } catch (err) {
        if (!(err instanceof GracePeriodError)) throw err;
        entry('waiting', err.message);
        continue;
      }
      state = (await run(prepared)).state;
      entry('finalized', 'legacy integration deleted, its certificates revoked');
      continue;
    }
    entry(state === 'cut-over' ? 'migrated' : 'skipped', state === 'cut-over' ? 'cut over; finalize after the grace period (--finalize)' : `left ${state}`);
  }
  return { entries, stoppedAt: null };
}
