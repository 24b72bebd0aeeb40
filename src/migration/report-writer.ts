import fs from 'node:fs';
import path from 'node:path';
import { BadRequestError } from '../shared/errors';
import { PRIVATE_DIR_MODE, writeFileAtomic } from '../shared/secure-file';
import { AT_RISK_TEXT, DeviceReadiness, ReadinessReport } from './migration.types';
import type { StepResult } from './steps/step-context';

export interface ReportFiles {
  json: string;
  csv: string;
  markdown: string;
}

/** A run that failed: still reported (what was attempted, and why it stopped). */
export interface ErrorReport {
  step: string;
  legacyId: string | null;
  outcome: 'error';
  at: Date;
  error: string;
}

export type Reportable = StepResult | ErrorReport | ({ step: 'migrate-all'; legacyId: null; at: Date; outcome: string } & Record<string, unknown>);

/** at-risk devices listed in the Markdown report at most; the CSV always has every device */
const MARKDOWN_DEVICE_LIMIT = 1000;

/**
 * Writes `<legacy id>-<step>-<UTC timestamp>.{json,csv,md}` into `dir`: the JSON is the full result,
 * the CSV one line per device (or the summary as field,value), the Markdown a readable summary.
 */
export function writeReport(dir: string, r: Reportable): ReportFiles {
  // the name is built from validated parts only, so it always lands inside `dir`
  const legacyId = r.legacyId === null ? 'all' : validReportId(r.legacyId);
  if (!REPORT_PART.test(r.step)) throw new BadRequestError(`not a valid migration step name: ${JSON.stringify(r.step.slice(0, 64))}`);
  // created owner-only when missing; an existing directory (the admin's choice) keeps its mode
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const stamp = r.at.toISOString().replace(/[-:]/g, '').replace('.', '');
  const base = path.join(dir, `${legacyId}-${r.step}-${stamp}`);
  const files = { json: `${base}.json`, csv: `${base}.csv`, markdown: `${base}.md` };
  const readiness = 'readiness' in r ? (r.readiness as ReadinessReport | undefined) : undefined;
  // reports list device ids and users: 0600, also when a file of that name existed
  writeFileAtomic(files.json, JSON.stringify(r, null, 2) + '\n');
  writeFileAtomic(files.csv, readiness ? devicesCsv(readiness.devices) : summaryCsv(r));
  writeFileAtomic(files.markdown, markdown(r, readiness));
  return files;
}

/**
 * Makes sure reports can be written to `dir` before a step runs: a step that changed the database and
 * then could not report would tell the admin it failed. Creates the directory (0700) when missing,
 * and writes and removes a probe file in it; a BadRequestError names the directory and why otherwise.
 */
export function checkReportDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    const probe = path.join(dir, `.scepter-report-probe-${process.pid}`);
    fs.writeFileSync(probe, '', { mode: 0o600 });
    fs.rmSync(probe);
  } catch (err) {
    throw new BadRequestError(`cannot write reports to ${dir} (--report-dir): ${(err as NodeJS.ErrnoException).code ?? 'error'}; nothing was changed`);
  }
}

/** Integration ids as the service makes them (letters, digits, _ and -); nothing that could name a path. */
const REPORT_PART = /^[A-Za-z0-9_-]{1,64}$/;

/** `id` when it can be part of a report file name, else a BadRequestError saying why. */
export function validReportId(id: string): string {
  if (!REPORT_PART.test(id)) throw new BadRequestError(`not a valid integration id: ${JSON.stringify(id.slice(0, 64))} (letters, digits, _ and - only)`);
  return id;
}

function devicesCsv(devices: DeviceReadiness[]): string {
  const lines = ['udid,readiness,reason,reason_text,ws1_enrollment_status,ws1_user,certificates,serials,not_after'];
  for (const d of devices) {
    lines.push(
      [
        d.udid,
        d.ready ? 'ready' : 'at-risk',
        d.reason ?? '',
        d.reason ? AT_RISK_TEXT[d.reason] : '',
        d.ws1EnrollmentStatus ?? '',
        d.ws1User ?? '',
        String(d.serials.length),
        d.serials.join(' '),
        d.notAfter.toISOString(),
      ]
        .map(csvCell)
        .join(','),
    );
  }
  return lines.join('\n') + '\n';
}

function summaryCsv(r: Reportable): string {
  const rows = Object.entries(r).filter(([, v]) => v === null || typeof v !== 'object' || v instanceof Date);
  return ['field,value', ...rows.map(([k, v]) => `${csvCell(k)},${csvCell(v instanceof Date ? v.toISOString() : String(v))}`)].join('\n') + '\n';
}

/** RFC 4180 quoting; a leading = + - @ is defused (device ids come from certificate subjects). */
function csvCell(value: string): string {
  const v = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function md(value: unknown): string {
  return String(value ?? '')
    .replace(/[|\\`*_<>[\]]/g, (c) => `\\${c}`)
    .replace(/\r?\n/g, ' ');
}

function markdown(r: Reportable, readiness: ReadinessReport | undefined): string {
  const out = [`# Migration ${r.step}: ${md(r.legacyId ?? 'all legacy integrations')}`, '', '| | |', '|---|---|'];
  for (const [k, v] of Object.entries(r)) {
    if (v === null || v === undefined || (typeof v === 'object' && !(v instanceof Date))) continue;
    out.push(`| ${md(k)} | ${md(v instanceof Date ? v.toISOString() : v)} |`);
  }
  const list = (title: string, items: unknown) => {
    if (Array.isArray(items) && items.length) out.push('', `## ${title}`, '', ...items.map((a) => `- ${md(typeof a === 'string' ? a : JSON.stringify(a))}`));
  };
  list('Actions', (r as StepResult).actions);
  list('Warnings', (r as StepResult).warnings);
  list('Integrations', (r as { entries?: unknown[] }).entries);
  if (readiness) {
    out.push(
      '',
      '## Readiness',
      '',
      `Source: ${readiness.source} at ${readiness.at.toISOString()}`,
      '',
      `- devices with a valid legacy certificate: ${readiness.total}`,
      `- ready: ${readiness.ready} (${readiness.percentReady}%)`,
      `- at risk: ${readiness.atRisk}`,
    );
    for (const [reason, n] of Object.entries(readiness.byReason)) out.push(`  - ${reason}: ${n} (${AT_RISK_TEXT[reason as keyof typeof AT_RISK_TEXT]})`);
    const atRisk = readiness.devices.filter((d) => !d.ready);
    if (atRisk.length) {
      out.push('', '### Devices at risk', '', '| UDID | reason | WS1 status | WS1 user | certificate expires |', '|---|---|---|---|---|');
      for (const d of atRisk.slice(0, MARKDOWN_DEVICE_LIMIT))
        out.push(
          `| ${md(d.udid)} | ${md(d.reason)} | ${md(d.ws1EnrollmentStatus ?? '-')} | ${md(d.ws1User ?? '-')} | ${d.notAfter.toISOString().slice(0, 10)} |`,
        );
      if (atRisk.length > MARKDOWN_DEVICE_LIMIT) out.push('', `(${atRisk.length - MARKDOWN_DEVICE_LIMIT} more in the CSV report)`);
    }
  }
  return out.join('\n') + '\n';
}
