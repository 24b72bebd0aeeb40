import Router from '@koa/router';
import type { Context } from 'koa';
import { ScepService, ScepOutcome } from '../scep/scep.service';
import { ScepEndpoint } from '../scep/scep.ports';
import { CONTENT_TYPES, messageTypeName, PkiStatus } from '../scep/scep.types';
import { BadRequestError, MethodNotAllowedError, NotFoundError, TooManyRequestsError } from '../shared/errors';
import type { AuthFailureLimiter } from '../admin/auth-failure-limiter';
import type { ClientAddressOf } from './client-address';
import { FailInfo } from '../scep/scep-failure';
import type { Logger } from '../shared/logger';
import { readBody } from './read-body';

export interface ScepRouterDeps {
  scep: ScepService;
  logger: Logger;
  maxBodyBytes: number;
  /** counts challengePasswords that match no challenge, per client address (its own, not the challenge URL's) */
  limiter: AuthFailureLimiter;
  clientAddress: ClientAddressOf;
  /** the endpoint for `/scep` and the NDES alias, when enabled */
  defaultEndpoint?: ScepEndpoint;
  /** resolves `/scep/:id` (per-integration endpoints); undefined when unknown or deleted */
  endpointById?: (id: string) => Promise<ScepEndpoint | undefined>;
}

const DEFAULT_PATHS = ['/scep', '/certsrv/mscep/mscep.dll', '/certsrv/mscep/mscep.dll/pkiclient.exe'];
const POST_TYPES = new Set([
  'application/x-pki-message',
  'application/octet-stream',
  'application/pkcs7-mime',
  'text/plain',
  'application/x-www-form-urlencoded',
]);

/** The SCEP HTTP binding (RFC 8894 section 4): `?operation=` over GET and POST. */
export function scepRouter(deps: ScepRouterDeps): Router {
  const router = new Router();
  const handle = (resolve: (ctx: Context) => Promise<ScepEndpoint>) => async (ctx: Context) => {
    const endpoint = await resolve(ctx);
    await serve(ctx, endpoint, deps);
  };
  const byDefault = async () => {
    if (!deps.defaultEndpoint) throw new NotFoundError('the default SCEP endpoint is disabled (set SCEPTER_STATIC_CHALLENGE)');
    return deps.defaultEndpoint;
  };
  const byId = async (ctx: Context) => {
    const id = String(ctx.params.id ?? '');
    const ep = /^[A-Za-z0-9_-]{1,64}$/.test(id) && deps.endpointById ? await deps.endpointById(id) : undefined;
    if (!ep) throw new NotFoundError('no such SCEP endpoint');
    return ep;
  };
  for (const p of DEFAULT_PATHS) router.all(p, handle(byDefault));
  for (const p of ['/scep/:id', '/scep/:id/pkiclient.exe', '/certsrv/mscep/:id/mscep.dll', '/certsrv/mscep/:id/mscep.dll/pkiclient.exe'])
    router.all(p, handle(byId));
  return router;
}

async function serve(ctx: Context, endpoint: ScepEndpoint, deps: ScepRouterDeps): Promise<void> {
  if (ctx.method !== 'GET' && ctx.method !== 'POST') throw new MethodNotAllowedError('SCEP takes GET or POST', ['GET', 'POST']);
  const operation = ctx.query.operation;
  switch (operation) {
    case 'GetCACaps':
      ctx.type = 'text/plain';
      ctx.body = deps.scep.capabilities();
      return;
    case 'GetCACert': {
      const { contentType, body } = deps.scep.caCert();
      ctx.type = contentType;
      ctx.body = body;
      return;
    }
    case 'GetNextCACert': {
      const next = deps.scep.nextCaCert();
      if (!next) throw new NotFoundError('no next CA certificate is scheduled');
      const { contentType, body } = await next;
      ctx.type = contentType;
      ctx.body = body;
      return;
    }
    case 'PKIOperation': {
      // a client that kept sending challenges that match nothing waits, before anything is decrypted
      // for it again: a shared static challenge cannot be guessed at the server's RSA speed
      const address = deps.clientAddress(ctx);
      const wait = deps.limiter.retryAfter(address);
      if (wait > 0) throw new TooManyRequestsError('too many wrong challengePasswords; try again later', wait);
      const der = ctx.method === 'POST' ? await postMessage(ctx, deps.maxBodyBytes) : getMessage(ctx);
      const started = process.hrtime.bigint();
      let outcome: ScepOutcome | undefined;
      try {
        outcome = await deps.scep.pkiOperation(endpoint, der);
        ctx.state.scepOutcome = outcome; // counted by the metrics middleware
        if (outcome.challengeGuess) {
          deps.limiter.failed(address);
          deps.logger.warn({ address, endpoint: endpoint.id }, 'scep: challengePassword matches no challenge');
        }
      } finally {
        logOperation(deps.logger, endpoint, outcome, started);
      }
      ctx.type = CONTENT_TYPES.pkiMessage;
      ctx.body = outcome.body;
      return;
    }
    default:
      throw new BadRequestError(typeof operation === 'string' ? `unknown operation ${operation.slice(0, 40)}` : 'missing operation');
  }
}

function logOperation(logger: Logger, endpoint: ScepEndpoint, outcome: ScepOutcome | undefined, started: bigint): void {
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (outcome?.cause)
    logger.error({ err: outcome.cause, endpoint: endpoint.id, transactionId: outcome.transactionId }, 'scep: storage unavailable, answered FAILURE');
  logger.info(
    {
      operation: 'PKIOperation',
      endpoint: endpoint.id,
      messageType: outcome ? messageTypeName(outcome.messageType) : undefined,
      transactionId: outcome?.transactionId,
      pkiStatus: outcome ? PkiStatus[outcome.pkiStatus] : 'error',
      failInfo: outcome?.failInfo === undefined ? undefined : FailInfo[outcome.failInfo],
      failText: outcome?.failText,
      serial: outcome?.serial,
      ms: Math.round(ms * 100) / 100,
    },
    'scep',
  );
}

async function postMessage(ctx: Context, limit: number): Promise<Buffer> {
  const type = (ctx.get('Content-Type').split(';')[0] ?? '').trim().toLowerCase();
  if (type && !POST_TYPES.has(type)) throw new BadRequestError(`unsupported content type ${type.slice(0, 60)}`);
  const body = await readBody(ctx, limit);
  if (body.length === 0) throw new BadRequestError('empty PKIOperation body');
  // DER always starts with a SEQUENCE tag; anything else is taken as base64 text
  return body[0] === 0x30 ? body : decodeBase64(body.toString('latin1'));
}

/**
 * `message=` from the raw query string: iOS sends base64 with `+` and `/` unescaped, which a
 * form decoder would turn into spaces, and some clients send URL-safe base64.
 */
function getMessage(ctx: Context): Buffer {
  const raw = ctx.querystring.split('&').find((p) => p.startsWith('message='));
  if (!raw) throw new BadRequestError('missing message parameter');
  let value: string;
  try {
    value = decodeURIComponent(raw.slice('message='.length));
  } catch {
    throw new BadRequestError('message parameter is not valid percent-encoding');
  }
  return decodeBase64(value.replace(/ /g, '+'));
}

function decodeBase64(text: string): Buffer {
  const clean = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(clean)) throw new BadRequestError('message is neither DER nor base64');
  const der = Buffer.from(clean, 'base64');
  if (der.length === 0 || der[0] !== 0x30) throw new BadRequestError('message is not a DER pkiMessage');
  return der;
}
