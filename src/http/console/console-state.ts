import type { Context } from 'koa';
import type { Actor } from '../../admin/audit.types';
import type { ActiveSession } from '../../admin/console-sessions.service';
import { can, Permission, requirePermission, Role } from '../../admin/roles';
import { BadRequestError } from '../../shared/errors';
import type { PageContext } from './layout';

/** What the console's session middleware puts on ctx.state for every signed-in request. */
export interface ConsoleState {
  session: ActiveSession;
  role: Role;
  actor: Actor;
  csrf: string;
  /** the parsed form of a POST */
  form: URLSearchParams;
  pc: PageContext;
}

export function consoleState(ctx: Context): ConsoleState {
  return ctx.state;
}

/** The server's refusal for a role, whatever the page showed (buttons are hidden, not trusted). */
export function need(ctx: Context, permission: Permission): ConsoleState {
  const s = consoleState(ctx);
  requirePermission(s.role, permission);
  return s;
}

export function may(ctx: Context, permission: Permission): boolean {
  return can(consoleState(ctx).role, permission);
}

/** A form field: one value, trimmed, at most `max` characters. */
export function formText(ctx: Context, name: string, opts: { required?: boolean; max?: number } = {}): string | undefined {
  const v = consoleState(ctx).form.getAll(name);
  if (v.length > 1) throw new BadRequestError(`${name} may be given once`);
  const s = v[0]?.trim();
  if (!s) {
    if (opts.required) throw new BadRequestError(`${name} is required`);
    return undefined;
  }
  if (s.length > (opts.max ?? 1000)) throw new BadRequestError(`${name} is longer than ${opts.max ?? 1000} characters`);
  return s;
}

/** A password field: as typed (spaces are part of it), required, at most 256 characters. */
export function formSecret(ctx: Context, name: string): string {
  const v = consoleState(ctx).form.getAll(name);
  if (v.length !== 1 || !v[0]) throw new BadRequestError(`${name} is required`);
  if (v[0].length > 256) throw new BadRequestError(`${name} is longer than 256 characters`);
  return v[0];
}

/** A query parameter: one value or undefined. */
export function queryText(ctx: Context, name: string): string | undefined {
  const v = ctx.query[name];
  if (Array.isArray(v)) throw new BadRequestError(`${name} may be given once`);
  return v === undefined || v === '' ? undefined : v;
}

/** After a change: back to a page, with a notice for the next page view (a short-lived cookie, not the URL, so a link cannot forge one). */
export function redirectWithNotice(ctx: Context, to: string, notice: string): void {
  setCookie(ctx, NOTICE_COOKIE, Buffer.from(notice.slice(0, 300), 'utf8').toString('base64url'), { maxAgeSeconds: 60 });
  ctx.redirect(to);
}

export const NOTICE_COOKIE = 'scepter-notice';

/** Cookies of the console: HttpOnly, SameSite=Strict, path /console; Secure when the console is served over HTTPS. */
export function setCookie(ctx: Context, name: string, value: string, opts: { maxAgeSeconds?: number; secure?: boolean } = {}): void {
  const secure = opts.secure ?? (ctx.state as { secureCookies?: boolean }).secureCookies ?? false;
  const parts = [`${name}=${value}`, 'Path=/console', 'HttpOnly', 'SameSite=Strict'];
  if (secure) parts.push('Secure');
  if (opts.maxAgeSeconds !== undefined) parts.push(`Max-Age=${opts.maxAgeSeconds}`);
  ctx.append('Set-Cookie', parts.join('; '));
}

export function readCookie(ctx: Context, name: string): string | undefined {
  for (const c of (ctx.get('Cookie') || '').split(';')) {
    const i = c.indexOf('=');
    if (i > 0 && c.slice(0, i).trim() === name) return c.slice(i + 1).trim();
  }
  return undefined;
}
