import type Router from '@koa/router';
import { AUTH_LOG_PAGE, type AuthLogService } from '../../trust/auth-log.service';
import type { TrustPolicyService } from '../../trust/policy.service';
import type { AuthLogEntry } from '../../trust/trust.types';
import { NotFoundError } from '../../shared/errors';
import { pageLimit } from '../../shared/paging';
import { readJsonObject } from '../read-body';
import { adminState, allow } from './admin-auth';
import { queryParams } from './query-params';

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
    const b = await readJsonObject(ctx, 16 * 1024, { fields: ['policy', 'application'] });
    ctx.body = await d.trustPolicy.set(b.policy, b.application, adminState(ctx).actor);
  });
  r.get('/auth-log', allow('audit:read'), async (ctx) => {
    const q = queryParams(ctx, ['user', 'since', 'limit']);
    const entries = await d.authLog.list({ user: q.user, since: q.since, limit: pageLimit(q.limit, AUTH_LOG_PAGE.max, AUTH_LOG_PAGE.fallback) });
    ctx.body = { entries: entries.map(entryJson) };
  });
  r.get('/devices/:udid', allow('audit:read'), async (ctx) => {
    const v = await d.authLog.device(ctx.params.udid!);
    if (!v) throw new NotFoundError(`no certificates and no logins for device ${ctx.params.udid!.slice(0, 80)}`);
    ctx.body = { ...v, lastLogin: v.lastLogin && entryJson(v.lastLogin) };
  });
  return r;
}
