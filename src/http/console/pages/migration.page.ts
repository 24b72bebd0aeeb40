import fs from 'node:fs';
import path from 'node:path';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { AT_RISK_TEXT, MIGRATION_STEPS, MigrationRecord, MigrationStep } from '../../../migration/migration.types';
import { writeReport } from '../../../migration/report-writer';
import type { StepResult, Ws1Source } from '../../../migration/steps/step-context';
import { BadRequestError, NotFoundError } from '../../../shared/errors';
import { writeFileAtomic } from '../../../shared/secure-file';
import { ConsoleState, formText, may, need } from '../console-state';
import { html, Html } from '../html';
import { field, page, postForm, select, table, when } from '../layout';
import type { ConsolePageDeps } from '../console-deps';

const STATES = ['planned', 'applied', 'verified', 'cut-over', 'finalized'] as const;
/** at-risk devices kept for the page (every device is in the downloadable reports) */
const AT_RISK_SHOWN = 100;
const REPORT_NAME = /^[A-Za-z0-9_-]{1,64}-(plan|apply|verify|cutover|finalize|rollback)-[0-9TZ]{15,25}\.(json|csv|md)$/;

/**
 * Migration of a legacy integration: its state as a stepper, readiness as a chart and a table of
 * at-risk devices, each step previewed (the service's dry run) before it is confirmed, the reports
 * each run wrote, and rollback.
 */
export function registerMigrationPages(r: Router, d: ConsolePageDeps): void {
  r.get('/migrations', async (ctx) => {
    const s = need(ctx, 'integrations:read');
    const legacy = (await d.integrations.list()).filter((i) => i.type === 'ios-certs');
    const snapshot = await d.stats.current();
    const rows = await Promise.all(
      legacy.map(async (i) => {
        const m = await d.migration().find(i.id);
        const c = snapshot && (snapshot.byIntegration.get(i.id) ?? { devices: 0 });
        return html`<tr>
          <td><a href="/console/migrations/${i.id}">${i.name}</a></td>
          <td><code>${i.id}</code></td>
          <td>${i.status}</td>
          <td>${m?.state ?? 'not started'}</td>
          <td class="num">${c?.devices ?? '…'}</td>
          <td>${typeof m?.devicesTotal === 'number' ? `${m.devicesReady}/${m.devicesTotal}` : '—'}</td>
        </tr>`;
      }),
    );
    ctx.body = page(
      s.pc,
      'Migration',
      html`<p>
          Each legacy Certs for iOS integration moves to an iOS (App Config) integration: plan, apply, verify, cut over, finalize. Until finalize, rollback
          restores the legacy integration.
        </p>
        ${table(['Legacy integration', 'Id', 'Status', 'Migration', 'Devices with a valid certificate', 'Ready (last check)'], rows)}`,
    ).text;
  });

  r.get('/migrations/:id', async (ctx) => {
    const s = need(ctx, 'integrations:read');
    const i = await d.integrations.get(ctx.params.id!);
    if (i.type !== 'ios-certs') throw new NotFoundError(`integration ${i.id} is not a legacy Certs for iOS integration`);
    const record = await d.migration().find(i.id);
    ctx.body = page(s.pc, `Migration of ${i.name}`, await migrationBody(ctx, d, s, i.id, record)).text;
  });

  for (const step of MIGRATION_STEPS) {
    // preview: the service's dry run; nothing changes
    r.post(`/migrations/:id/${step}/preview`, async (ctx) => {
      const s = need(ctx, 'migrations:run');
      const id = ctx.params.id!;
      const p = await prepare(d, step, id, ctx, s);
      const result = p.decision.kind === 'run' && step !== 'plan' ? p.preview : step === 'plan' ? await p.execute(undefined) : p.preview;
      ctx.body = page(
        s.pc,
        `${step}: preview`,
        html`${resultView(result)}
          ${
            p.decision.kind === 'run'
              ? postForm(s.pc, `/migrations/${id}/${step}`.replace(/^/, '/console'), carried(ctx), `Confirm ${step}`, {
                  danger: step === 'cutover' || step === 'finalize' || step === 'rollback',
                  confirm: `Run ${step} on ${id}?`,
                })
              : html`<p>Nothing to run.</p>`
          }
          <p><a href="/console/migrations/${id}">Back</a></p>`,
      ).text;
    });
    r.post(`/migrations/:id/${step}`, async (ctx) => {
      const s = need(ctx, 'migrations:run');
      const id = ctx.params.id!;
      const p = await prepare(d, step, id, ctx, s);
      const result = await p.execute(undefined);
      const files = writeReport(d.reportDir, result);
      if (result.readiness) keepAtRisk(d.reportDir, id, result);
      d.stats.invalidate();
      ctx.body = page(
        s.pc,
        `${step}: ${result.outcome}`,
        html`${resultView(result)}
          <p>
            Reports:
            ${[files.markdown, files.csv, files.json].map((f) => html`<a href="/console/migrations/${id}/reports/${path.basename(f)}">${path.basename(f)}</a> `)}
          </p>
          <p><a class="button" href="/console/migrations/${id}">Back to the migration</a></p>`,
      ).text;
    });
  }

  r.get('/migrations/:id/reports/:file', async (ctx) => {
    need(ctx, 'integrations:read');
    const file = ctx.params.file!;
    if (!REPORT_NAME.test(file) || !file.startsWith(`${ctx.params.id}-`)) throw new NotFoundError('no such report');
    const full = path.join(d.reportDir, file);
    if (!fs.existsSync(full)) throw new NotFoundError('no such report');
    ctx.type = file.endsWith('.json') ? 'application/json' : file.endsWith('.csv') ? 'text/csv; charset=utf-8' : 'text/markdown; charset=utf-8';
    ctx.set('Content-Disposition', `attachment; filename="${file}"`);
    ctx.body = fs.createReadStream(full);
  });
}

