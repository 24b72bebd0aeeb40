import type Router from '@koa/router';
import type { Context } from 'koa';
import type { AdminUserView } from '../../../admin/admin-user.types';
import { mayChangeUsers, totpRequired } from '../../../admin/admin-users.service';
import { isRole, requireMayGrant, ROLES } from '../../../admin/roles';
import type { TotpEnrollment } from '../../../admin/totp';
import { qrCodeDataUrl } from '../qr-code';
import { BadRequestError, NotFoundError } from '../../../shared/errors';
import { consoleState, formSecret, formText, need, redirectWithNotice } from '../console-state';
import { html, Html } from '../html';
import { copyable, field, page, PageContext, postForm, select, table, when } from '../layout';
import type { ConsolePageDeps } from '../console-deps';

const roleOptions = ROLES.map((r): [string, string] => [r, r]);

/** The buttons an owner has on another person's row. */
function userActions(pc: PageContext, u: AdminUserView): Html {
  return html`${postForm(pc, `/console/users/${u.id}/role`, html`${select('Role', 'role', roleOptions, u.role, `role-${u.id}`)}`, 'Change role', {
    className: 'inline',
    confirm: `Change the role of ${u.email}?`,
  })}
  ${postForm(pc, `/console/users/${u.id}/password`, '', 'Reset password', {
    className: 'inline',
    confirm: `Reset the password of ${u.email}? A new one is shown once and they are signed out.`,
  })}
  ${
    u.totp
      ? postForm(pc, `/console/users/${u.id}/totp`, '', 'Reset authenticator', {
          className: 'inline',
          confirm: `Remove the authenticator of ${u.email}? They are signed out and enrol a new one.`,
        })
      : ''
  }
  ${postForm(pc, `/console/users/${u.id}/${u.disabledAt ? 'enable' : 'disable'}`, '', u.disabledAt ? 'Enable' : 'Disable', {
    className: 'inline',
    danger: !u.disabledAt,
    confirm: `${u.disabledAt ? 'Enable' : 'Disable'} ${u.email}?`,
  })}
  ${postForm(pc, `/console/users/${u.id}/delete`, '', 'Delete', { className: 'inline', danger: true, confirm: `Delete ${u.email}? This cannot be undone.` })}`;
}

/** A proposed authenticator: its QR code (made on the server) and the same secret as text. */
async function totpProposal(p: TotpEnrollment): Promise<Html> {
  return html`<figure class="qr">
      <img src="${await qrCodeDataUrl(p.uri)}" alt="QR code of the authenticator secret" width="200" height="200" />
    </figure>
    ${copyable('Secret', p.secret, 'totp-secret')}${copyable('otpauth URI', p.uri, 'totp-uri')}`;
}

/** A password field that may be left empty (then undefined: one is generated). */
function optionalSecret(ctx: Context, name: string): string | undefined {
  const v = consoleState(ctx).form.getAll(name);
  if (v.length > 1) throw new BadRequestError(`${name} may be given once`);
  return v[0] ? v[0] : undefined;
}

