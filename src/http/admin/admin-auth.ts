import type Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import { ApiKeyService, Principal } from '../../admin/api-keys.service';
import { Actor } from '../../admin/audit.types';
import { AuthFailureLimiter } from '../../admin/auth-failure-limiter';
import { Permission, requirePermission } from '../../admin/roles';
import { TooManyRequestsError, UnauthorizedError } from '../../shared/errors';
import type { ClientAddressOf } from '../client-address';

export interface AdminState {
  principal: Principal;
  actor: Actor;
}

const REALM = 'Bearer realm="scepter-admin"';

/**
 * Bearer API key authentication for `/admin/v1`. Failed attempts count per client address (through
 * the trusted proxies) and per key id, in the admin API's own limiter (not the challenge URL's).
 */
export function adminAuth(apiKeys: ApiKeyService, limiter: AuthFailureLimiter, clientAddress: ClientAddressOf) {
  return async (ctx: Context, next: Next) => {
    const address = clientAddress(ctx);
    const m = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('Authorization'));
    const keyId = m ? ApiKeyService.keyIdOf(m[1]!) : undefined;
    const wait = limiter.retryAfter(address, keyId);
    if (wait > 0) throw new TooManyRequestsError('too many failed authentication attempts; try again later', wait);
    if (!m) throw new UnauthorizedError('an API key is required (Authorization: Bearer <key>)', REALM);
    const principal = await apiKeys.authenticate(m[1]!);
    if (!principal) {
      limiter.failed(address, keyId);
      throw new UnauthorizedError('invalid API key', `${REALM}, error="invalid_token"`);
    }
    limiter.succeeded(address);
    const state: AdminState = { principal, actor: { who: principal.keyId, from: address } };
    Object.assign(ctx.state, state);
    await next();
  };
}

/** A route guard, tagged with the permission it checks so the route table can be listed and verified. */
export type PermissionGuard = Middleware & { permission: Permission };

/**
 * Route guard: 403 unless the key's role grants `permission`. Every admin route declares exactly
 * one: `r.get('/path', allow('integrations:read'), handler)`; `adminRoutes` (run by the
 * composition root) refuses to start with a route that has none.
 */
export function allow(permission: Permission): PermissionGuard {
  const guard = async (ctx: Context, next: Next) => {
    requirePermission((ctx.state as AdminState).principal.role, permission);
    await next();
  };
  return Object.assign(guard, { permission });
}

export interface AdminRoute {
  method: string;
  /** the router's pattern, prefix included, e.g. /admin/v1/integrations/:id */
  path: string;
  permission: Permission;
}

/** Every route of an admin router with the permission it declares; throws naming a route without one. */
export function adminRoutes(router: Router): AdminRoute[] {
  const routes: AdminRoute[] = [];
  for (const layer of router.stack) {
    const methods = layer.methods.filter((m) => m !== 'HEAD');
    if (!methods.length) continue; // router.use() middleware
    const guards = layer.stack.filter((fn): fn is PermissionGuard => typeof (fn as Partial<PermissionGuard>).permission === 'string');
    if (guards.length !== 1)
      throw new Error(`admin route ${methods.join(',')} ${layer.path} must declare exactly one permission with allow(...) (has ${guards.length})`);
    for (const method of methods) routes.push({ method, path: String(layer.path), permission: guards[0]!.permission });
  }
  return routes;
}

export function adminState(ctx: Context): AdminState {
  return ctx.state;
}
