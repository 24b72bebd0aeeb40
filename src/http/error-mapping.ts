import type { Context, Next } from 'koa';
import {
  AppError,
  asStorageUnavailable,
  BadRequestError,
  MethodNotAllowedError,
  StorageUnavailableError,
  TooManyRequestsError,
  UnauthorizedError,
} from '../shared/errors';
import { PkiInputError } from '../pki/pki.errors';
import type { Logger } from '../shared/logger';
import { consoleErrorPage } from './console/error.page';

/**
 * The one place where errors become HTTP answers. An AppError that may be exposed answers its own
 * status and short message; anything else is logged with its stack here and answered with a
 * generic 500, so internals never reach a client. JSON for API paths, an HTML page for the web
 * console, plain text elsewhere.
 * The PKI layer's own input errors (undecodable ASN.1, unsupported algorithms) are the client's
 * fault: 400 with their message.
 */
export function errorMapping(logger: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (thrown) {
      const err = thrown instanceof PkiInputError ? new BadRequestError(thrown.message, thrown) : thrown;
      // a database that cannot be written or reached is a 503 the client retries, never a 500
      const app = err instanceof AppError ? err : asStorageUnavailable(err);
      const status = app?.status && app.status >= 400 ? app.status : 500;
      const message = app?.expose && status < 500 ? app.message : status === 503 && app ? app.message : 'internal error';
      if (status >= 500) logger.error({ err, path: ctx.path, method: ctx.method }, 'request failed');
      else logger.debug({ path: ctx.path, status, code: app?.code, reason: app?.message }, 'request refused');
      if (err instanceof UnauthorizedError && err.challenge) ctx.set('WWW-Authenticate', err.challenge);
      if (app instanceof TooManyRequestsError || app instanceof StorageUnavailableError) ctx.set('Retry-After', String(app.retryAfterSeconds));
      if (app instanceof MethodNotAllowedError) ctx.set('Allow', app.allow.join(', '));
      ctx.status = status;
      if (wantsJson(ctx)) ctx.body = { error: app?.code ?? 'internal', message };
      else if (ctx.path === '/console' || ctx.path.startsWith('/console/')) {
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = consoleErrorPage(status, message);
      } else {
        ctx.type = 'text/plain';
        ctx.body = `${message}\n`;
      }
    }
  };
}

function wantsJson(ctx: Context): boolean {
  return ctx.path.startsWith('/admin/') || ctx.path.startsWith('/v1/') || /json/.test(ctx.get('Accept'));
}