type Prepared = Awaited<ReturnType<ReturnType<ConsolePageDeps['migration']>['plan']>>;

function prepare(d: ConsolePageDeps, step: MigrationStep, id: string, ctx: Context, s: ConsoleState): Promise<Prepared> {
  const svc = d.migration();
  const actor = s.actor;
  const num = (k: string) => {
    const v = formText(ctx, k);
    if (v === undefined) return undefined;
    if (!/^\d{1,4}$/.test(v)) throw new BadRequestError(`${k} must be a whole number`);
    return Number(v);
  };
  const force = formText(ctx, 'force') === 'yes';
  switch (step) {
    case 'plan':
      return svc.plan(id, { actor, ws1: ws1Source(ctx), persist: !ctx.path.endsWith('/preview') });
    case 'apply':
      return svc.apply(id, { actor, ws1: ws1Source(ctx), name: formText(ctx, 'name', { max: 200 }) });
    case 'verify':
      return svc.verify(id, { actor });
    case 'cutover':
      return svc.cutover(id, { actor, minReady: num('minReady'), force });
    case 'finalize':
      return svc.finalize(id, { actor, graceDays: num('graceDays'), force });
    case 'rollback':
      return svc.rollback(id, { actor });
  }
}

function ws1Source(ctx: Context): Ws1Source | undefined {
  const from = formText(ctx, 'ws1From', { max: 64 });
  if (from) return { fromIntegration: from };
  const url = formText(ctx, 'ws1Url');
  if (!url) return undefined;
  const need = (k: string) => formText(ctx, k, { required: true })!;
  return { settings: { baseUrl: url, username: need('ws1Username'), password: need('ws1Password'), apiKey: need('ws1ApiKey'), caPem: null } };
}

/** The preview's inputs, carried into its confirmation form (secrets included: same origin, POST body only). */
function carried(ctx: Context): Html[] {
  const keep = ['ws1From', 'ws1Url', 'ws1Username', 'ws1Password', 'ws1ApiKey', 'name', 'minReady', 'graceDays', 'force'];
  return keep.flatMap((k) => {
    const v = formText(ctx, k);
    return v === undefined ? [] : [html`<input type="hidden" name="${k}" value="${v}" />`];
  });
}

