import Router from '@koa/router';
import type { Metrics } from '../shared/metrics';
import type { ReadinessService } from '../ops/readiness.service';

/**
 * `GET /metrics` (Prometheus text format) and `GET /readyz` (200 with every check, 503 naming the
 * failed ones). `/healthz` (liveness: the process answers) stays in the app itself.
 */
export function opsRouter(deps: { metrics: Metrics; readiness: ReadinessService }): Router {
  const router = new Router();
  router.get('/metrics', async (ctx) => {
    ctx.type = deps.metrics.contentType;
    ctx.body = await deps.metrics.scrape();
  });
  router.get('/readyz', async (ctx) => {
    const report = await deps.readiness.check();
    ctx.status = report.ready ? 200 : 503;
    ctx.body = { status: report.ready ? 'ready' : 'not ready', failed: report.failed, checks: report.checks };
  });
  return router;
}
