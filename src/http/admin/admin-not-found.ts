import type { Context, Next } from 'koa';

export const ADMIN_PREFIX = '/admin/v1';

/**
 * JSON answers for what no admin route handled: an unknown path under `/admin/v1` is a JSON 404,
 * and a known path with another method a JSON 405 (with Allow), like every other admin error.
 */
export function adminNotFound() {
  return async (ctx: Context, next: Next) => {
    await next();
    if (!(ctx.path === ADMIN_PREFIX || ctx.path.startsWith(`${ADMIN_PREFIX}/`)) || (ctx.body !== null && ctx.body !== undefined)) return;
    const status = ctx.status;
    if (status === 404) ctx.body = { error: 'not_found', message: `no admin API route ${ctx.method} ${ctx.path.slice(0, 200)}` };
    else if (status === 405)
      ctx.body = { error: 'method_not_allowed', message: `${ctx.path.slice(0, 200)} answers ${ctx.get('Allow') || ctx.response.get('Allow')}` };
    else if (status === 501) ctx.body = { error: 'not_implemented', message: `method ${ctx.method.slice(0, 20)} is not supported` };
    else return;
    ctx.status = status; // Koa turns an implicit 404 into 200 when a body is set
  };
}
