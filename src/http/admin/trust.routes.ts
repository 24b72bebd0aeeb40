import type Router from '@koa/router';
import type { AuthLogService } from '../../trust/auth-log.service';
import type { TrustPolicyService } from '../../trust/policy.service';
import type { AuthLogEntry } from '../../trust/trust.types';
import { NotFoundError } from '../../shared/errors';
import { readJsonObject } from '../read-body';
import { adminState, allow } from './admin-auth';

export interface TrustAdminDeps {
  trustPolicy: TrustPolicyService;
  authLog: AuthLogService;
}

const entryJson = (e: AuthLogEntry) => ({ ...e, at: e.at.toISOString() });

/**
 * Device-trust admin routes on the admin router (authenticated there): the policy (managed like
 * integrations), the authentication log and a device's view (read like the audit log).
 */
export function addTrustAdminRoutes(r: Router, d: TrustAdminDeps): Router {
  r.get('/trust/policy', allow('integrations:read'), async (ctx) => {
    ctx.body = await d.trustPolicy.show();
  });
  // body {"policy": "require-trusted", "application": "optional"}
  r.put('/trust/policy', allow('integrations:write'), async (ctx) => {
    const b = await readJsonObject(ctx, 16 * 1024);
    ctx.body = await d.trustPolicy.set(b.policy, b.application, adminState(ctx).actor);
  });
  r.get('/auth-log', allow('audit:read'), async (ctx) => {
    const q = ctx.query;
    const one = (k: string) => (typeof q[k] === 'string' ? q[k] : undefined);
    const entries = await d.authLog.list({ user: one('user'), since: one('since'), limit: one('limit') });
    ctx.body = { entries: entries.map(entryJson) };
  });
  r.get('/devices/:udid', allow('audit:read'), async (ctx) => {
    const v = await d.authLog.device(ctx.params.udid!);
    if (!v) throw new NotFoundError(`no certificates and no logins for device ${ctx.params.udid!.slice(0, 80)}`);
    ctx.body = { ...v, lastLogin: v.lastLogin && entryJson(v.lastLogin) };
  });
  return r;
}
