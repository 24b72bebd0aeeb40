import type Router from '@koa/router';
import type { Context } from 'koa';
import { REVOCATION_REASONS } from '../../../pki/revocation-reason';
import { csvExport } from '../../../lists/list-csv';
import type { RawListParams } from '../../../lists/list.service';
import { CERTIFICATE_STATUSES, DEVICE_TRUST } from '../../../lists/list.types';
import { formText, may, need, queryText, redirectWithNotice } from '../console-state';
import { html, Html, query } from '../html';
import { page, PageContext, postForm, SortHeader, table, when } from '../layout';
import type { ConsolePageDeps } from '../console-deps';

const PAGE_SIZE = 50;

type ConsoleListKind = 'certificates' | 'devices' | 'inventory';

const FILTERS: Record<ConsoleListKind, string[]> = {
  certificates: ['integration', 'status', 'device', 'expiringBefore', 'sort', 'dir'],
  devices: ['integration', 'device', 'trust', 'dir'],
  inventory: ['integration', 'platform', 'enrollmentStatus', 'device', 'dir'],
};

/**
 * Devices and certificates: one keyset page of the list services at a time (filters and sort order
 * in the query string, "Next page" carries the cursor), revoke with a reason, CSV export of the
 * whole filtered list (streamed page by page).
 */
export function registerListPages(r: Router, d: ConsolePageDeps): void {
  for (const kind of ['certificates', 'devices', 'inventory'] as const) {
    r.get(`/${kind}.csv`, async (ctx) => {
      need(ctx, 'integrations:read');
      const raw = filters(ctx, kind);
      const pages = await d.lists.pages(kind, raw);
      ctx.type = 'text/csv; charset=utf-8';
      ctx.set('Content-Disposition', `attachment; filename="${kind}.csv"`);
      ctx.body = csvExport(kind, pages, (err) => d.logger.error({ err, kind }, 'CSV export failed midway'));
    });
  }

  r.get('/certificates', async (ctx) => {
    const s = need(ctx, 'integrations:read');
    const raw = filters(ctx, 'certificates');
    const p = await d.lists.certificates({ ...raw, cursor: queryText(ctx, 'cursor') }, PAGE_SIZE);
    const revoke = may(ctx, 'certificates:revoke');
    const rows = p.items.map(
      (c) =>
        html`<tr>
          <td><code>${c.serial}</code></td>
          <td>${c.deviceId ?? '—'}</td>
          <td>${c.integrationId ? html`<a href="/console/integrations/${c.integrationId}">${c.integrationId}</a>` : '—'}</td>
          <td><span class="st st-${c.status}">${c.status}</span>${c.reason ? ` (${c.reason})` : ''}</td>
          <td>${when(c.notAfter)}</td>
          <td>${when(c.lastSeenAt)}</td>
          <td>${revoke && c.status !== 'revoked' ? revokeForm(s.pc, `/console/certificates/${c.serial}/revoke`, `certificate ${c.serial}`) : ''}</td>
        </tr>`,
    );
    ctx.body = page(
      s.pc,
      'Certificates',
      html`${filterForm('/console/certificates', raw, [
        textFilter('Integration id', 'integration', raw),
        choice('Status', 'status', ['', ...CERTIFICATE_STATUSES], raw),
        textFilter('Device id starts with', 'device', raw),
        textFilter('Expiring before (YYYY-MM-DD)', 'expiringBefore', raw),
        choice('Sort by', 'sort', ['', 'id', 'notAfter', 'device'], raw, { '': 'filter default', id: 'issue order', notAfter: 'expiry', device: 'device id' }),
      ])}
      ${table(
        [
          sortHeader('Serial (issue order)', '/console/certificates', raw, 'id', p.order, p.dir),
          sortHeader('Device', '/console/certificates', raw, 'device', p.order, p.dir),
          'Integration',
          'Status',
          sortHeader('Expires', '/console/certificates', raw, 'notAfter', p.order, p.dir),
          'Last seen',
          '',
        ],
        rows,
      )}
      ${pager('/console/certificates', raw, p.nextCursor)}`,
    ).text;
  });

  r.get('/devices', async (ctx) => {
    const s = need(ctx, 'integrations:read');
    const raw = filters(ctx, 'devices');
    const p = await d.lists.devices({ ...raw, cursor: queryText(ctx, 'cursor') }, PAGE_SIZE);
    const revoke = may(ctx, 'certificates:revoke');
    const rows = p.items.map(
      (v) =>
        html`<tr>
          <td><code>${v.deviceId}</code></td>
          <td><a href="/console/integrations/${v.integrationId}">${v.integrationId}</a></td>
          <td><span class="st st-${v.trust}">${v.trust}</span></td>
          <td class="num">${v.validCertificates}/${v.certificates}</td>
          <td>${when(v.lastSeenAt)}</td>
          <td>
            ${revoke && v.trust === 'trusted' ? revokeForm(s.pc, `/console/integrations/${v.integrationId}/devices/${encodeURIComponent(v.deviceId)}/revoke`, `device ${v.deviceId}`) : ''}
          </td>
        </tr>`,
    );
    ctx.body = page(
      s.pc,
      'Devices',
      html`${filterForm('/console/devices', raw, [
        textFilter('Integration id', 'integration', raw),
        textFilter('Device id starts with', 'device', raw),
        choice('Trust', 'trust', ['', ...DEVICE_TRUST], raw),
      ])}
      ${table([sortHeader('Device', '/console/devices', raw, 'device', 'device', p.dir), 'Integration', 'Trust', 'Valid/all certificates', 'Last seen', ''], rows)}
      ${pager('/console/devices', raw, p.nextCursor)}`,
    ).text;
  });

  // the synced WS1 inventory of every integration (current generations), one keyset page at a time
  r.get('/inventory', async (ctx) => {
    const s = need(ctx, 'integrations:read');
    const raw = filters(ctx, 'inventory');
    const p = await d.lists.inventory({ ...raw, cursor: queryText(ctx, 'cursor') }, PAGE_SIZE);
    const rows = p.items.map(
      (v) =>
        html`<tr>
          <td><a href="/console/integrations/${v.integrationId}">${v.integrationId}</a></td>
          <td><code>${v.udid}</code></td>
          <td>${v.platform}</td>
          <td>${v.enrollmentStatus}</td>
          <td>${v.serialNumber ?? '—'}</td>
          <td>${v.userName ?? '—'}</td>
          <td>${when(v.lastSeen)}</td>
          <td>${when(v.syncedAt)}</td>
        </tr>`,
    );
    ctx.body = page(
      s.pc,
      'Synced devices',
      html`<p class="muted">Every integration's devices as of its last successful WS1 sync, ordered by integration, then UDID.</p>
        ${filterForm('/console/inventory', raw, [
          textFilter('Integration id', 'integration', raw),
          textFilter('Platform', 'platform', raw),
          textFilter('Enrollment status', 'enrollmentStatus', raw),
          textFilter('UDID starts with', 'device', raw),
        ])}
        ${table(
          [
            'Integration',
            sortHeader('UDID', '/console/inventory', raw, 'udid', 'udid', p.dir),
            'Platform',
            'Enrollment',
            'Serial number',
            'User',
            'Last seen',
            'Synced',
          ],
          rows,
        )}
        ${pager('/console/inventory', raw, p.nextCursor)}`,
    ).text;
  });

  r.post('/certificates/:serial/revoke', async (ctx) => {
    const s = need(ctx, 'certificates:revoke');
    const res = await d.revocation.revoke(ctx.params.serial!, { reason: formText(ctx, 'reason'), actor: s.actor });
    d.stats.invalidate();
    redirectWithNotice(ctx, backTo(ctx, '/console/certificates'), `Certificate ${ctx.params.serial} revoked (${res.reason}).`);
  });

  r.post('/integrations/:id/devices/:udid/revoke', async (ctx) => {
    const s = need(ctx, 'certificates:revoke');
    const res = await d.revocation.revokeDevice(ctx.params.id!, ctx.params.udid!, { reason: formText(ctx, 'reason'), actor: s.actor });
    d.stats.invalidate();
    redirectWithNotice(ctx, backTo(ctx, '/console/devices'), `Device ${ctx.params.udid}: ${res.revoked} certificate(s) revoked (${res.reason}).`);
  });
}