function resultView(r: StepResult): Html {
  const at = r.readiness;
  return html`<section class="card">
    <p><strong>${r.step}</strong> ${r.legacyName} (<code>${r.legacyId}</code>): ${r.outcome}; state ${r.stateBefore ?? 'none'} → ${r.state ?? 'none'}</p>
    ${
      r.actions.length
        ? html`<ul>
            ${r.actions.map((a) => html`<li>${a}</li>`)}
          </ul>`
        : ''
    }
    ${
      r.warnings.length
        ? html`<ul class="warn">
            ${r.warnings.map((w) => html`<li>${w}</li>`)}
          </ul>`
        : ''
    }
    ${at ? html`${readinessChart(at.ready, at.total)}${atRiskTable(at.devices.filter((x) => !x.ready).slice(0, AT_RISK_SHOWN), at.atRisk)}` : ''}
    ${r.revoked !== undefined ? html`<p>${r.revoked} certificate(s) revoked.</p>` : ''}
  </section>`;
}

function readinessChart(ready: number, total: number): Html {
  const pct = total ? Math.floor((ready * 1000) / total) / 10 : 100;
  return html`<figure class="chart">
    <svg viewBox="0 0 100 8" preserveAspectRatio="none" width="100%" height="32" role="img" aria-label="${ready} of ${total} devices ready (${pct}%)">
      <rect x="0" y="0" width="100" height="8" class="bar-bg"></rect>
      <rect x="0" y="0" width="${pct}" height="8" class="bar-ok"></rect>
    </svg>
    <figcaption>${ready} of ${total} devices ready (${pct}%), ${total - ready} at risk</figcaption>
  </figure>`;
}

interface AtRiskRow {
  udid: string;
  reason?: keyof typeof AT_RISK_TEXT;
  ws1EnrollmentStatus?: string;
  ws1User?: string;
  notAfter: Date | string;
}

function atRiskTable(rows: AtRiskRow[], total: number): Html {
  if (!total) return html`<p>No device at risk.</p>`;
  return html`${table(
    ['Device (UDID)', 'Why at risk', 'WS1 enrollment', 'WS1 user', 'Legacy certificate expires'],
    rows.map(
      (x) =>
        html`<tr>
          <td><code>${x.udid}</code></td>
          <td>${x.reason ? AT_RISK_TEXT[x.reason] : ''}</td>
          <td>${x.ws1EnrollmentStatus ?? '—'}</td>
          <td>${x.ws1User ?? '—'}</td>
          <td>${when(x.notAfter)}</td>
        </tr>`,
    ),
    `Devices at risk (${total}${total > rows.length ? `, first ${rows.length} shown; the reports list all` : ''})`,
  )}`;
}

/** The first at-risk devices of the latest readiness check, kept small for the page. */
function keepAtRisk(dir: string, legacyId: string, r: StepResult): void {
  const devices = r.readiness!.devices.filter((x) => !x.ready).slice(0, AT_RISK_SHOWN);
  writeFileAtomic(path.join(dir, `${legacyId}.at-risk.json`), JSON.stringify({ at: r.at, atRisk: r.readiness!.atRisk, devices }));
}

function readAtRisk(dir: string, legacyId: string): { at: string; atRisk: number; devices: AtRiskRow[] } | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, `${legacyId}.at-risk.json`), 'utf8'));
  } catch {
    return undefined;
  }
}

function reportsOf(dir: string, legacyId: string): string[] {
  try {
    return (
      fs
        .readdirSync(dir)
        .filter((f) => f.startsWith(`${legacyId}-`) && REPORT_NAME.test(f))
        // newest run first: by the timestamp in the name, then by extension
        .sort((a, b) => (stamp(b) + b).localeCompare(stamp(a) + a))
        .slice(0, 30)
    );
  } catch {
    return [];
  }
}

const stamp = (f: string) => /-([0-9TZ]{15,25})\.[a-z]+$/.exec(f)?.[1] ?? '';

