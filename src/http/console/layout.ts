import { can, Permission, Role } from '../../admin/roles';
import { html, Html } from './html';

export interface PageUser {
  name: string;
  email: string;
  role: Role;
}

export interface PageContext {
  user?: PageUser;
  csrf?: string;
  /** the end-of-life banner while a legacy "Certs for iOS" integration remains */
  legacyRemains?: boolean;
  /** a notice after a change (from the redirect) */
  notice?: string;
  /** signed in but enrolling an authenticator: no navigation, nothing else is allowed yet */
  enrolling?: boolean;
}

const NAV: [string, string, Permission][] = [
  ['/console', 'Dashboard', 'integrations:read'],
  ['/console/integrations', 'Integrations', 'integrations:read'],
  ['/console/devices', 'Devices', 'integrations:read'],
  ['/console/inventory', 'Synced devices', 'integrations:read'],
  ['/console/certificates', 'Certificates', 'integrations:read'],
  ['/console/migrations', 'Migration', 'integrations:read'],
  ['/console/policy', 'Policy', 'integrations:read'],
  ['/console/auth-log', 'Authentication log', 'audit:read'],
  ['/console/audit', 'Audit log', 'audit:read'],
  ['/console/api-keys', 'API keys', 'api-keys:manage'],
  ['/console/users', 'Admin users', 'users:manage'],
];

export const EOL_BANNER =
  'Certificate-based device trust ("Certs for iOS") reached end of life on 7 October 2024. Migrate each legacy integration to the iOS (App Config) integration.';

/** The whole page: nav for what the role may see, the banner, the notice, the content. */
export function page(pc: PageContext, title: string, body: Html | Html[]): Html {
  const u = pc.user;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        ${pc.csrf ? html`<meta name="csrf-token" content="${pc.csrf}" />` : ''}
        <title>${title} · Scepter</title>
        <link rel="stylesheet" href="/console/assets/console.css" />
        <script src="/console/assets/console.js" defer></script>
      </head>
      <body>
        <header class="top">
          <a class="brand" href="/console">Scepter</a>
          ${
            u
              ? html`<nav aria-label="Main">
                    <ul>
                      ${NAV.filter(([, , p]) => !pc.enrolling && can(u.role, p)).map(([href, label]) => html`<li><a href="${href}">${label}</a></li>`)}
                    </ul>
                  </nav>
                  <div class="who">
                    <a href="/console/account">${u.name}</a> <span class="role">${u.role}</span>
                    <form method="post" action="/console/sign-out" class="inline">
                      <input type="hidden" name="_csrf" value="${pc.csrf}" /><button type="submit" class="link">Sign out</button>
                    </form>
                  </div>`
              : ''
          }
        </header>
        <main id="main">
          ${pc.legacyRemains ? html`<div class="banner" role="alert"><strong>End of life:</strong> ${EOL_BANNER} <a href="/console/migrations">Migration</a></div>` : ''}
          ${pc.notice ? html`<div class="notice" role="status">${pc.notice}</div>` : ''}
          <h1>${title}</h1>
          ${body}
        </main>
      </body>
    </html> `;
}

/** A POST form carrying the CSRF token; `confirm` asks first (console.js), `typed` wants that text typed. */
export function postForm(
  pc: PageContext,
  action: string,
  fields: Html | Html[] | string,
  button: string,
  opts: { confirm?: string; className?: string; danger?: boolean } = {},
): Html {
  return html`<form method="post" action="${action}" class="${opts.className ?? ''}" ${opts.confirm ? html` data-confirm="${opts.confirm}"` : ''}>
    <input type="hidden" name="_csrf" value="${pc.csrf}" />${fields} <button type="submit" ${opts.danger ? html` class="danger"` : ''}>${button}</button>
  </form>`;
}

/** A value with a copy button (console.js). */
export function copyable(label: string, value: string, id: string): Html {
  return html`<div class="copy-row">
    <span class="label" id="${id}-label">${label}</span><code id="${id}">${value}</code
    ><button type="button" class="copy" data-copy="${id}">Copy<span class="sr-only"> ${label}</span></button>
  </div>`;
}

/** A column header that sorts the list: a link toggling the direction, and aria-sort on the sorted one. */
export interface SortHeader {
  label: string;
  href: string;
  sorted?: 'ascending' | 'descending';
}

export function table(headers: (string | SortHeader)[], rows: Html[], caption?: string): Html {
  return html`<table>
    ${
      caption
        ? html`<caption>
            ${caption}
          </caption>`
        : ''
    }
    <thead>
      <tr>
        ${headers.map((h) =>
          typeof h === 'string'
            ? html`<th scope="col">${h}</th>`
            : html`<th scope="col" ${h.sorted ? html` aria-sort="${h.sorted}"` : ''}>
                <a class="sort" href="${h.href}"
                  >${h.label}<span aria-hidden="true">${h.sorted === 'ascending' ? ' ▲' : h.sorted === 'descending' ? ' ▼' : ''}</span
                  ><span class="sr-only">, sort ${h.sorted === 'ascending' ? 'descending' : 'ascending'}</span></a
                >
              </th>`,
        )}
      </tr>
    </thead>
    <tbody>
      ${
        rows.length
          ? rows
          : html`<tr>
              <td colspan="${headers.length}">Nothing to show</td>
            </tr>`
      }
    </tbody>
  </table>`;
}

export function when(d: string | Date | null | undefined): string {
  if (!d) return '—';
  const iso = typeof d === 'string' ? d : d.toISOString();
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function field(
  label: string,
  name: string,
  opts: { type?: string; value?: string; required?: boolean; autocomplete?: string; hint?: string; inputmode?: string } = {},
): Html {
  const id = `f-${name}`;
  return html`<p class="field">
    <label for="${id}">${label}</label
    ><input
      id="${id}"
      name="${name}"
      type="${opts.type ?? 'text'}"
      ${opts.value !== undefined ? html` value="${opts.value}"` : ''}${
        opts.required ? html` required` : ''
      }${opts.autocomplete ? html` autocomplete="${opts.autocomplete}"` : ''}${opts.inputmode ? html` inputmode="${opts.inputmode}"` : ''}
    />${opts.hint ? html`<small>${opts.hint}</small>` : ''}
  </p>`;
}

export function select(label: string, name: string, options: [string, string][], selected?: string, idSuffix?: string): Html {
  const id = `f-${idSuffix ?? name}`;
  return html`<p class="field">
    <label for="${id}">${label}</label
    ><select id="${id}" name="${name}">
      ${options.map(([v, t]) => html`<option value="${v}" ${v === selected ? html` selected` : ''}>${t}</option>`)}
    </select>
  </p>`;
}