/** Back to the list the form was on (a console path only, never elsewhere). */
function backTo(ctx: Context, fallback: string): string {
  const b = formText(ctx, 'back', { max: 2000 });
  return b && /^\/console\/(certificates|devices)(\?[^\s]*)?$/.test(b) ? b : fallback;
}

function filters(ctx: Context, kind: ConsoleListKind): RawListParams {
  const raw: RawListParams = {};
  for (const k of FILTERS[kind]) raw[k] = queryText(ctx, k);
  return raw;
}

function revokeForm(pc: PageContext, action: string, what: string): Html {
  return postForm(
    pc,
    action,
    html`<label class="sr-only" for="r-${action}">Reason</label
      ><select id="r-${action}" name="reason">
        ${REVOCATION_REASONS.map((r) => html`<option${r === 'unspecified' ? html` selected` : ''}>${r}</option>`)}</select
      ><input type="hidden" name="back" value="" data-back />`,
    'Revoke',
    { className: 'inline', danger: true, confirm: `Revoke ${what}? The device is refused from now on.` },
  );
}

function textFilter(label: string, name: string, raw: RawListParams): Html {
  return html`<p class="field"><label for="q-${name}">${label}</label><input id="q-${name}" name="${name}" value="${raw[name] ?? ''}" /></p>`;
}

function choice(label: string, name: string, values: string[], raw: RawListParams, labels: Record<string, string> = {}): Html {
  return html`<p class="field">
    <label for="q-${name}">${label}</label
    ><select id="q-${name}" name="${name}">
      ${values.map((v) => html`<option value="${v}" ${(raw[name] ?? '') === v ? html` selected` : ''}>${labels[v] ?? (v || 'any')}</option>`)}
    </select>
  </p>`;
}

function filterForm(action: string, raw: RawListParams, fields: Html[]): Html {
  return html`<form method="get" action="${action}" class="row filters" role="search">
    ${fields}${raw.dir ? html`<input type="hidden" name="dir" value="${raw.dir}" />` : ''}<button type="submit">Filter</button>
    <a class="button" href="${action}.csv${query(raw)}">Export CSV</a>
  </form>`;
}

/**
 * A sortable column header: a link to the first page in this column's order, ascending unless the
 * list is already sorted by it ascending (then descending). Filters stay; the cursor does not.
 */
function sortHeader(label: string, action: string, raw: RawListParams, sort: string, current: string, dir: 'asc' | 'desc'): SortHeader {
  const active = current === sort;
  const next = active && dir === 'asc' ? 'desc' : 'asc';
  const params = { ...raw, dir: next === 'asc' ? undefined : next, ...('sort' in raw ? { sort } : {}) };
  return { label, href: `${action}${query(params)}`, sorted: active ? (dir === 'asc' ? 'ascending' : 'descending') : undefined };
}

function pager(action: string, raw: RawListParams, next: string | null): Html {
  return html`<nav class="pager" aria-label="Pages">
    <a href="${action}${query(raw)}">First page</a>${next ? html` · <a rel="next" href="${action}${query({ ...raw, cursor: next })}">Next page</a>` : ''}
  </nav>`;
}
