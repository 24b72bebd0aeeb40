import fs from 'node:fs';
import path from 'node:path';
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { randomBytes } from 'node:crypto';
import { AdminUserService, userActor } from '../../admin/admin-users.service';
import type { AuthFailureLimiter } from '../../admin/auth-failure-limiter';
import { ConsoleSessions } from '../../admin/console-sessions.service';
import { ForbiddenError, TooManyRequestsError, UnauthorizedError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import { secretsEqual } from '../../shared/bytes';
import type { ClientAddressOf } from '../client-address';
import { readBody } from '../read-body';
import { consoleState, ConsoleState, NOTICE_COOKIE, readCookie, setCookie } from './console-state';
import { html } from './html';
import { field, page } from './layout';
import type { ConsolePageDeps } from './console-deps';
import { registerDashboardPages } from './pages/dashboard.page';
import { registerIntegrationPages } from './pages/integrations.page';
import { registerIntegrationActions } from './pages/integration-actions.page';
import { registerListPages } from './pages/lists.page';
import { registerMigrationPages } from './pages/migration.page';
import { registerPolicyAndLogPages } from './pages/policy-logs.page';
import { registerAccessPages } from './pages/access.page';

export const CONSOLE_PREFIX = '/console';
const SESSION_COOKIE = 'scepter-session';
const SIGN_IN_COOKIE = 'scepter-sign-in';
const MAX_FORM_BYTES = 64 * 1024;

/**
 * Content-Security-Policy of every console answer: scripts and styles from our own files only (no
 * inline script or style, nothing from elsewhere), no framing, forms post only to us.
 */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

// the repository's assets/console (four levels above dist/src/http/console)
const ASSETS_DIR = path.join(__dirname, '..', '..', '..', '..', 'assets', 'console');
const ASSETS: Record<string, string> = { 'console.js': 'text/javascript; charset=utf-8', 'console.css': 'text/css; charset=utf-8' };

export interface ConsoleRouterDeps extends ConsolePageDeps {
  adminUsers: AdminUserService;
  sessions: ConsoleSessions;
  /** the console's own failure limiter (not the admin API's or the challenge URL's) */
  limiter: AuthFailureLimiter;
  clientAddress: ClientAddressOf;
  logger: Logger;
}

/**
 * Headers of every answer under /console, also of its errors and of paths no route matches: the
 * CSP, no framing, no referrer; and whether its cookies are Secure. Runs outside the error mapping.
 */
export function consoleHeaders(secureCookies: boolean) {
  return async (ctx: Context, next: Next) => {
    if (ctx.path === CONSOLE_PREFIX || ctx.path.startsWith(`${CONSOLE_PREFIX}/`)) {
      ctx.set('Content-Security-Policy', CONSOLE_CSP);
      ctx.set('X-Frame-Options', 'DENY');
      ctx.set('Referrer-Policy', 'no-referrer');
      ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
      ctx.state.secureCookies = secureCookies;
    }
    await next();
  };
}

/**
 * The web console under /console: server-rendered pages over the same services as the admin API.
 * Sessions are cookies; every POST needs the session's CSRF token; every page and action checks the
 * role's permission on the server (hidden buttons are a courtesy, not the control).
 */
export function consoleRouter(d: ConsoleRouterDeps): Router {
  const assets = new Map(Object.keys(ASSETS).map((name) => [name, fs.readFileSync(path.join(ASSETS_DIR, name))]));
  const r = new Router({ prefix: CONSOLE_PREFIX });
  r.get('/assets/:name', (ctx) => {
    const body = assets.get(ctx.params.name!);
    if (!body) return;
    ctx.type = ASSETS[ctx.params.name!]!;
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = body;
  });

  r.get('/sign-in', (ctx) => signInPage(ctx));
  r.post('/sign-in', async (ctx) => {
    const form = await readForm(ctx);
    const cookie = readCookie(ctx, SIGN_IN_COOKIE);
    if (!cookie || !secretsEqual(cookie, form.get('_csrf') ?? '')) throw new ForbiddenError('the sign-in form expired; reload the page and try again');
    const address = d.clientAddress(ctx);
    const email = (form.get('email') ?? '').trim().toLowerCase().slice(0, 254);
    const wait = d.limiter.retryAfter(address, email || undefined);
    if (wait > 0) throw new TooManyRequestsError('too many failed sign-ins; try again later', wait);
    const result = await d.adminUsers.verifySignIn(email, form.get('password') ?? '', form.get('code') ?? undefined);
    if (typeof result === 'string') {
      d.limiter.failed(address, email || undefined);
      d.logger.info({ from: address, reason: result }, 'console sign-in refused');
      ctx.status = 401;
      return signInPage(ctx, 'Not signed in: check the email, password and authenticator code.');
    }
    d.limiter.succeeded(address);
    const token = await d.sessions.start(result.id, address);
    await d.audit.record(userActor(result, address), 'admin-user.sign-in', result.id);
    setCookie(ctx, SESSION_COOKIE, token);
    setCookie(ctx, SIGN_IN_COOKIE, '', { maxAgeSeconds: 0 });
    ctx.redirect(CONSOLE_PREFIX);
  });

  // everything below needs a session
  r.use(async (ctx: Context, next: Next) => {
    const session = await d.sessions.resolve(readCookie(ctx, SESSION_COOKIE));
    if (!session) {
      if (ctx.method === 'GET' || ctx.method === 'HEAD') return ctx.redirect(`${CONSOLE_PREFIX}/sign-in`);
      throw new UnauthorizedError('signed out; sign in again');
    }
    const csrf = ConsoleSessions.csrfToken(session.token);
    const form = ctx.method === 'POST' ? await readForm(ctx) : new URLSearchParams();
    // every change carries the session's CSRF token (form field, or header for console.js)
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD' && !ConsoleSessions.csrfMatches(session.token, form.get('_csrf') ?? ctx.get('X-CSRF-Token')))
      throw new ForbiddenError('missing or wrong CSRF token; reload the page and try again');
    const u = session.user;
    // an owner or administrator without an authenticator (new, promoted or reset) enrols one first
    const enrolling = AdminUserService.mustEnrolTotp(u);
    if (enrolling && ctx.path !== `${CONSOLE_PREFIX}/enrol` && ctx.path !== `${CONSOLE_PREFIX}/sign-out`) {
      if (ctx.method === 'GET' || ctx.method === 'HEAD') return ctx.redirect(`${CONSOLE_PREFIX}/enrol`);
      throw new ForbiddenError('enrol an authenticator first');
    }
    const flash = readCookie(ctx, NOTICE_COOKIE);
    if (flash) setCookie(ctx, NOTICE_COOKIE, '', { maxAgeSeconds: 0 });
    const state: ConsoleState = {
      session,
      role: u.role,
      actor: userActor(u, d.clientAddress(ctx)),
      csrf,
      form,
      pc: {
        user: { name: u.name, email: u.email, role: u.role },
        csrf,
        enrolling,
        legacyRemains: (await d.integrations.list()).some((i) => i.type === 'ios-certs'),
        notice: flash ? decodeNotice(flash) : undefined,
      },
    };
    Object.assign(ctx.state, state);
    await next();
  });

  r.post('/sign-out', async (ctx) => {
    const s = consoleState(ctx);
    await d.sessions.end(s.session.token);
    await d.audit.record(s.actor, 'admin-user.sign-out', s.session.user.id);
    setCookie(ctx, SESSION_COOKIE, '', { maxAgeSeconds: 0 });
    ctx.redirect(`${CONSOLE_PREFIX}/sign-in`);
  });

  registerDashboardPages(r, d);
  registerIntegrationPages(r, d);
  registerIntegrationActions(r, d);
  registerListPages(r, d);
  registerMigrationPages(r, d);
  registerPolicyAndLogPages(r, d);
  registerAccessPages(r, d);
  return r;
}

function signInPage(ctx: Context, error?: string): void {
  const token = randomBytes(24).toString('base64url');
  setCookie(ctx, SIGN_IN_COOKIE, token, { maxAgeSeconds: 3600 });
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = page(
    {},
    'Sign in',
    html`${error ? html`<div class="error" role="alert">${error}</div>` : ''}
      <form method="post" action="/console/sign-in" class="card narrow">
        <input type="hidden" name="_csrf" value="${token}" />
        ${field('Email', 'email', { type: 'email', required: true, autocomplete: 'username' })}
        ${field('Password', 'password', { type: 'password', required: true, autocomplete: 'current-password' })}
        ${field('Authenticator code', 'code', { autocomplete: 'one-time-code', inputmode: 'numeric', hint: 'Required for owners and administrators' })}
        <button type="submit">Sign in</button>
      </form>`,
  ).text;
}

async function readForm(ctx: Context): Promise<URLSearchParams> {
  const raw = await readBody(ctx, MAX_FORM_BYTES);
  return new URLSearchParams(raw.toString('utf8'));
}

function decodeNotice(v: string): string | undefined {
  try {
    return Buffer.from(v, 'base64url').toString('utf8').slice(0, 300);
  } catch {
    return undefined;
  }
}
