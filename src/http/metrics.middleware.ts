import type { Context, Next } from 'koa';
import type { Metrics } from '../shared/metrics';
import { FailInfo, MessageType, messageTypeName, PkiStatus } from '../scep/scep.types';

/** What the SCEP router leaves in ctx.state for this middleware (and nothing else) to count. */
export interface ScepOutcomeState {
  messageType: number;
  pkiStatus: PkiStatus;
  failInfo?: FailInfo;
}

type Area = 'scep' | 'challenge' | 'trust' | 'ocsp' | 'crl' | 'admin' | 'ops' | 'other';

const SCEP_OPERATIONS = new Set(['GetCACaps', 'GetCACert', 'GetNextCACert', 'PKIOperation']);
const ENROLLMENT_TYPES = new Set(['PKCSReq', 'RenewalReq']);

function areaOf(path: string): Area {
  if (path.startsWith('/v1/device-trust')) return 'trust';
  if (path.startsWith('/ocsp')) return 'ocsp';
  if (path.startsWith('/crl')) return 'crl';
  if (path.startsWith('/certsrv/mscep_admin')) return 'challenge';
  if (path === '/scep' || path.startsWith('/scep/') || path.startsWith('/certsrv/mscep/')) return 'scep';
  if (path.startsWith('/admin/')) return 'admin';
  if (path === '/metrics' || path === '/readyz' || path === '/healthz') return 'ops';
  return 'other';
}

/**
 * Counts every request at one place, outside the error mapping so it sees the final status: HTTP
 * totals and latency per area, then per-area detail read from the answer (trust decision and
 * reason from the JSON body, the SCEP outcome and the OCSP status left in ctx.state by their routers).
 */
export function metricsMiddleware(metrics: Metrics) {
  return async (ctx: Context, next: Next) => {
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const area = areaOf(ctx.path);
      const code = String(ctx.status);
      metrics.httpRequests.inc({ area, code });
      metrics.httpDuration.observe({ area }, seconds);
      if (ctx.status === 429 && (area === 'challenge' || area === 'admin' || area === 'scep')) metrics.limiterRefusals.inc({ area });
      countArea(metrics, ctx, area, seconds);
    }
  };
}

function countArea(metrics: Metrics, ctx: Context, area: Area, seconds: number): void {
  switch (area) {
    case 'scep':
      return countScep(metrics, ctx, seconds);
    case 'trust': {
      const body = ctx.body as { decision?: unknown; reason?: unknown } | undefined;
      if (body && typeof body.decision === 'string' && typeof body.reason === 'string')
        metrics.trustDecisions.inc({ decision: body.decision, reason: body.reason });
      else metrics.trustDecisions.inc({ decision: 'error', reason: `http_${ctx.status}` });
      return;
    }
    case 'ocsp':
      metrics.ocspRequests.inc({ method: ctx.method, status: typeof ctx.state.ocspStatus === 'string' ? ctx.state.ocspStatus : `http_${ctx.status}` });
      return;
    case 'crl':
      if (ctx.method === 'GET') metrics.crlRequests.inc({ code: String(ctx.status) });
      return;
    case 'challenge':
      metrics.challengeFetches.inc({ result: challengeResult(ctx.status) });
      return;
    default:
      return;
  }
}

function countScep(metrics: Metrics, ctx: Context, seconds: number): void {
  const op = typeof ctx.query.operation === 'string' && SCEP_OPERATIONS.has(ctx.query.operation) ? ctx.query.operation : 'other';
  const outcome = ctx.state.scepOutcome as ScepOutcomeState | undefined;
  if (op !== 'PKIOperation') {
    metrics.scepDuration.observe({ operation: op }, seconds);
    return;
  }
  if (!outcome) {
    // refused before decryption (HTTP 400) or failed (5xx): no messageType we can trust
    metrics.scepDuration.observe({ operation: 'PKIOperation' }, seconds);
    metrics.scepOperations.inc({ message_type: 'unknown', status: ctx.status < 500 ? 'bad_request' : 'error', fail_info: '' });
    return;
  }
  // a messageType we do not know is any number a client chose: one label for all keeps the series bounded
  const messageType = MessageType[outcome.messageType] === undefined ? 'other' : messageTypeName(outcome.messageType);
  const status = PkiStatus[outcome.pkiStatus] ?? String(outcome.pkiStatus);
  const failInfo = outcome.failInfo === undefined ? '' : (FailInfo[outcome.failInfo] ?? String(outcome.failInfo));
  metrics.scepDuration.observe({ operation: messageType }, seconds);
  metrics.scepOperations.inc({ message_type: messageType, status, fail_info: failInfo });
  if (ENROLLMENT_TYPES.has(messageType))
    metrics.enrollments.inc({ outcome: outcome.pkiStatus === PkiStatus.SUCCESS ? 'issued' : 'refused', fail_info: failInfo });
}

function challengeResult(status: number): string {
  if (status === 200) return 'served';
  if (status === 401) return 'unauthorized';
  if (status === 404) return 'not_found';
  if (status === 429) return 'limited';
  if (status === 503) return 'cache_full';
  return status >= 500 ? 'error' : 'refused';
}