/** API keys, admin users, and the signed-in person's own password and second factor. */
export function registerAccessPages(r: Router, d: ConsolePageDeps): void {
  r.get('/api-keys', async (ctx) => {
    const s = need(ctx, 'api-keys:manage');
    const keys = await d.apiKeys.list();
    ctx.body = page(
      s.pc,
      'API keys',
      html`${table(
        ['Id', 'Name', 'Role', 'Created', 'Last used', 'State', ''],
        keys.map(
          (k) =>
            html`<tr>
              <td><code>${k.id}</code></td>
              <td>${k.name ?? '—'}</td>
              <td>${k.role}</td>
              <td>${when(k.createdAt)} by ${k.createdBy}</td>
              <td>${when(k.lastUsedAt)}</td>
              <td>${k.revokedAt ? `revoked ${when(k.revokedAt)}` : k.expiresAt ? `expires ${when(k.expiresAt)}` : 'active'}</td>
              <td>
                ${k.revokedAt ? '' : postForm(s.pc, `/console/api-keys/${k.id}/revoke`, '', 'Revoke', { className: 'inline', danger: true, confirm: `Revoke key ${k.id}?` })}
              </td>
            </tr>`,
        ),
      )}
      ${postForm(s.pc, '/console/api-keys', html`${field('Name (what it is for)', 'name', { required: true })}${select('Role', 'role', roleOptions, 'read-only')}${field('Expires (YYYY-MM-DD, optional)', 'expires')}`, 'Create API key', { className: 'card' })}`,
    ).text;
  });
  r.post('/api-keys', async (ctx) => {
    const s = need(ctx, 'api-keys:manage');
    const role = formText(ctx, 'role', { required: true });
    if (!isRole(role)) throw new BadRequestError('role must be one of owner, administrator, application-manager, read-only');
    requireMayGrant(s.role, role);
    const exp = formText(ctx, 'expires');
    const expiresAt = exp === undefined ? undefined : new Date(/^\d{4}-\d{2}-\d{2}$/.test(exp) ? `${exp}T00:00:00Z` : 'invalid');
    if (expiresAt && Number.isNaN(expiresAt.getTime())) throw new BadRequestError('expires must be a date, YYYY-MM-DD');
    const k = await d.apiKeys.create(role, s.actor, { name: formText(ctx, 'name', { max: 100 }), expiresAt });
    ctx.body = page(
      s.pc,
      `API key ${k.id}`,
      html`<section class="card">
          ${copyable('API key', k.key, 'api-key')}
          <p class="warn" role="note">Shown once: store it now. Use it as <code>Authorization: Bearer &lt;key&gt;</code>.</p>
        </section>
        <p><a class="button" href="/console/api-keys">Back to API keys</a></p>`,
    ).text;
  });
  r.post('/api-keys/:id/revoke', async (ctx) => {
    const s = need(ctx, 'api-keys:manage');
    const key = await d.apiKeys.find(ctx.params.id!);
    if (!key) throw new NotFoundError(`no API key ${ctx.params.id!.slice(0, 40)}`);
    requireMayGrant(s.role, key.role, 'revoke');
    await d.apiKeys.revoke(key.id, s.actor);
    redirectWithNotice(ctx, '/console/api-keys', `API key ${key.id} revoked.`);
  });

  r.get('/users', async (ctx) => {
    const s = need(ctx, 'users:manage');
    const users = await d.adminUsers.list();
    const owner = mayChangeUsers(s.role);
    const me = s.session.user.id;
    ctx.body = page(
      s.pc,
      'Admin users',
      html`${table(
        ['Name', 'Email', 'Role', 'Second factor', 'Last sign-in', 'State', ...(owner ? ['Changes'] : [])],
        users.map(
          (u) =>
            html`<tr>
              <td>${u.name}</td>
              <td>${u.email}</td>
              <td>${u.role}</td>
              <td>${u.totp ? 'TOTP' : totpRequired(u.role) ? 'enrols at next sign-in' : 'none'}</td>
              <td>${when(u.lastSignInAt)}</td>
              <td>${u.disabledAt ? `disabled ${when(u.disabledAt)}` : 'active'}</td>
              ${owner ? html`<td class="actions">${u.id === me ? html`<span class="muted">you (see Account)</span>` : userActions(s.pc, u)}</td>` : ''}
            </tr>`,
        ),
      )}
      ${
        owner
          ? postForm(
              s.pc,
              '/console/users',
              html`${field('Name', 'name', { required: true })}${field('Email', 'email', { type: 'email', required: true })}${select('Role', 'role', roleOptions, 'read-only')}${field(
                'Initial password (optional)',
                'password',
                { type: 'password', autocomplete: 'new-password', hint: 'Leave empty to generate one, shown once' },
              )}`,
              'Create admin user',
              { className: 'card' },
            )
          : html`<p class="muted">Only an owner creates, changes, disables or deletes admin users.</p>`
      }`,
    ).text;
  });
  r.post('/users', async (ctx) => {
    const s = need(ctx, 'users:manage');
    const role = formText(ctx, 'role', { required: true });
    if (!isRole(role)) throw new BadRequestError('role must be one of owner, administrator, application-manager, read-only');
    const chosen = optionalSecret(ctx, 'password');
    const c = await d.adminUsers.create(
      { name: formText(ctx, 'name', { max: 200 }), email: formText(ctx, 'email', { max: 254 }), role, password: chosen, totpAtFirstSignIn: true },
      s.actor,
      s.role,
    );
    ctx.body = page(
      s.pc,
      `Admin user ${c.user.email}`,
      html`<section class="card">
          ${
            c.password
              ? html`<p>Give this password to ${c.user.name} over a private channel; it is shown once.</p>
                  ${copyable('Password', c.password, 'new-password')}`
              : html`<p>${c.user.name} signs in with the password you chose.</p>`
          }
          ${totpRequired(c.user.role) ? html`<p>At the first sign-in ${c.user.name} enrols an authenticator app before anything else.</p>` : ''}
        </section>
        <p><a class="button" href="/console/users">Back to admin users</a></p>`,
    ).text;
  });
  for (const op of ['disable', 'enable'] as const) {
    r.post(`/users/:id/${op}`, async (ctx) => {
      const s = need(ctx, 'users:manage');
      const u = await d.adminUsers.setDisabled(ctx.params.id!, op === 'disable', s.actor, s.role, s.session.user.id);
      redirectWithNotice(ctx, '/console/users', `${u.email} ${op}d.`);
    });
  }
  r.post('/users/:id/role', async (ctx) => {
    const s = need(ctx, 'users:manage');
    const role = formText(ctx, 'role', { required: true });
    if (!isRole(role)) throw new BadRequestError('role must be one of owner, administrator, application-manager, read-only');
    const u = await d.adminUsers.changeRole(ctx.params.id!, role, s.actor, s.role);
    redirectWithNotice(ctx, '/console/users', `${u.email} is ${u.role}.`);
  });
  r.post('/users/:id/password', async (ctx) => {
    const s = need(ctx, 'users:manage');
    const target = await d.adminUsers.get(ctx.params.id!);
    const res = await d.adminUsers.resetPassword(target.id, optionalSecret(ctx, 'password'), s.actor, s.role, s.session.user.id);
    if (!res.password) return redirectWithNotice(ctx, '/console/users', `Password of ${target.email} set; they were signed out.`);
    ctx.body = page(
      s.pc,
      `New password for ${target.email}`,
      html`<section class="card">
          <p>Give this password to ${target.name} over a private channel; it is shown once. They were signed out everywhere.</p>
          ${copyable('Password', res.password, 'reset-password')}
        </section>
        <p><a class="button" href="/console/users">Back to admin users</a></p>`,
    ).text;
  });
  r.post('/users/:id/totp', async (ctx) => {
    const s = need(ctx, 'users:manage');
    const u = await d.adminUsers.resetTotp(ctx.params.id!, s.actor, s.role, s.session.user.id);
    redirectWithNotice(
      ctx,
      '/console/users',
      `Authenticator of ${u.email} removed; they were signed out${totpRequired(u.role) ? ' and enrol a new one at the next sign-in' : ''}.`,
    );
  });
  r.post('/users/:id/delete', async (ctx) => {
    const s = need(ctx, 'users:manage');
    const u = await d.adminUsers.delete(ctx.params.id!, s.actor, s.role, s.session.user.id);
    redirectWithNotice(ctx, '/console/users', `${u.email} deleted.`);
  });

  // the first authenticator of an owner or administrator (after creation, promotion or a reset)
  r.get('/enrol', async (ctx) => {
    const s = consoleState(ctx);
    const u = s.session.user;
    if (u.totpSecret !== null) return ctx.redirect('/console/account');
    const proposal = d.adminUsers.proposeTotp(u.email);
    ctx.body = page(
      s.pc,
      'Enrol an authenticator',
      html`<section class="card">
        <p>
          Your role (${u.role}) signs in with a code from an authenticator app. Scan the QR code with the app, or type the secret, then enter a code from it.
        </p>
        ${await totpProposal(proposal)}
        ${postForm(
          s.pc,
          '/console/enrol',
          html`<input type="hidden" name="secret" value="${proposal.secret}" />${field('Code from the authenticator', 'code', {
              required: true,
              inputmode: 'numeric',
              autocomplete: 'one-time-code',
            })}`,
          'Save authenticator',
        )}
      </section>`,
    ).text;
  });
  r.post('/enrol', async (ctx) => {
    const s = consoleState(ctx);
    await d.adminUsers.enrolTotp(
      s.session.user.id,
      formText(ctx, 'secret', { required: true, max: 64 })!,
      formText(ctx, 'code', { required: true, max: 12 })!,
      s.actor,
    );
    redirectWithNotice(ctx, '/console', 'Authenticator saved: sign-ins need a code from it from now on.');
  });

  // every signed-in person: their own password and second factor
  r.get('/account', async (ctx) => {
    const s = consoleState(ctx);
    const u = s.session.user;
    const proposal = d.adminUsers.proposeTotp(u.email);
    ctx.body = page(
      s.pc,
      'Account',
      html`<dl class="facts">
          <dt>Name</dt>
          <dd>${u.name}</dd>
          <dt>Email</dt>
          <dd>${u.email}</dd>
          <dt>Role</dt>
          <dd>${u.role}</dd>
          <dt>Second factor</dt>
          <dd>${u.totpSecret ? 'TOTP' : 'none'}</dd>
        </dl>
        ${postForm(
          s.pc,
          '/console/account/password',
          html`${field('Current password', 'current', { type: 'password', required: true, autocomplete: 'current-password' })}${field(
            'New password (12 characters or more)',
            'next',
            {
              type: 'password',
              required: true,
              autocomplete: 'new-password',
            },
          )}`,
          'Change password',
          { className: 'card' },
        )}
        <section class="card">
          <h2>${u.totpSecret ? 'Replace the authenticator' : 'Add an authenticator'}</h2>
          <p>Scan the QR code with the authenticator app (or type the secret), then enter a code from it.</p>
          ${await totpProposal(proposal)}
          ${postForm(
            s.pc,
            '/console/account/totp',
            html`<input
                type="hidden"
                name="secret"
                value="${proposal.secret}"
              />${field('Current password', 'current', { type: 'password', required: true, autocomplete: 'current-password' })}${field('Code from the new secret', 'code', { required: true, inputmode: 'numeric', autocomplete: 'one-time-code' })}`,
            'Save authenticator',
          )}
        </section>`,
    ).text;
  });
  r.post('/account/password', async (ctx) => {
    const s = consoleState(ctx);
    await d.adminUsers.changePassword(s.session.user.id, formSecret(ctx, 'current'), formSecret(ctx, 'next'), s.actor, s.session.tokenHash);
    redirectWithNotice(ctx, '/console/account', 'Password changed; your other sessions were signed out.');
  });
  r.post('/account/totp', async (ctx) => {
    const s = consoleState(ctx);
    await d.adminUsers.changeTotp(
      s.session.user.id,
      formSecret(ctx, 'current'),
      formText(ctx, 'secret', { required: true, max: 64 })!,
      formText(ctx, 'code', { required: true, max: 12 })!,
      s.actor,
      s.session.tokenHash,
    );
    redirectWithNotice(ctx, '/console/account', 'Authenticator saved; your other sessions were signed out.');
  });
}
