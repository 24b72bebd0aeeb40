import type Router from '@koa/router';
import { html } from '../html';
import { page, table, when } from '../layout';
import { need } from '../console-state';
import type { ConsolePageDeps } from '../console-deps';

/** Dashboard: integrations with type, status and device counts; certificate totals; last WS1 sync per integration. */
export function registerDashboardPages(r: Router, d: ConsolePageDeps): void {
  r.get('/', async (ctx) => {
    const s = need(ctx, 'integrations:read');
    const integrations = await d.integrations.list();
    const snapshot = await d.stats.current();
    const rows = await Promise.all(
      integrations.map(async (i) => {
        const certs = snapshot?.byIntegration.get(i.id);
        const sync = i.type === 'ios-certs' ? undefined : await d.ws1Sync.status(i.id).catch(() => undefined);
        return html`<tr>
          <td><a href="/console/integrations/${i.id}">${i.name}</a></td>
          <td>${i.type}</td>
          <td>${i.status}${i.group ? ` (${i.group})` : ''}</td>
          <td class="num">${i.type === 'ios-certs' ? (certs?.devices ?? (snapshot ? 0 : '…')) : (sync?.deviceCount ?? 0)}</td>
          <td>
            ${sync ? (sync.running ? 'running' : when(sync.lastSuccessAt)) : '—'}${sync?.lastFailureAt ? html` <span class="bad">failed ${when(sync.lastFailureAt)}</span>` : ''}
          </td>
        </tr>`;
      }),
    );
    const t = snapshot?.total;
    ctx.body = page(
      s.pc,
      'Dashboard',
      html`<section aria-labelledby="certs-h">
          <h2 id="certs-h">Certificates</h2>
          <ul class="tiles">
            <li><span class="big">${t ? t.valid : '…'}</span> valid</li>
            <li><span class="big">${t ? t.expiring : '…'}</span> expiring within 30 days</li>
            <li><span class="big">${t ? t.revoked : '…'}</span> revoked</li>
          </ul>
          <p class="muted" id="counted-at">
            ${
              snapshot
                ? `Counted ${when(snapshot.at)}; recounted every ${d.statsIntervalSeconds} s by a background job (the count took ${(snapshot.durationMs / 1000).toFixed(1)} s).`
                : 'Counting in the background; reload in a moment.'
            }
          </p>
        </section>
        <section aria-labelledby="int-h">
          <h2 id="int-h">Integrations</h2>
          ${table(['Name', 'Type', 'Status', 'Devices', 'Last WS1 sync'], rows)}
          <p><a href="/console/integrations">All integrations</a></p>
        </section>`,
    ).text;
  });
}
