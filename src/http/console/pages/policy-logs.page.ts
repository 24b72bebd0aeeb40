import type Router from '@koa/router';
import { TRUST_POLICIES } from '../../../trust/trust.types';
import { wholeNumber } from '../../../shared/paging';
import { formText, may, need, queryText, redirectWithNotice } from '../console-state';
import { html, query } from '../html';
import { field, page, postForm, select, table, when } from '../layout';
import type { ConsolePageDeps } from '../console-deps';

const LOG_PAGE = 100;

/** Device-trust policy (global and per application), the authentication log and the audit log. */
export function registerPolicyAndLogPages(r: Router, d: ConsolePageDeps): void {
  r.get('/policy', async (ctx) => {
    const s = need(ctx, 'integrations:read');
    const p = await d.trustPolicy.show();
    const write = may(ctx, 'integrations:write');
    const options = TRUST_POLICIES.map((x): [string, string] => [x, x]);
    ctx.body = page(
      s.pc,
      'Device-trust policy',
      html`<section class="card">
          <h2>Global</h2>
          <p>Policy: <strong>${p.global}</strong></p>
          ${write ? postForm(s.pc, '/console/policy', select('Global policy', 'policy', options, p.global), 'Save global policy') : ''}
        </section>
        <section class="card">
          <h2>Per application</h2>
          ${table(
            ['Application', 'Policy', 'Updated', ''],
            p.applications.map(
              (a) =>
                html`<tr>
                  <td>${a.application}</td>
                  <td>${a.policy}</td>
                  <td>${when(a.updatedAt)}</td>
                  <td>
                    ${
                      write
                        ? postForm(
                            s.pc,
                            '/console/policy/remove',
                            html`<input type="hidden" name="application" value="${a.application}" />`,
                            'Use the global policy',
                            {
                              className: 'inline',
                              confirm: `Remove the policy of ${a.application}?`,
                            },
                          )
                        : ''
                    }
                  </td>
                </tr>`,
            ),
          )}
          ${write ? postForm(s.pc, '/console/policy', html`${field('Application', 'application', { required: true })}${select('Policy', 'policy', options)}`, 'Set application policy') : ''}
        </section>`,
    ).text;
  });
  r.post('/policy', async (ctx) => {
    const s = need(ctx, 'integrations:write');
    // the global form has no application field; the per-application form's may not be left blank
    const app = s.form.has('application') ? formText(ctx, 'application', { required: true, max: 200 }) : undefined;
    await d.trustPolicy.set(formText(ctx, 'policy', { required: true }), app, s.actor);
    redirectWithNotice(ctx, '/console/policy', `Policy saved${app ? ` for ${app}` : ''}.`);
  });
  r.post('/policy/remove', async (ctx) => {
    const s = need(ctx, 'integrations:write');
    const app = formText(ctx, 'application', { required: true, max: 200 });
    await d.trustPolicy.removeOverride(app, s.actor);
    redirectWithNotice(ctx, '/console/policy', `${app} follows the global policy again.`);
  });

  r.get('/auth-log', async (ctx) => {
    const s = need(ctx, 'audit:read');
    const f = { user: queryText(ctx, 'user'), device: queryText(ctx, 'device'), since: queryText(ctx, 'since') };
    const entries = (await d.authLog.list({ ...f, limit: LOG_PAGE })).reverse();
    ctx.body = page(
      s.pc,
      'Authentication log',
      html`<form method="get" action="/console/auth-log" class="row filters" role="search">
          ${field('User', 'user', { value: f.user ?? '' })}${field('Device', 'device', { value: f.device ?? '' })}${field('Since (e.g. 24h, 2026-12-01)', 'since', { value: f.since ?? '' })}<button
            type="submit"
          >
            Filter
          </button>
        </form>
        ${table(
          ['Time', 'User', 'Application', 'Decision', 'Reason', 'Method', 'Integration', 'Device', 'From'],
          entries.map(
            (e) =>
              html`<tr>
                <td>${when(e.at)}</td>
                <td>${e.user}</td>
                <td>${e.application ?? '—'}</td>
                <td><span class="st st-${e.decision}">${e.decision}</span></td>
                <td>${e.reason}</td>
                <td>${e.method}</td>
                <td>${e.integration ?? '—'}</td>
                <td>${e.device ?? '—'}</td>
                <td>${e.sourceAddress}</td>
              </tr>`,
          ),
          `Latest ${LOG_PAGE} matching entries, newest first`,
        )}`,
    ).text;
  });

  r.get('/audit', async (ctx) => {
    const s = need(ctx, 'audit:read');
    const action = queryText(ctx, 'action');
    const before = queryText(ctx, 'before');
    const beforeId = before === undefined ? undefined : wholeNumber(before, 'before');
    const entries = await d.audit.list({ limit: LOG_PAGE, beforeId, action: action?.slice(0, 64) });
    const newestFirst = [...entries].reverse();
    const oldest = newestFirst[newestFirst.length - 1];
    ctx.body = page(
      s.pc,
      'Audit log',
      html`<form method="get" action="/console/audit" class="row filters" role="search">
          ${field('Action (e.g. integration.create)', 'action', { value: action ?? '' })}<button type="submit">Filter</button>
        </form>
        ${table(
          ['#', 'Time', 'Who', 'From', 'Action', 'Target', 'Details'],
          newestFirst.map(
            (e) =>
              html`<tr>
                <td>${e.id}</td>
                <td>${when(e.at)}</td>
                <td>${e.who}</td>
                <td>${e.from}</td>
                <td>${e.action}</td>
                <td>${e.target ?? '—'}</td>
                <td><code class="details">${e.details ? JSON.stringify(e.details) : ''}</code></td>
              </tr>`,
          ),
        )}
        <nav class="pager" aria-label="Pages">
          <a href="/console/audit${query({ action })}">Newest</a
          >${entries.length === LOG_PAGE && oldest ? html` · <a rel="next" href="/console/audit${query({ action, before: oldest.id })}">Older</a>` : ''}
        </nav>`,
    ).text;
  });
}
