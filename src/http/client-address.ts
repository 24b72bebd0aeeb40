import type { Context } from 'koa';
import type { TrustedProxies } from '../trust/trusted-proxies';

/** The requesting client's address as the auth limiters and the audit log see it. */
export type ClientAddressOf = (ctx: Context) => string;

/**
 * The peer's address, or behind a trusted proxy (SCEPTER_TRUSTED_PROXIES) the nearest
 * X-Forwarded-For hop that is not one of our proxies. Without trusted proxies the header is ignored.
 */
export function clientAddressOf(proxies: TrustedProxies): ClientAddressOf {
  return (ctx) => proxies.clientAddress(ctx.req.socket.remoteAddress, ctx.get('X-Forwarded-For') || undefined);
}
