import type Router from '@koa/router';
import type { AppConfigService } from '../../mdm/workspace-one/app-config.service';
import type { Ws1SettingsInput, Ws1SettingsService } from '../../mdm/workspace-one/ws1-settings.service';
import type { Ws1SyncService } from '../../mdm/workspace-one/ws1-sync.service';
import { BadRequestError } from '../../shared/errors';
import { readJsonObject } from '../read-body';
import { adminState, allow } from './admin-auth';

export interface Ws1RouteDeps {
  ws1Settings: Ws1SettingsService;
  ws1Sync: Ws1SyncService;
  appConfig: AppConfigService;
}

/**
 * WS1 settings, sync and App Config keys under `/admin/v1` (mounted by adminRouter, behind its API-key authentication):
 *   PUT  /integrations/:id/ws1           {url, username, password, apiKey, caPem?}  settings (secrets never echoed)
 *   GET  /integrations/:id/ws1           settings without secrets + sync state
 *   POST /integrations/:id/ws1/test      {ok, message}
 *   POST /integrations/:id/ws1/sync      the sync outcome; 409 when one is running
 *   GET  /integrations/:id/devices/search?identifier=X   {found, device?, lastSuccessAt}
 *   GET  /integrations/:id/app-config    what to paste into WS1's Application Configuration (ios, android)
 */
export function registerWs1Routes(r: Router, d: Ws1RouteDeps): void {
  // the destination of the stored secrets: not for application managers
  r.put('/integrations/:id/ws1', allow('ws1:configure'), async (ctx) => {
    const b = await readJsonObject(ctx, 64 * 1024, { fields: ['url', 'username', 'password', 'apiKey', 'caPem'] });
    const input: Ws1SettingsInput = {
      baseUrl: optionalString(b, 'url'),
      username: optionalString(b, 'username'),
      password: optionalString(b, 'password'),
      apiKey: optionalString(b, 'apiKey'),
      caPem: b.caPem === null ? null : optionalString(b, 'caPem'),
    };
    ctx.body = await d.ws1Settings.configure(ctx.params.id!, input, adminState(ctx).actor);
  });
  r.get('/integrations/:id/ws1', allow('integrations:read'), async (ctx) => {
    const id = ctx.params.id!;
    ctx.body = { settings: (await d.ws1Settings.view(id)) ?? null, sync: await d.ws1Sync.status(id) };
  });
  r.post('/integrations/:id/ws1/test', allow('integrations:write'), async (ctx) => {
    const t = await d.ws1Settings.test(ctx.params.id!);
    ctx.body = { ok: t.ok, message: t.message, ...(t.reason ? { reason: t.reason } : {}) };
  });
  r.post('/integrations/:id/ws1/sync', allow('integrations:write'), async (ctx) => {
    ctx.body = await d.ws1Sync.sync(ctx.params.id!, { actor: adminState(ctx).actor });
  });
  r.get('/integrations/:id/devices/search', allow('integrations:read'), async (ctx) => {
    const identifier = ctx.query.identifier;
    if (typeof identifier !== 'string') throw new BadRequestError('the query parameter identifier is required');
    ctx.body = await d.ws1Sync.search(ctx.params.id!, identifier);
  });
  r.get('/integrations/:id/app-config', allow('integrations:read'), async (ctx) => {
    const v = await d.appConfig.forIntegration(ctx.params.id!);
    if (!v) throw new BadRequestError('only ios and android (App Config) integrations have a configuration key');
    ctx.body = v;
  });
}

function optionalString(b: Record<string, unknown>, key: string): string | undefined {
  const v = b[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new BadRequestError(`${key} must be a string`);
  return v;
}
