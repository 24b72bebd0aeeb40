import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { BadRequestError, PayloadTooLargeError } from '../shared/errors';

/** Reads the request body with a hard size limit (raw-body stops reading past it). */
export async function readBody(ctx: Context, limit: number): Promise<Buffer> {
  try {
    return await getRawBody(ctx.req, { limit, length: ctx.get('Content-Length') || undefined });
  } catch (err) {
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large') throw new PayloadTooLargeError(`request body too large (limit ${limit} bytes)`);
    throw new BadRequestError('cannot read request body');
  }
}

/**
 * A JSON object body (anything else is a 400), read with the same hard size limit. `fields`: the
 * names the request takes; any other is a 400, so a misspelt field never quietly means "absent"
 * (`{"applicaton": "vpn"}` would otherwise set the global policy).
 */
export async function readJsonObject(
  ctx: Context,
  limit: number,
  opts: { optional?: boolean; fields?: readonly string[] } = {},
): Promise<Record<string, unknown>> {
  const raw = await readBody(ctx, limit);
  if (raw.length === 0 && opts.optional) return {};
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new BadRequestError('the body must be a JSON object');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new BadRequestError('the body must be a JSON object');
  const unknown = opts.fields && Object.keys(value).find((k) => !opts.fields!.includes(k));
  if (unknown !== undefined)
    throw new BadRequestError(`unknown field ${JSON.stringify(unknown.slice(0, 40))}; this request takes ${opts.fields!.join(', ') || 'no fields'}`);
  return value as Record<string, unknown>;
}
