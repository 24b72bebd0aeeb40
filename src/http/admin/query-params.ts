import type { Context } from 'koa';
import { BadRequestError } from '../../shared/errors';

/**
 * A list route's query string as single values. An unknown parameter is refused, so a misspelt
 * filter or paging parameter never answers the whole list; a repeated one too, since which value
 * counts would be a guess.
 */
export function queryParams(ctx: Context, allowed: readonly string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(ctx.query)) {
    if (!allowed.includes(k)) throw new BadRequestError(`unknown parameter ${k.slice(0, 40)}; this list takes ${allowed.join(', ')}`);
    if (typeof v !== 'string') throw new BadRequestError(`${k} may be given once`);
    out[k] = v;
  }
  return out;
}
