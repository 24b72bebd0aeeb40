import Koa, { Middleware } from 'koa';
import Router from '@koa/router';
import type { Logger } from '../shared/logger';
import { errorMapping } from './error-mapping';
import { adminNotFound } from './admin/admin-not-found';

/**
 * The public Koa app: `outer` middleware (metrics: it must see the final status), error mapping,
 * then every router the composition root hands in.
 */
export function createHttpApp(logger: Logger, routers: Router[], outer: Middleware[] = []): Koa {
  const app = new Koa({ proxy: false });
  app.silent = true; // errors are logged by errorMapping, not by Koa's default handler
  for (const m of outer) app.use(m);
  app.use(errorMapping(logger));
  app.use(async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Cache-Control', 'no-store');
    await next();
  });
  app.use(adminNotFound()); // JSON 404/405 under /admin/v1
  const health = new Router();
  health.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  for (const r of [health, ...routers]) app.use(r.routes()).use(r.allowedMethods());
  return app;
}
