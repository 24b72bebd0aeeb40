import Router from '@koa/router';
import type { Context } from 'koa';
import type { OcspAnswer, OcspResponder } from '../ca/ocsp-responder';
import type { RevocationView } from '../ca/revocation-view';
import { CRL_PATH, OCSP_PATH } from '../ca/publication-paths';
import type { Logger } from '../shared/logger';
import { NotFoundError } from '../shared/errors';
import { readBody } from './read-body';

export interface RevocationRouterDeps {
  view: RevocationView;
  ocsp: OcspResponder;
  logger: Logger;
  /** the CA generation issuing now: `/crl` serves its CRL */
  currentGeneration?: () => number;
  /** OCSP request body limit; a request for 20 certificates is about 1.5 KB */
  maxOcspBodyBytes?: number;
}

const OCSP_RESPONSE_TYPE = 'application/ocsp-response';

/** CRL over HTTP (DER, cacheable until nextUpdate) and the OCSP responder (RFC 6960 appendix A). */
export function revocationRouter(deps: RevocationRouterDeps): Router {
  const router = new Router();
  const limit = deps.maxOcspBodyBytes ?? 16 * 1024;

  router.get([CRL_PATH, '/crl', '/crl/ca-:generation.crl'], async (ctx) => {
    const param = ctx.params.generation;
    if (param !== undefined && !/^[1-9][0-9]{0,5}$/.test(param)) throw new NotFoundError('no CRL for this CA');
    const generation = param !== undefined ? Number(param) : ctx.path === '/crl' ? (deps.currentGeneration?.() ?? 1) : 1;
    const crl = await deps.view.crl(generation);
    const now = Date.now();
    ctx.status = 200;
    ctx.type = 'application/pkix-crl';
    ctx.set('ETag', crl.etag);
    ctx.set('Last-Modified', crl.thisUpdate.toUTCString());
    ctx.set('Expires', crl.nextUpdate.toUTCString());
    ctx.set('Cache-Control', `public, max-age=${Math.max(0, Math.floor((crl.nextUpdate.getTime() - now) / 1000))}, no-transform`);
    if (notModified(ctx, crl.etag, crl.thisUpdate)) {
      ctx.status = 304;
      return;
    }
    ctx.body = crl.der;
  });

  router.post([OCSP_PATH, `${OCSP_PATH}/`], async (ctx) => {
    let der: Buffer;
    try {
      der = await readBody(ctx, limit);
    } catch {
      // too large or unreadable: the request body may be left unread, so do not reuse the connection
      ctx.set('Connection', 'close');
      return answer(ctx, deps, await deps.ocsp.respond(Buffer.alloc(0)));
    }
    answer(ctx, deps, await deps.ocsp.respond(der));
  });

  // GET {url}/{url-encoding of base-64 encoding of the DER OCSPRequest}; '/' may arrive unescaped
  router.get([`${OCSP_PATH}/{*request}`, OCSP_PATH], async (ctx) => {
    answer(ctx, deps, await deps.ocsp.respond(requestFromPath(ctx.path.slice(OCSP_PATH.length + 1))));
  });

  return router;
}

function answer(ctx: Context, deps: RevocationRouterDeps, a: OcspAnswer): void {
  if (a.status !== 'successful') deps.logger.debug({ ocsp: a.status, method: ctx.method }, 'ocsp refused');
  ctx.state.ocspStatus = a.status; // counted by the metrics middleware
  ctx.status = 200;
  ctx.type = OCSP_RESPONSE_TYPE;
  ctx.body = a.body;
}

/**
 * Conditional GET as the origin answers it (RFC 9110 13.1): ctx.fresh would refuse whenever the client
 * sends Cache-Control: no-cache, which fetch() adds to every conditional request.
 */
function notModified(ctx: Context, etag: string, lastModified: Date): boolean {
  const inm = ctx.get('If-None-Match');
  if (inm) return inm.split(',').some((t) => ['*', etag].includes(t.trim().replace(/^W\//, '')));
  const ims = Date.parse(ctx.get('If-Modified-Since'));
  return Number.isFinite(ims) && Math.floor(lastModified.getTime() / 1000) * 1000 <= ims;
}

/** Empty on anything undecodable, which the responder answers with malformedRequest. */
function requestFromPath(encoded: string): Buffer {
  if (encoded.length === 0 || encoded.length > 8 * 1024) return Buffer.alloc(0);
  let b64: string;
  try {
    b64 = decodeURIComponent(encoded);
  } catch {
    return Buffer.alloc(0);
  }
  // standard base64, or the URL-safe alphabet some clients use; a '+' turned into ' ' by a form decoder
  b64 = b64.replace(/ /g, '+');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(b64)) return Buffer.alloc(0);
  return Buffer.from(b64, 'base64');
}
