import { ConflictError } from '../shared/errors';
import type { MigrationState, MigrationStep } from './migration.types';

/** A step run out of order, or on a finalized migration: one line, exit 1, nothing changed. */
export class MigrationStepError extends ConflictError {}

/**
 * What a step does in the migration's current state:
 * - `run`: the step changes the state (from `from`);
 * - `done`: the migration is already at or past this step's state: nothing to do (a rerun after a
 *   crash that happened after the commit ends here, so reruns are harmless);
 * - `report`: plan after apply: a fresh readiness report, no state change.
 */
export type StepDecision = { kind: 'run'; from: MigrationState | null } | { kind: 'done' } | { kind: 'report' };

const AFTER: Record<MigrationStep, readonly MigrationState[]> = {
  plan: [],
  apply: ['applied', 'verified', 'cut-over'],
  verify: ['verified', 'cut-over'],
  cutover: ['cut-over'],
  finalize: [],
  rollback: ['rolled-back'],
};

const FROM: Record<MigrationStep, readonly (MigrationState | null)[]> = {
  // a rolled-back migration starts over with a new plan (attempt + 1); nothing else is allowed from there
  plan: [null, 'planned', 'rolled-back'],
  apply: ['planned'],
  // verify may be repeated until cutover (e.g. after fixing devices in WS1)
  verify: ['applied', 'verified'],
  cutover: ['verified'],
  finalize: ['cut-over'],
  rollback: ['planned', 'applied', 'verified', 'cut-over'],
};

const NEEDS: Record<MigrationStep, string> = {
  plan: '',
  apply: 'migrate plan',
  verify: 'migrate apply',
  cutover: 'migrate verify',
  finalize: 'migrate cutover',
  rollback: 'migrate plan',
};

/** The step's target state. */
export const TARGET: Record<MigrationStep, MigrationState> = {
  plan: 'planned',
  apply: 'applied',
  verify: 'verified',
  cutover: 'cut-over',
  finalize: 'finalized',
  rollback: 'rolled-back',
};

export function decide(step: MigrationStep, state: MigrationState | null, legacyId: string): StepDecision {
  if (state === 'finalized')
    throw new MigrationStepError(`the migration of ${legacyId} is already finalized (its certificates are revoked); nothing to ${step}`);
  if (FROM[step].includes(state)) return { kind: 'run', from: state };
  if (AFTER[step].includes(state as MigrationState)) return { kind: 'done' };
  if (step === 'plan') return { kind: 'report' };
  if (state === null) throw new MigrationStepError(`no migration of ${legacyId} yet: run scepter migrate plan ${legacyId} first`);
  if (state === 'rolled-back')
    throw new MigrationStepError(`the migration of ${legacyId} was rolled back: run scepter migrate plan ${legacyId} to start again`);
  throw new MigrationStepError(`cannot ${step} ${legacyId}: the migration is ${state}; run scepter ${NEEDS[step]} ${legacyId} first`);
}
