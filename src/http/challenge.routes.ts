import Router from '@koa/router';
import type { Context } from 'koa';
import { AuthFailureLimiter } from '../admin/auth-failure-limiter';
import { ChallengeCacheFullError, ChallengeService } from '../challenge/challenge.service';
import { cacheFullPage, challengePage, NDES_CONTENT_TYPE } from '../challenge/ndes-page';
import { DeviceIdRule } from '../challenge/device-id-rule';
import { IntegrationService } from '../integrations/integration.service';
import { BadRequestError, NotFoundError, TooManyRequestsError, UnauthorizedError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { ClientAddressOf } from './client-address';

export interface ChallengeRouterDeps {
  integrations: IntegrationService;
  challenges: ChallengeService;
  /** checks the optional `deviceUid` query parameter */
  deviceIds: DeviceIdRule;
  /** the challenge URL's own failure limiter (not the admin API's) */
  limiter: AuthFailureLimiter;
  clientAddress: ClientAddressOf;
  /** SHA-1 of the CA certificate, uppercase hex, for the page's thumbprint line */
  /** the SHA-1 thumbprint of the CA devices enroll with now */
  caThumbprint: () => string;
  logger: Logger;
}

const BASIC = 'Basic realm="Scepter NDES challenge", charset="UTF-8"';

/**
 * NDES's `mscep_admin` challenge URL: HTTP Basic auth with an integration's challenge credentials
 * answers a fresh one-time challenge. The NDES path finds the integration by the username; the
 * `/<id>/` form also checks the credentials belong to that integration.
 * Default answer: NDES's UTF-16LE HTML page; `Accept: application/json`: `{challenge, expiresAt}`.
 * A full cache is NDES's page with HTTP 200 (clients read the text), or 503 in JSON.
 * `?deviceUid=<id>` binds the challenge to that device: it then issues for no other device id.
 */
export function challengeRouter(deps: ChallengeRouterDeps): Router {
  const router = new Router();
  for (const p of ['/certsrv/mscep_admin', '/certsrv/mscep_admin/', '/certsrv/mscep_admin/mscep.dll']) router.get(p, (ctx) => serve(ctx, deps, undefined));
  for (const p of ['/certsrv/mscep_admin/:id', '/certsrv/mscep_admin/:id/']) router.get(p, (ctx) => serve(ctx, deps, String(ctx.params.id)));
  return router;
}

async function serve(ctx: Context, deps: ChallengeRouterDeps, pathId: string | undefined): Promise<void> {
  const address = deps.clientAddress(ctx);
  const wait = deps.limiter.retryAfter(address);
  if (wait > 0) throw new TooManyRequestsError('too many failed authentication attempts; try again later', wait);
  if (pathId !== undefined && !(await deps.integrations.findEnrollmentTarget(pathId))) throw new NotFoundError('no such integration');

  const creds = parseBasic(ctx.get('Authorization'));
  // a request without credentials is the usual first step of Basic auth, not a failed attempt
  if (!creds) throw new UnauthorizedError('authentication required', BASIC);
  // failures count per client address and per username tried (bounded, it is client text)
  const credential = creds.username.slice(0, 128);
  const credentialWait = deps.limiter.retryAfter(address, credential);
  if (credentialWait > 0) throw new TooManyRequestsError('too many failed authentication attempts; try again later', credentialWait);
  const integration = await deps.integrations.authenticateChallengeClient(creds.username, creds.password);
  if (!integration || (pathId !== undefined && integration.id !== pathId)) {
    deps.limiter.failed(address, credential);
    deps.logger.warn({ address, path: ctx.path }, 'challenge URL: bad credentials');
    throw new UnauthorizedError('invalid credentials', BASIC);
  }
  deps.limiter.succeeded(address);
  if (integration.deletedAt) throw new NotFoundError('no such integration');
  const deviceUid = deviceUidParam(ctx, deps.deviceIds);
  if (ctx.method === 'HEAD') {
    // a probe: no challenge is minted (it would take a cache slot nobody can read)
    ctx.type = NDES_CONTENT_TYPE;
    ctx.status = 200;
    return;
  }

  const json = /application\/json/i.test(ctx.get('Accept'));
  const ttl = deps.challenges.ttlMinutes;
  try {
    const minted = await deps.challenges.mint(integration.id, deviceUid);
    deps.logger.info({ integration: integration.id, expiresAt: minted.expiresAt.toISOString(), deviceUid }, 'challenge issued');
    if (json) ctx.body = { challenge: minted.challenge, expiresAt: minted.expiresAt.toISOString(), ...(deviceUid === undefined ? {} : { deviceUid }) };
    else {
      ctx.type = NDES_CONTENT_TYPE;
      ctx.body = challengePage(minted.challenge, deps.caThumbprint(), ttl);
    }
  } catch (err) {
    if (!(err instanceof ChallengeCacheFullError)) throw err;
    deps.logger.warn({ integration: integration.id }, 'challenge cache full');
    if (json) throw err;
    ctx.type = NDES_CONTENT_TYPE;
    ctx.body = cacheFullPage(ttl);
  }
}

/** The optional `deviceUid` query parameter, checked against SCEPTER_DEVICE_ID_PATTERN (400 if it does not fit). */
function deviceUidParam(ctx: Context, rule: DeviceIdRule): string | undefined {
  const v = ctx.query.deviceUid;
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new BadRequestError('deviceUid must be given once');
  return rule.check(v, 'deviceUid');
}

function parseBasic(header: string): { username: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}
