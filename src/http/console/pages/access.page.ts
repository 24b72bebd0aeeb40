import type Router from '@koa/router';
import { isRole, requireMayGrant, ROLES } from '../../../admin/roles';
import { BadRequestError, NotFoundError } from '../../../shared/errors';
import { consoleState, formSecret, formText, need, redirectWithNotice } from '../console-state';
import { html } from '../html';
import { copyable, field, page, postForm, select, table, when } from '../layout';
import type { ConsolePageDeps } from '../console-deps';

const roleOptions = ROLES.map((r): [string, string] => [r, r]);

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
    ctx.body = page(
      s.pc,
      'Admin users',
      html`${table(
        ['Name', 'Email', 'Role', 'Second factor', 'Last sign-in', 'State', ''],
        users.map(
          (u) =>
            html`<tr>
              <td>${u.name}</td>
              <td>${u.email}</td>
              <td>${u.role}</td>
              <td>${u.totp ? 'TOTP' : 'none'}</td>
              <td>${when(u.lastSignInAt)}</td>
              <td>${u.disabledAt ? `disabled ${when(u.disabledAt)}` : 'active'}</td>
              <td>
                ${
                  u.id === s.session.user.id
                    ? ''
                    : postForm(s.pc, `/console/users/${u.id}/${u.disabledAt ? 'enable' : 'disable'}`, '', u.disabledAt ? 'Enable' : 'Disable', {
                        className: 'inline',
                        danger: !u.disabledAt,
                        confirm: `${u.disabledAt ? 'Enable' : 'Disable'} ${u.email}?`,
                      })
                }
              </td>
            </tr>`,
        ),
      )}
      ${postForm(s.pc, '/console/users', html`${field('Name', 'name', { required: true })}${field('Email', 'email', { type: 'email', required: true })}${select('Role', 'role', roleOptions, 'read-only')}`, 'Create admin user', { className: 'card' })}`,
    ).text;
  });
  r.post('/users', async (ctx) => {
    const s = need(ctx, 'users:manage');
    const role = formText(ctx, 'role', { required: true });
    if (!isRole(role)) throw new BadRequestError('role must be one of owner, administrator, application-manager, read-only');
    const c = await d.adminUsers.create({ name: formText(ctx, 'name', { max: 200 }), email: formText(ctx, 'email', { max: 254 }), role }, s.actor, s.role);
    ctx.body = page(
      s.pc,
      `Admin user ${c.user.email}`,
      html`<section class="card">
          <p>Give these to ${c.user.name} over a private channel; they are shown once. The password should be changed at the first sign-in (Account).</p>
          ${copyable('Password', c.password!, 'new-password')}
          ${c.totp ? html`${copyable('Authenticator secret', c.totp.secret, 'new-totp')}${copyable('otpauth URI', c.totp.uri, 'new-totp-uri')}` : ''}
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
          <p>Add this secret to the authenticator app, then enter a code from it.</p>
          ${copyable('Secret', proposal.secret, 'totp-secret')}${copyable('otpauth URI', proposal.uri, 'totp-uri')}
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
