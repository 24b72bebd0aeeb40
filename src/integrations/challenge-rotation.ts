import { BadRequestError } from '../shared/errors';

/** How long the old challenge password keeps working after a rotation, unless told otherwise. */
export const DEFAULT_ROTATION_GRACE = '24h';
const MAX_GRACE_SECONDS = 30 * 86_400;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

export interface RotationOptions {
  /** `24h`, `90m`, `7d`, `0` (the old password stops now); default DEFAULT_ROTATION_GRACE */
  grace?: unknown;
  /** expire every challenge minted and not yet used (the credentials or challenges leaked) */
  expireUnusedChallenges?: unknown;
}

/** Grace period in seconds from `30s`, `90m`, `24h`, `7d` or `0`; at most 30 days. */
export function parseGrace(value: unknown): number {
  const text = value === undefined || value === null || value === '' ? DEFAULT_ROTATION_GRACE : value;
  const m = typeof text === 'string' ? /^([0-9]{1,7})([smhd]?)$/.exec(text.trim()) : undefined;
  if (!m) throw new BadRequestError('grace must be a duration such as 24h, 90m, 7d or 0');
  const seconds = Number(m[1]) * (m[2] ? UNIT_SECONDS[m[2]]! : 1);
  if (seconds !== 0 && !m[2]) throw new BadRequestError('grace needs a unit (s, m, h or d), e.g. 24h; 0 ends the old password now');
  if (seconds > MAX_GRACE_SECONDS) throw new BadRequestError('grace must be at most 30d');
  return seconds;
}

export function parseExpireUnused(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw new BadRequestError('expireUnusedChallenges must be true or false');
  return value;
}
