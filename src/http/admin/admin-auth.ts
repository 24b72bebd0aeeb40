import type { Context, Next } from 'koa';
import { ApiKeyService, Principal } from '../../admin/api-keys.service';
import { Actor } from '../../admin/audit.types';
import { AuthFailureLimiter } from '../../admin/auth-failure-limiter';
import { Permission, requirePermission } from '../../admin/roles';
import { TooManyRequestsError, UnauthorizedError } from '../../shared/errors';

export interface AdminState {
  principal: Principal;
  actor: Actor;
}

const REALM = 'Bearer realm="scepter-admin"';

/**
 * Bearer API key authentication for `/admin/v1`. Failed attempts count per source address like
 * the challenge URL's (in-memory cool-down, 429).
 */
export function adminAuth(apiKeys: ApiKeyService, limiter: AuthFailureLimiter) {
  return async (ctx: Context, next: Next) => {
    const wait = limiter.retryAfter(ctx.ip);
    if (wait > 0) throw new TooManyRequestsError('too many failed authentication attempts; try again later', wait);
    const m = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('Authorization'));
    if (!m) throw new UnauthorizedError('an API key is required (Authorization: Bearer <key>)', REALM);
    const principal = await apiKeys.authenticate(m[1]!);
    if (!principal) {
      limiter.failed(ctx.ip);
      throw new UnauthorizedError('invalid API key', `${REALM}, error="invalid_token"`);
    }
    limiter.succeeded(ctx.ip);
    const state: AdminState = { principal, actor: { who: principal.keyId, from: ctx.ip } };
    Object.assign(ctx.state, state);
    await next();
  };
}

/** Route guard: 403 unless the key's role grants `permission`. */
export function allow(permission: Permission) {
  return async (ctx: Context, next: Next) => {
    requirePermission((ctx.state as AdminState).principal.role, permission);
    await next();
  };
}

export function adminState(ctx: Context): AdminState {
  return ctx.state as AdminState;
}