async function migrationBody(ctx: Context, d: ConsolePageDeps, s: ConsoleState, id: string, m: MigrationRecord | undefined): Promise<Html> {
  const pc = s.pc;
  const run = may(ctx, 'migrations:run');
  const state = m?.state;
  const reached = state ? (state === 'rolled-back' ? -1 : STATES.indexOf(state)) : -1;
  const stepper = html`<ol class="stepper" aria-label="Migration state">
    ${STATES.map(
      (st, n) => html`<li class="${n < reached ? 'done' : n === reached ? 'current' : ''}" ${n === reached ? html` aria-current="step"` : ''}>${st}</li>`,
    )}${state === 'rolled-back' ? html`<li class="current" aria-current="step">rolled back</li>` : ''}
  </ol>`;
  const atRisk = readAtRisk(d.reportDir, id);
  const sources = (await d.integrations.list()).filter((i) => i.type !== 'ios-certs' && i.type !== 'windows' && i.type !== 'macos');
  const ws1Fields = html`${select('WS1 settings from', 'ws1From', [['', '(enter below)'], ...sources.map((i): [string, string] => [i.id, `${i.name} (${i.type})`])])}
    <details>
      <summary>Or enter WS1 API settings</summary>
      ${field('API URL', 'ws1Url')}${field('Username', 'ws1Username')}${field('Password', 'ws1Password', { type: 'password', autocomplete: 'off' })}${field('API key', 'ws1ApiKey', { type: 'password', autocomplete: 'off' })}
    </details>`;
  const stepForm = (step: MigrationStep, label: string, fields: Html | string = '') =>
    postForm(pc, `/console/migrations/${id}/${step}/preview`, fields, label, { className: 'card step' });
  const reports = reportsOf(d.reportDir, id);
  return html`${stepper}
    <p>
      State:
      <strong>${state ?? 'not started'}</strong
      >${m?.appConfigId ? html` · App Config integration <a href="/console/integrations/${m.appConfigId}">${m.appConfigId}</a>` : ''}
    </p>
    <section aria-labelledby="ready-h">
      <h2 id="ready-h">Readiness</h2>
      ${
        typeof m?.devicesTotal === 'number'
          ? html`${readinessChart(m.devicesReady ?? 0, m.devicesTotal)}
              <p class="muted">Checked ${when(m.readinessAt)} (${m.readinessSource}).</p>`
          : html`<p class="muted">Not checked yet: preview the plan step.</p>`
      }
      ${atRisk ? atRiskTable(atRisk.devices, atRisk.atRisk) : ''}
    </section>
    ${
      run
        ? html`<section aria-labelledby="steps-h">
            <h2 id="steps-h">Steps</h2>
            <p>Each button shows what the step would do; nothing changes until you confirm.</p>
            <div class="steps">
              ${stepForm('plan', 'Plan (check readiness)…', ws1Fields)}
              ${stepForm('apply', 'Apply (create the App Config integration)…', html`${field('Name of the new integration (optional)', 'name')}${ws1Fields}`)}
              ${stepForm('verify', 'Verify…')}
              ${stepForm(
                'cutover',
                'Cut over…',
                html`${field('Minimum ready %', 'minReady', { inputmode: 'numeric' })}
                  <p class="field"><input type="checkbox" id="f-force-c" name="force" value="yes" /><label class="inline" for="f-force-c">Force</label></p>`,
              )}
              ${stepForm(
                'finalize',
                'Finalize (revoke legacy certificates)…',
                html`${field('Grace days', 'graceDays', { inputmode: 'numeric' })}
                  <p class="field"><input type="checkbox" id="f-force-f" name="force" value="yes" /><label class="inline" for="f-force-f">Force</label></p>`,
              )}
              ${stepForm('rollback', 'Roll back…')}
            </div>
          </section>`
        : ''
    }
    <section aria-labelledby="rep-h">
      <h2 id="rep-h">Reports</h2>
      ${
        reports.length
          ? html`<ul>
              ${reports.map((f) => html`<li><a href="/console/migrations/${id}/reports/${f}">${f}</a></li>`)}
            </ul>`
          : html`<p class="muted">None yet.</p>`
      }
    </section>`;
}
