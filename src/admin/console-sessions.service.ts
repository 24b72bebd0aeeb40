import { createHmac, randomBytes } from 'node:crypto';
import { secretsEqual, sha256Hex } from '../shared/bytes';
import { Clock } from '../shared/clock';
import type { AdminUserRepository } from '../db/admin-user.repository';
import type { StoredAdminUser } from './admin-user.types';

/** signed out after this long without a request */
export const SESSION_IDLE_MS = 30 * 60_000;
/** and after this long whatever happens */
export const SESSION_MAX_MS = 12 * 3_600_000;
/** last-seen times are written at most this often per session */
const TOUCH_MS = 60_000;

export interface ActiveSession {
  user: StoredAdminUser;
  /** the cookie value (kept in memory for the request only: it derives the CSRF token) */
  token: string;
  tokenHash: string;
}

/**
 * Console sessions: a random 256-bit token in the cookie, only its SHA-256 in the database. The
 * CSRF token is an HMAC of the session token: a page can carry it, it cannot be turned back into
 * the session, and it changes with every sign-in.
 */
export class ConsoleSessions {
  constructor(
    private readonly store: AdminUserRepository,
    private readonly clock: Clock,
  ) {}

  async start(userId: string, source: string): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    await this.store.deleteExpiredSessions(now);
    await this.store.insertSession({
      tokenHash: sha256Hex(token),
      userId,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + SESSION_MAX_MS),
      source: source.slice(0, 128),
    });
    return token;
  }

  /** The signed-in person behind a cookie, or undefined (unknown, expired, idle, or the account disabled). */
  async resolve(token: string | undefined): Promise<ActiveSession | undefined> {
    if (!token || !/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
    const tokenHash = sha256Hex(token);
    const s = await this.store.findSession(tokenHash);
    const now = this.clock.now().getTime();
    if (!s) return undefined;
    if (s.expiresAt.getTime() <= now || now - s.lastSeenAt.getTime() > SESSION_IDLE_MS) {
      await this.store.deleteSession(tokenHash);
      return undefined;
    }
    const user = await this.store.findUser(s.userId);
    if (!user || user.disabledAt) return undefined;
    if (now - s.lastSeenAt.getTime() > TOUCH_MS) await this.store.touchSession(tokenHash, new Date(now));
    return { user, token, tokenHash };
  }

  async end(token: string | undefined): Promise<void> {
    if (token) await this.store.deleteSession(sha256Hex(token));
  }

  static csrfToken(sessionToken: string): string {
    return createHmac('sha256', sessionToken).update('scepter-console-csrf').digest('base64url');
  }

  static csrfMatches(sessionToken: string, presented: unknown): boolean {
    return typeof presented === 'string' && presented.length > 0 && secretsEqual(ConsoleSessions.csrfToken(sessionToken), presented);
  }
}
