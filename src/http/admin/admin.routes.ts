import Router from '@koa/router';
import type { Context } from 'koa';
import { ApiKeyService } from '../../admin/api-keys.service';
import { AUDIT_PAGE, AuditLogService } from '../../admin/audit-log.service';
import { AuthFailureLimiter } from '../../admin/auth-failure-limiter';
import { isRole, requireMayGrant } from '../../admin/roles';
import { IntegrationService } from '../../integrations/integration.service';
import { IosProfileService } from '../../integrations/ios-profile.service';
import { UserGroupService } from '../../integrations/user-groups.service';
import { BadRequestError, NotFoundError } from '../../shared/errors';
import { pageLimit, wholeNumber } from '../../shared/paging';
import { readJsonObject } from '../read-body';
import { adminAuth, adminState, allow } from './admin-auth';
import { queryParams } from './query-params';
import type { ClientAddressOf } from '../client-address';
import { registerWs1Routes, Ws1RouteDeps } from './ws1.routes';
import { ws1ShowExtras } from '../../mdm/workspace-one/ws1-show.presenter';

export interface AdminRouterDeps extends Ws1RouteDeps {
  apiKeys: ApiKeyService;
  audit: AuditLogService;
  integrations: IntegrationService;
  groups: UserGroupService;
  profiles: IosProfileService;
  /** the admin API's own failure limiter (not the challenge URL's) */
  limiter: AuthFailureLimiter;
  clientAddress: ClientAddressOf;
}

const MAX_JSON_BYTES = 64 * 1024;

/**
 * The admin HTTP API: the CLI's operations under `/admin/v1`, by API key and role. Every route
 * declares its permission with `allow(...)` (the role table is in src/admin/roles.ts).
 */
