import type Router from '@koa/router';
import { AppError, BadRequestError } from '../../../shared/errors';
import { Ws1SyncBusyError } from '../../../mdm/workspace-one/ws1-sync.service';
import { formText, need, redirectWithNotice } from '../console-state';
import { html } from '../html';
import { field, page, postForm } from '../layout';
import type { ConsolePageDeps } from '../console-deps';
import { ws1Values } from './integrations.page';

/** The changes made from an integration's page; each calls the service the admin API calls. */
export function registerIntegrationActions(r: Router, d: ConsolePageDeps): void {
  const back = (id: string) => `/console/integrations/${id}`;

  r.post('/integrations/:id/status', async (ctx) => {
    const s = need(ctx, 'integrations:write');
    const status = formText(ctx, 'status', { required: true });
    const group = status === 'test-group' ? formText(ctx, 'group') : undefined;
    const v = await d.integrations.setStatus(ctx.params.id!, status, group, s.actor);
    redirectWithNotice(ctx, back(v.id), `Status set to ${v.status}${v.group ? ` (group ${v.group})` : ''}.`);
  });

  r.post('/integrations/:id/rotate', async (ctx) => {
    const s = need(ctx, 'integrations:write');
    const v = await d.integrations.rotateChallengeCredentials(ctx.params.id!, s.actor, { grace: formText(ctx, 'grace') ?? '24h' });
    ctx.body = page(
      s.pc,
      `New challenge credentials for ${v.name}`,
      html`<p>
          ${v.previousPasswordValidUntil ? `The old password keeps working until ${v.previousPasswordValidUntil}.` : 'The old password no longer works.'}
        </p>
        ${ws1Values(v, undefined)}
        <p><a class="button" href="${back(v.id)}">Back to the integration</a></p>`,
    ).text;
  });

  r.post('/integrations/:id/subject-template', async (ctx) => {
    const s = need(ctx, 'integrations:write');
    const v = await d.integrations.setSubjectTemplate(ctx.params.id!, formText(ctx, 'subjectName', { required: true, max: 1000 })!, s.actor);
    redirectWithNotice(ctx, back(v.id), `Subject name template saved: ${v.subjectName}`);
  });

  r.post('/integrations/:id/profile', async (ctx) => {
    const s = need(ctx, 'integrations:write');
    const p = await d.profiles.build(ctx.params.id!, formText(ctx, 'deviceUid', { max: 256 }), s.actor);
    ctx.type = 'application/x-apple-aspen-config';
    ctx.set('Content-Disposition', `attachment; filename="${ctx.params.id}.mobileconfig"`);
    ctx.body = p.mobileconfig;
  });

  r.post('/integrations/:id/ws1', async (ctx) => {
    const s = need(ctx, 'ws1:configure');
    await d.ws1Settings.configure(
      ctx.params.id!,
      { baseUrl: formText(ctx, 'url'), username: formText(ctx, 'username'), password: formText(ctx, 'password'), apiKey: formText(ctx, 'apiKey') },
      s.actor,
    );
    redirectWithNotice(ctx, back(ctx.params.id!), 'WS1 settings saved.');
  });

  r.post('/integrations/:id/ws1/test', async (ctx) => {
    need(ctx, 'integrations:write');
    const t = await d.ws1Settings.test(ctx.params.id!);
    redirectWithNotice(ctx, back(ctx.params.id!), `Test Configuration: ${t.ok ? 'OK' : 'failed'}: ${t.message}`);
  });

  // answers once the sync holds its lease and runs on in the background; console.js polls
  // /sync-progress, which reads the database, so any instance shows it (without JavaScript: the page says it runs)
  r.post('/integrations/:id/sync', async (ctx) => {
    const s = need(ctx, 'integrations:write');
    const id = (await d.integrations.get(ctx.params.id!)).id;
    const xhr = ctx.get('X-Requested-With') === 'console';
    const starting = new Promise<boolean>((resolve, reject) => {
      let running = false;
      d.ws1Sync
        .sync(id, {
          actor: s.actor,
          onStarted: () => {
            running = true;
            resolve(true);
          },
        })
        .then(
          () => resolve(running),
          (err: unknown) => {
            if (running) d.logger.warn({ integrationId: id, err }, 'console sync failed');
            else if (err instanceof Ws1SyncBusyError) resolve(false);
            else reject(err instanceof Error ? err : new Error(String(err)));
          },
        );
    });
    let started: boolean;
    try {
      started = await starting;
    } catch (err) {
      // e.g. no WS1 settings: console.js shows the reason; a plain form gets the error page
      if (!xhr || !(err instanceof AppError && err.expose)) throw err;
      ctx.status = err.status;
      ctx.body = { started: false, error: err.message };
      return;
    }
    if (xhr) {
      ctx.body = { started };
      return;
    }
    redirectWithNotice(ctx, back(id), started ? 'Sync started.' : 'A sync is already running.');
  });

  r.get('/integrations/:id/sync-progress', async (ctx) => {
    need(ctx, 'integrations:read');
    const id = (await d.integrations.get(ctx.params.id!)).id;
    ctx.body = { ...(await d.ws1Sync.run(id)), error: null };
  });

  r.get('/integrations/:id/delete', async (ctx) => {
    const s = need(ctx, 'integrations:delete');
    const i = await d.integrations.get(ctx.params.id!);
    // the counts come from the background count (a million certificates are not counted while the page waits)
    const counts = await d.stats.counts(i.id);
    ctx.body = page(
      s.pc,
      `Delete ${i.name}`,
      html`<p>
          Deleting revokes every unexpired certificate this integration issued:
          <strong id="revoke-count">${counts ? counts.valid : 'not counted yet'}</strong> certificate(s) on ${counts ? counts.devices : '…'}
          device(s)${counts ? html` <span class="muted">(counted in the background; the deletion revokes whatever is valid when it runs and reports the number)</span>` : ''}.
          Its SCEP and challenge URLs stop answering.
        </p>
        ${postForm(
          s.pc,
          `/console/integrations/${i.id}/delete`,
          html`${field(`Type the integration id (${i.id}) to confirm`, 'confirm', { required: true, autocomplete: 'off' })}
            <p class="field">
              <input type="checkbox" id="f-force" name="force" value="yes" /><label for="f-force" class="inline"
                >Force, even while it is active and a policy requires trusted devices</label
              >
            </p>`,
          'Delete and revoke',
          { danger: true },
        )}`,
    ).text;
  });

  r.post('/integrations/:id/delete', async (ctx) => {
    const s = need(ctx, 'integrations:delete');
    const id = ctx.params.id!;
    if (formText(ctx, 'confirm') !== id) throw new BadRequestError('type the integration id exactly to confirm the deletion');
    const res = await d.integrationDeletion.delete(id, { actor: s.actor, force: formText(ctx, 'force') === 'yes' });
    d.stats.invalidate();
    redirectWithNotice(ctx, '/console/integrations', `Deleted ${id}: ${res.revoked} certificate(s) revoked.`);
  });
}
