import { appConfigText } from '../mdm/workspace-one/app-config.presenter';
import type { MigrateAllSummary } from './migrate-all';
import type { MigrationStatusView } from './migration.service';
import { AT_RISK_TEXT } from './migration.types';
import { TARGET } from './state-machine';
import type { StepResult } from './steps/step-context';
import { cliText } from '../shared/terminal-text';
import { count } from '../shared/plural';

/** at-risk devices printed on the terminal at most (the reports list them all) */
const TEXT_DEVICE_LIMIT = 20;

const HEAD: Record<StepResult['outcome'], string> = {
  done: 'done',
  already: 'nothing to do',
  'report-only': 'report only (the migration is past planning; nothing changed)',
  'dry-run': 'dry run: nothing changed; this would happen',
};

/** What a step did (or would do), for the terminal; `confirming`: the preview shown before asking. */
export function stepText(r: StepResult, opts: { confirming?: boolean } = {}): string {
  const pending = opts.confirming || r.outcome === 'dry-run';
  const head = opts.confirming ? 'about to do this' : HEAD[r.outcome];
  const state = pending
    ? ` (state ${r.stateBefore ?? 'none'}; would become ${TARGET[r.step]})`
    : r.state
      ? ` (state ${r.stateBefore ?? 'none'} -> ${r.state})`
      : '';
  const lines = [`${cliText`${r.step} ${r.legacyId} "${r.legacyName}"`}: ${head}${state}`];
  lines.push(...r.actions.map((a) => cliText`  - ${a}`));
  lines.push(...r.warnings.map((w) => cliText`  warning: ${w}`));
  if (r.readiness?.atRisk) {
    lines.push('', `Devices at risk (${r.readiness.atRisk}):`);
    for (const d of r.readiness.devices.filter((x) => !x.ready).slice(0, TEXT_DEVICE_LIMIT))
      lines.push(cliText`  ${d.udid}  ${AT_RISK_TEXT[d.reason!]}${d.ws1EnrollmentStatus ? ` (${d.ws1EnrollmentStatus})` : ''}`);
    if (r.readiness.atRisk > TEXT_DEVICE_LIMIT) lines.push(`  ... ${r.readiness.atRisk - TEXT_DEVICE_LIMIT} more in the report`);
  }
  if (r.appConfig && r.appConfigId) lines.push('', `App Config integration ${r.appConfigId}. Paste into WS1:`, appConfigText(r.appConfig));
  return lines.join('\n');
}

export function statusText(v: MigrationStatusView): string {
  const lines = [`${v.notice} (${v.daysSinceEndOfLife} days since ${v.certificateTrustEnded})`, ''];
  if (!v.integrations.length) lines.push('No legacy (ios-certs) integrations.');
  for (const i of v.integrations) {
    const c = i.certificates;
    const m = i.migration;
    lines.push(cliText`${i.id}  "${i.name}"  ${i.deleted ? 'deleted' : i.status + (i.group ? `:${i.group}` : '')}`);
    lines.push(
      `  certificates: ${c.valid} valid (${c.expiring} expiring within 30 days), ${c.revoked} revoked, ${c.expired} expired; ${count(c.devices, 'device')}`,
    );
    if (!m) lines.push('  migration: not started (scepter migrate plan ' + i.id + ')');
    else {
      const ready =
        m.devicesTotal === null ? '' : `, ${m.devicesReady} of ${count(m.devicesTotal, 'device')} ready (${m.readinessSource} ${m.readinessAt?.toISOString()})`;
      lines.push(`  migration: ${m.state}${m.attempt > 1 ? ` (attempt ${m.attempt})` : ''}${m.appConfigId ? `, App Config ${m.appConfigId}` : ''}${ready}`);
      if (m.cutoverAt) lines.push(`  cut over ${m.cutoverAt.toISOString()}`);
      if (m.finalizedAt) lines.push(`  finalized ${m.finalizedAt.toISOString()}, ${count(m.revokedCount ?? 0, 'certificate')} revoked`);
    }
  }
  return lines.join('\n');
}

export function migrateAllText(s: MigrateAllSummary): string {
  const lines = s.entries.map((e) => cliText`${e.legacyId}: ${e.outcome} (${e.note})`);
  if (!lines.length) lines.push('no legacy integrations left to migrate');
  if (s.stoppedAt) lines.push(`stopped at ${s.stoppedAt}: not ready`);
  return lines.join('\n');
}