export function adminRouter(d: AdminRouterDeps): Router {
  const r = new Router({ prefix: '/admin/v1' });
  r.use(adminAuth(d.apiKeys, d.limiter, d.clientAddress));

  r.get('/whoami', allow('session:read'), (ctx) => {
    const { principal } = adminState(ctx);
    ctx.body = { keyId: principal.keyId, role: principal.role };
  });

  r.get('/integrations', allow('integrations:read'), async (ctx) => {
    ctx.body = { integrations: await d.integrations.list() };
  });
  r.post('/integrations', allow('integrations:write'), async (ctx) => {
    const b = await jsonBody(ctx, ['type', 'name', 'allowLegacy']);
    ctx.status = 201;
    ctx.body = await d.integrations.create({ type: b.type, name: b.name, allowLegacy: b.allowLegacy === true }, adminState(ctx).actor);
  });
  r.get('/integrations/:id', allow('integrations:read'), async (ctx) => {
    const v = await d.integrations.show(ctx.params.id!);
    ctx.body = { ...v, ...(await ws1ShowExtras(d, v.id, v.type)) }; // WS1 API settings, sync state, App Config key
  });
  r.put('/integrations/:id/status', allow('integrations:write'), async (ctx) => {
    const b = await jsonBody(ctx, ['status', 'group']);
    ctx.body = await d.integrations.setStatus(ctx.params.id!, b.status, b.group, adminState(ctx).actor);
  });
  r.post('/integrations/:id/rotate-challenge-credentials', allow('integrations:write'), async (ctx) => {
    const b = await jsonBody(ctx, ['grace', 'expireUnusedChallenges'], true); // optional: {"grace": "24h", "expireUnusedChallenges": true}
    ctx.body = await d.integrations.rotateChallengeCredentials(ctx.params.id!, adminState(ctx).actor, {
      grace: b.grace,
      expireUnusedChallenges: b.expireUnusedChallenges,
    });
  });
  r.put('/integrations/:id/subject-template', allow('integrations:write'), async (ctx) => {
    const b = await jsonBody(ctx, ['subjectName']);
    if (typeof b.subjectName !== 'string') throw new BadRequestError('subjectName (string) is required');
    ctx.body = await d.integrations.setSubjectTemplate(ctx.params.id!, b.subjectName, adminState(ctx).actor);
  });
  // POST: it mints a one-time challenge
  r.post('/integrations/:id/profile', allow('integrations:write'), async (ctx) => {
    const b = await jsonBody(ctx, ['deviceUid'], true);
    const p = await d.profiles.build(ctx.params.id!, typeof b.deviceUid === 'string' ? b.deviceUid : undefined, adminState(ctx).actor);
    ctx.type = 'application/x-apple-aspen-config';
    ctx.set('Content-Disposition', `attachment; filename="${ctx.params.id}.mobileconfig"`);
    ctx.set('X-Device-Uid', p.deviceUid);
    ctx.body = p.mobileconfig;
  });

  r.get('/groups', allow('groups:read'), async (ctx) => {
    ctx.body = { groups: await d.groups.list() };
  });
  r.post('/groups', allow('groups:write'), async (ctx) => {
    const b = await jsonBody(ctx, ['name']);
    ctx.status = 201;
    ctx.body = await d.groups.create(b.name, adminState(ctx).actor);
  });
  r.get('/groups/:name', allow('groups:read'), async (ctx) => {
    ctx.body = await d.groups.show(ctx.params.name!);
  });
  r.post('/groups/:name/members', allow('groups:write'), async (ctx) => {
    const b = await jsonBody(ctx, ['user']);
    ctx.body = await d.groups.addMember(ctx.params.name!, b.user, adminState(ctx).actor);
  });

  r.get('/audit', allow('audit:read'), async (ctx) => {
    const q = queryParams(ctx, ['limit', 'afterId', 'action']);
    const afterId = q.afterId === undefined ? undefined : wholeNumber(q.afterId, 'afterId');
    const entries = await d.audit.list({ limit: pageLimit(q.limit, AUDIT_PAGE.max, AUDIT_PAGE.fallback), afterId, action: q.action });
    ctx.body = { entries: entries.map((e) => ({ ...e, at: e.at.toISOString() })) };
  });

  r.get('/api-keys', allow('api-keys:manage'), async (ctx) => {
    ctx.body = { keys: await d.apiKeys.list() };
  });
  r.post('/api-keys', allow('api-keys:manage'), async (ctx) => {
    const b = await jsonBody(ctx, ['role', 'name', 'expiresAt']);
    if (!isRole(b.role)) throw new BadRequestError('role must be one of owner, administrator, application-manager, read-only');
    if (b.name !== undefined && typeof b.name !== 'string') throw new BadRequestError('name must be a string');
    requireMayGrant(adminState(ctx).principal.role, b.role);
    ctx.status = 201;
    ctx.body = await d.apiKeys.create(b.role, adminState(ctx).actor, { name: b.name, expiresAt: expiryOf(b.expiresAt) });
  });
  r.delete('/api-keys/:id', allow('api-keys:manage'), async (ctx) => {
    const key = await d.apiKeys.find(ctx.params.id!);
    if (!key) throw new NotFoundError(`no API key ${ctx.params.id!.slice(0, 40)}`);
    requireMayGrant(adminState(ctx).principal.role, key.role, 'revoke');
    await d.apiKeys.revoke(key.id, adminState(ctx).actor);
    ctx.status = 204;
  });
  registerWs1Routes(r, d);
  return r;
}

/** `expiresAt`: an ISO 8601 time with a time zone, e.g. 2027-01-31T00:00:00Z */
function expiryOf(v: unknown): Date | undefined {
  if (v === undefined || v === null) return undefined;
  const d = typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/.test(v) ? new Date(v) : undefined;
  if (!d || Number.isNaN(d.getTime())) throw new BadRequestError('expiresAt must be an ISO 8601 time with a time zone, e.g. 2027-01-31T00:00:00Z');
  return d;
}

function jsonBody(ctx: Context, fields: readonly string[], optional = false): Promise<Record<string, unknown>> {
  return readJsonObject(ctx, MAX_JSON_BYTES, { optional, fields });
}
