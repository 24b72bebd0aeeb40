import type { Clock } from '../shared/clock';
import { BadRequestError } from '../shared/errors';
import type { TrustRepository } from '../db/trust.repository';
import type { AuthLogStore, DeviceCertificate } from './trust.ports';
import type { AuthLogEntry } from './trust.types';

/** The most entries one read of the authentication log answers, and how many when no limit is given. */
export const AUTH_LOG_PAGE = { max: 10_000, fallback: 100 } as const;

export interface DeviceView {
  device: string;
  integrations: string[];
  certificates: (Omit<DeviceCertificate, 'notBefore' | 'notAfter' | 'revokedAt' | 'lastSeenAt'> & {
    state: 'valid' | 'superseded' | 'revoked' | 'expired';
    notBefore: string;
    notAfter: string;
    revokedAt: string | null;
    lastSeenAt: string | null;
  })[];
  lastLogin: AuthLogEntry | null;
}

/** Reading the authentication log and what it says about one device. */
export class AuthLogService {
  constructor(
    private readonly log: AuthLogStore,
    private readonly certificates: TrustRepository,
    private readonly clock: Clock,
  ) {}

  /** `limit` as parsed by pageLimit (src/shared/paging.ts) where it arrives as text. */
  list(q: { user?: unknown; device?: unknown; since?: unknown; limit?: number }): Promise<AuthLogEntry[]> {
    const limit = q.limit ?? AUTH_LOG_PAGE.fallback;
    if (!Number.isInteger(limit) || limit < 1 || limit > AUTH_LOG_PAGE.max) throw new BadRequestError(`limit must be from 1 to ${AUTH_LOG_PAGE.max}`);
    const user = q.user === undefined || q.user === '' ? undefined : String(q.user);
    const since = q.since === undefined || q.since === '' ? undefined : parseSince(String(q.since), this.clock.now());
    const device = q.device === undefined || q.device === '' ? undefined : String(q.device).slice(0, 256);
    return this.log.list({ user, device, since, limit });
  }

  async device(deviceId: string): Promise<DeviceView | undefined> {
    const id = deviceId.trim();
    if (!id || id.length > 256) throw new BadRequestError('device id must be 1 to 256 characters');
    const [certs, last] = await Promise.all([this.certificates.listForDevice(id), this.log.lastForDevice(id)]);
    if (!certs.length && !last) return undefined;
    const now = this.clock.now().getTime();
    return {
      device: id,
      integrations: [...new Set(certs.map((c) => c.integrationId).filter((i): i is string => !!i))],
      certificates: certs.map((c) => ({
        ...c,
        state: c.status !== 'revoked' && c.notAfter.getTime() <= now ? 'expired' : c.status,
        notBefore: c.notBefore.toISOString(),
        notAfter: c.notAfter.toISOString(),
        revokedAt: c.revokedAt?.toISOString() ?? null,
        lastSeenAt: c.lastSeenAt?.toISOString() ?? null,
      })),
      lastLogin: last ?? null,
    };
  }
}

/** An ISO 8601 time, or a duration back from now: `90s`, `15m`, `2h`, `7d`. */
export function parseSince(input: string, now: Date): Date {
  const m = /^(\d{1,6})([smhd])$/.exec(input.trim());
  if (m) return new Date(now.getTime() - Number(m[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[m[2] as 's' | 'm' | 'h' | 'd']);
  const t = Date.parse(input);
  if (Number.isNaN(t)) throw new BadRequestError(`since must be an ISO 8601 time or a duration like 15m, 2h, 7d (got "${input.slice(0, 40)}")`);
  return new Date(t);
}
